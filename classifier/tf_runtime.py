"""The one place TensorFlow/Keras is imported, so the cost is paid only when a model is needed."""

from __future__ import annotations

import gc
import os
import sys
import threading

_lock = threading.Lock()
_keras = None


def keras():
    """Import and return keras, once, without TensorFlow's start-up chatter on the terminal."""
    global _keras
    with _lock:
        if _keras is None:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            os.environ.setdefault("KERAS_BACKEND", "tensorflow")
            _keras = _import_quietly()
            # TensorFlow leaves millions of long-lived objects; without this, each full garbage
            # collection walks them all and pauses every thread (the GUI's too) for ~200 ms.
            gc.freeze()
    return _keras


def _import_quietly():
    # TensorFlow's C++ logging writes to file descriptor 2 before any setting can silence it;
    # users should see our progress, not oneDNN notices, so stderr is muted for the import only.
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras as _imported
        import tensorflow  # noqa: F401  (initialises the runtime while muted)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return _imported
