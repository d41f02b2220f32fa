"""Import TensorFlow in the background without freezing the window.

Importing TensorFlow loads its big native libraries (libtensorflow_cc is ~750 MB): mapping,
relocating and running their static initialisers takes a few hundred milliseconds, and Python's
import does it holding the GIL, so the GUI thread waits that long. Loading the same files first
with the C library's `dlopen` through ctypes — a foreign call, made without the GIL — does that
work while the window keeps running; the import then finds them loaded and only runs the Python
side (whose garbage-collection pauses `tf_runtime` already avoids).

One pause is left that no thread can hide: `ml_dtypes` (TensorFlow imports it) registers its
dtypes with NumPy in one C call of 0.5-0.8 s that holds the GIL. `before_window()` imports it
before the window is shown, so it costs start-up that much once instead of freezing a window the
user may already be using (bench/README.md, "The TensorFlow warm-up pause").
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
from pathlib import Path

# The native libraries `import tensorflow` loads, biggest first, relative to the package.
LIBRARIES = (
    "libtensorflow_framework.so.2",
    "libtensorflow_cc.so.2",
    "python/lib_pywrap_tensorflow_common.so",
    "python/_pywrap_tensorflow_internal.so",
)


def preload_tensorflow_libraries() -> list[str]:
    """Load TensorFlow's native libraries without holding the GIL; the ones loaded. Missing
    files or a failed load are skipped: the import then loads them as usual."""
    spec = importlib.util.find_spec("tensorflow")
    if spec is None or spec.origin is None or os.name != "posix":
        return []
    root = Path(spec.origin).parent
    libc = ctypes.CDLL(None)  # a foreign call through CDLL releases the GIL
    libc.dlopen.restype = ctypes.c_void_p
    libc.dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    loaded = []
    for name in LIBRARIES:
        path = root / name
        # The flags Python's import uses, so the import gets this very handle back.
        if path.exists() and libc.dlopen(os.fsencode(path), os.RTLD_NOW | os.RTLD_LOCAL):
            loaded.append(name)
    return loaded


def before_window() -> None:
    """Import `ml_dtypes` now, before there is a window to freeze (skipped if missing)."""
    if importlib.util.find_spec("ml_dtypes") is not None:
        import ml_dtypes  # noqa: F401


def warm_up_job(_ctx=None) -> None:
    """The start-up task: TensorFlow and Keras imported before the first training run."""
    from classifier.tf_runtime import keras

    preload_tensorflow_libraries()
    keras()
