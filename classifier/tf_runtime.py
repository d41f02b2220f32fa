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
            with muted_stderr(), _collector_paused():
                import tensorflow as _imported
            _tensorflow = _imported
            # Python-side notices (e.g. "retracing") are for developers, not for our users.
            _imported.get_logger().setLevel("ERROR")
    return _tensorflow


def keras():
    """Import and return keras (after TensorFlow, its backend), once."""
    global _keras
    tensorflow()
    with _lock:
        if _keras is None:
            with muted_stderr(), _collector_paused():
                import keras as _imported
            _keras = _imported
    return _keras


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No automatic garbage collection while TensorFlow's millions of objects are created, and
    none of them looked at again afterwards.

    Each full collection walks every object and holds the GIL, freezing the window: during the
    import several pauses of 100-250 ms were measured, none above 20 ms without them (except
    loading TensorFlow's main library, ~300 ms, which no setting avoids). Freezing the
    imported objects before collection resumes keeps later collections from walking them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


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
