"""Open one view alone (`python -m ui.dataset_view FOLDER` ...) for a quick look or screenshot."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget

from ui import style
from ui.errors import ErrorReporter, install_exception_hooks
from ui.state import AppState
from ui.tasks import TaskRunner


def run_view(
    make: Callable[[AppState, TaskRunner, QSettings], QWidget],
    setup: Callable[[QWidget, AppState, list[str]], None] | None = None,
) -> None:
    """Show the view `make` builds, with throw-away settings; `setup` gets the command line."""
    app = QApplication(sys.argv)
    style.apply(app)  # the icon and style sheet, as in the app
    state, runner = AppState(), TaskRunner()
    ini = Path(tempfile.mkdtemp(prefix="sortscope-view-")) / "settings.ini"
    view = make(state, runner, QSettings(str(ini), QSettings.Format.IniFormat))
    install_exception_hooks(ErrorReporter(view))  # as in the app: no error goes unseen
    view.resize(1280, 800)
    view.show()
    try:
        if setup is not None:
            setup(view, state, sys.argv[1:])
        code = app.exec()
    finally:  # never leave a worker emitting into deleted widgets
        runner.shutdown()
        view.shutdown()
    sys.exit(code)
