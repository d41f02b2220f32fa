"""The one place TensorFlow/Keras is imported, so the cost is paid only when a model is needed."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_keras = None
_tensorflow = None


def tensorflow():
    """Import and return tensorflow, once, without its start-up chatter on the terminal."""
    global _tensorflow
    with _lock:
        if _tensorflow is None:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            os.environ.setdefault("KERAS_BACKEND", "tensorflow")
            with muted_stderr():
                import tensorflow as _imported
            _tensorflow = _imported
            # Python-side notices (e.g. "retracing") are for developers, not for our users.
            _imported.get_logger().setLevel("ERROR")
            # TensorFlow leaves millions of long-lived objects; without this, each full garbage
            # collection walks them all and pauses every thread (the GUI's too) for ~200 ms.
            gc.freeze()
    return _tensorflow


def keras():
    """Import and return keras (after TensorFlow, its backend), once."""
    global _keras
    tensorflow()
    with _lock:
        if _keras is None:
            with muted_stderr():
                import keras as _imported
            _keras = _imported
            gc.freeze()
    return _keras


@contextlib.contextmanager
def muted_stderr() -> Iterator[None]:
    """Silence file descriptor 2 for a moment.

    TensorFlow's C++ logging (oneDNN notices, "Created TensorFlow Lite XNNPACK delegate") writes
    there before any setting can silence it; users should see our progress, not those lines.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
