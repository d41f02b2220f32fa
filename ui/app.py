"""Start the Sortscope window."""

from __future__ import annotations

import sys
from pathlib import Path

from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from ui import style
from ui.errors import ErrorReporter, install_exception_hooks
from ui.main_window import MainWindow
from ui.warm_up import before_window, warm_up_job


def dataset_argument(arguments: list[str]) -> Path | None:
    """The dataset folder named on the command line (a folder dropped on the launcher)."""
    for argument in arguments:
        if Path(argument).is_dir():
            return Path(argument)
    return None


def collect_on_gui_thread() -> GarbageCollector:
    """Python collects garbage in whichever thread happens to allocate; a collection in a worker
    thread that frees a Qt object deadlocks or crashes Qt (seen in a training run). Automatic
    collection goes off and pyqtgraph's collector runs it on the GUI thread every second."""
    return GarbageCollector(interval=1.0)


def run_gui(argv: list[str] | None = None, settings: QSettings | None = None) -> int:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("Sortscope")
    app.setOrganizationName("Sortscope")
    app.setDesktopFileName("sortscope")  # Wayland docks match the launcher's desktop entry
    style.apply(app)
    collector = collect_on_gui_thread()  # noqa: F841 (its timer lives as long as the app)
    before_window()
    window = MainWindow(settings)
    reporter = ErrorReporter(window)
    install_exception_hooks(reporter)
    window.show()
    # A folder dropped on the launcher opens instead of the last dataset.
    window.restore_session(dataset_argument((argv if argv is not None else app.arguments())[1:]))
    # TensorFlow imported while the user is still looking around, its native libraries loaded
    # without the GIL: no pause in the window, none in their first training run.
    QTimer.singleShot(1500, lambda: window.runner.start("warm-up", warm_up_job))
    return app.exec()


def main() -> int:
    """Entry point of the `sortscope-app` launcher (`sortscope-app [FOLDER]`)."""
    return run_gui()
