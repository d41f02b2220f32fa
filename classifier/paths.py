"""Where Sortscope keeps caches and data; environment variables override (tests, servers)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Feature caches and converted backbone weights (safe to delete)."""
    override = os.environ.get("SORTSCOPE_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_cache_path("sortscope", appauthor=False)


def data_dir() -> Path:
    """User data that is not a cache, such as the generated example dataset."""
    override = os.environ.get("SORTSCOPE_DATA_DIR")
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_data_path("sortscope", appauthor=False)


def keras_cache_dir() -> Path:
    """Keras' own download cache, where application weights live once downloaded."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"
