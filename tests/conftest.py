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


# Qt's default settings location is redirected before any QSettings exists, so even code that
# forgets to take a settings object cannot write the user's real settings during tests.
_CONFIG_HOME = Path(__file__).parent.parent / ".pytest_cache" / "xdg-config"
_CONFIG_HOME.mkdir(parents=True, exist_ok=True)  # astropy warns about a missing one
os.environ["XDG_CONFIG_HOME"] = str(_CONFIG_HOME)


@pytest.fixture(scope="session", autouse=True)
def garbage_collector(qapp):
    """As in the app (ui/app.py): garbage is collected on the main thread only, never in a
    worker thread where freeing a Qt object deadlocks or crashes Qt."""
    import gc

    from ui.app import collect_on_gui_thread

    collector = collect_on_gui_thread()
    yield collector
    collector.timer.stop()
    gc.enable()


@pytest.fixture(autouse=True)
def collect_between_tests(garbage_collector):
    yield
    garbage_collector.check()  # the timer fires only while a test runs Qt's event loop


@pytest.fixture(autouse=True)
def no_worker_threads_left():
    """A test fails if it leaves one of Sortscope's worker threads running."""
    import threading

    yield
    workers = [t for t in threading.enumerate() if t.name.startswith("sortscope-")]
    for t in workers:
        t.join(timeout=10)
    alive = [t.name for t in workers if t.is_alive()]
    assert not alive, f"worker threads left running: {alive}"


@pytest.fixture
def keras_fallback(monkeypatch):
    """Feature extraction runs the real network, reported as the Keras fallback of a fast
    engine that could not be used; the fixture's value is the reason given."""
    from classifier import features

    real = features.load_engine
    reason = "RuntimeError: converter unavailable"

    class FellBack:
        name = "keras"
        fallback_reason = reason

        def __init__(self, inner) -> None:
            self.predict = inner.predict

    monkeypatch.setattr(features, "load_engine", lambda b, on_status=None: FellBack(real(b)))
    return reason


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    """The main window with test settings; closed (and its tasks stopped) after the test."""
    yield from _open_window(qtbot, settings)


@pytest.fixture
def tiny_window(qtbot, settings, monkeypatch):
    """The main window with the tiny test backbone offered first in the Train area."""
    import ui.train_form
    from classifier import backbones

    tiny = backbones.get_backbone("tiny_test")
    monkeypatch.setattr(
        ui.train_form, "listed_backbones", lambda: [tiny, *backbones.listed_backbones()]
    )
    yield from _open_window(qtbot, settings)


def _open_window(qtbot, settings):
    from ui.main_window import MainWindow

    win = MainWindow(settings)
    # A run a test left unsaved is dropped without the question (pytest-qt closes the window
    # before this fixture's own teardown runs).
    qtbot.addWidget(win, before_close_func=lambda w: setattr(w, "ask_about_unsaved", False))
    win.show()
    yield win
    win.ask_about_unsaved = False
    win.close()
    assert win.runner.shutdown(timeout=10)
