"""The one place TensorFlow/Keras is imported, so the cost is paid only when a model is needed."""

from __future__ import annotations

import os


def keras():
    """Import and return keras with TensorFlow's start-up chatter silenced."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras as _keras

    return _keras
