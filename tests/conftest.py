"""Test-wide isolation: no screen, no user caches or settings, quiet TensorFlow."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    """Every test gets its own cache and data folders; the user's are never touched."""
    base = tmp_path_factory.mktemp("sortscope-home")
    monkeypatch.setenv("SORTSCOPE_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("SORTSCOPE_DATA_DIR", str(base / "data"))
    yield base


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory) -> Path:
    """A cache kept across tests that need the real backbone, so its weights convert once."""
    return tmp_path_factory.mktemp("shared-cache")
