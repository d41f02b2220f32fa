"""One error path for users: what happened, what to do, and the details folded under a button.

`install_exception_hooks` routes unexpected exceptions from the GUI thread and from any worker
thread to the same dialog, instead of letting them vanish or end the app.
"""

from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from ui.tasks import ErrorInfo


def show_error(parent: QWidget | None, info: ErrorInfo, title: str = "Sortscope") -> None:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(info.what)
    if info.todo:
        box.setInformativeText(info.todo)
    if info.details:
        box.setDetailedText(info.details)  # folded under "Show Details..."
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setObjectName("sortscope-error")
    box.open()  # modal to the window, without blocking the caller in a nested event loop


class ErrorReporter(QObject):
    """Receives errors from any thread and shows them on the GUI thread."""

    reported = Signal(object)  # ErrorInfo

    def __init__(self, parent_widget: QWidget | None = None) -> None:
        super().__init__()
        self.parent_widget = parent_widget
        self.history: list[ErrorInfo] = []
        self.show_dialogs = True
        self.reported.connect(self._show)

    def report(self, info: ErrorInfo) -> None:
        self.reported.emit(info)  # queued when called from a worker thread

    def _show(self, info: ErrorInfo) -> None:
        self.history.append(info)
        if self.show_dialogs:
            show_error(self.parent_widget, info)


def install_exception_hooks(reporter: ErrorReporter) -> None:
    def gui_hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        reporter.report(ErrorInfo.from_exception(exc.with_traceback(tb)))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            reporter.report(ErrorInfo.from_exception(args.exc_value))

    sys.excepthook = gui_hook
    threading.excepthook = thread_hook
