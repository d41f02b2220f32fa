"""Start the Sortscope window."""

from __future__ import annotations

import sys

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from classifier.tf_runtime import keras
from ui.errors import ErrorReporter, install_exception_hooks
from ui.main_window import MainWindow


def run_gui(argv: list[str] | None = None, settings: QSettings | None = None) -> int:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("Sortscope")
    app.setOrganizationName("Sortscope")
    window = MainWindow(settings)
    reporter = ErrorReporter(window)
    install_exception_hooks(reporter)
    window.show()
    window.restore_session()
    # Importing TensorFlow holds Python's GIL for a few hundred milliseconds; doing it while the
    # user is still looking around keeps that pause out of their first training run.
    QTimer.singleShot(1500, lambda: window.runner.start("warm-up", lambda ctx: keras()))
    return app.exec()


def main() -> int:
    """Entry point of the `sortscope-app` launcher."""
    return run_gui()
