"""Start the Sortscope window."""

from __future__ import annotations

import sys

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

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
    return app.exec()
