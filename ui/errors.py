"""One error path for users: what happened, what to do, and the details folded under a button.

`install_exception_hooks` routes unexpected exceptions from the GUI thread and from any worker
thread to the same dialog, instead of letting them vanish or end the app; `report_error` sends
failures nobody else handles (a background job without a failure handler) there too.
"""

from __future__ import annotations

import platform
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal, qVersion
from PySide6.QtWidgets import QWidget

from classifier import __version__
from classifier.errors import SortscopeError


@dataclass(frozen=True)
class ErrorInfo:
    """A failure as users see it: what happened, what to do, and technical details folded away.

    `details` is for a bug report: the cause in one line for errors Sortscope expected (a bad
    file, a missing folder), the traceback only for `unexpected` ones (a bug).
    """

    what: str
    todo: str = ""
    details: str = ""
    unexpected: bool = False

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorInfo:
        if isinstance(exc, SortscopeError):
            cause = exc.__cause__ or exc.__context__
            return cls(exc.what, exc.todo, f"{type(cause).__name__}: {cause}" if cause else "")
        if isinstance(exc, MemoryError):
            return cls(
                "Sortscope ran out of memory.",
                "Close other programs, or use a smaller batch size.",
            )
        return cls(
            f"Something went wrong inside Sortscope ({type(exc).__name__}: {exc}).",
            "Your files are unchanged. Please report this: Copy details puts everything a bug "
            "report needs on the clipboard.",
            "".join(traceback.format_exception(exc)),
            unexpected=True,
        )

    def report(self) -> str:
        """The text Copy details puts on the clipboard: words first, then the technical part."""
        lines = [f"What happened: {self.what}"]
        if self.todo:
            lines.append(f"What to do: {self.todo}")
        lines += [
            "",
            "Technical details",
            f"Sortscope {__version__}, Python {platform.python_version()}, "
            f"Qt {qVersion()}, {platform.platform()}",
        ]
        if self.details:
            lines += ["", self.details.rstrip()]
        return "\n".join(lines)


def show_error(parent: QWidget | None, info: ErrorInfo, title: str = "Sortscope") -> None:
    """The error dialog, modal to the window without blocking the caller in an event loop."""
    from ui.error_dialog import ErrorDialog

    box = ErrorDialog(parent, info, title)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()


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


_reporter: ErrorReporter | None = None  # the one handler, once install_exception_hooks ran


def report_error(info: ErrorInfo) -> None:
    """Show `info` through the installed reporter; before one is installed, print it."""
    if _reporter is not None:
        _reporter.report(info)
    else:
        print(f"{info.what} {info.todo}\n{info.details}", file=sys.stderr)


def install_exception_hooks(reporter: ErrorReporter) -> Callable[[], None]:
    """Make `reporter` the one error handler; returns a function that puts the old ones back."""
    global _reporter
    previous = sys.excepthook, threading.excepthook, _reporter

    def restore() -> None:
        global _reporter
        sys.excepthook, threading.excepthook, _reporter = previous

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
    _reporter = reporter
    return restore
