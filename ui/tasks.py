"""Run core functions off the GUI thread and turn their callbacks into queued Qt signals.

A job is a plain function `job(ctx)` taking a TaskContext: it reports with `ctx.progress` (the
core's Progress callback), sends partial results with `ctx.partial`, and passes `ctx.cancel` to
the core. Progress and partial results are throttled to about ten signals a second. One task
runs per kind of work ("scan", "train", ...): starting another of the same kind cancels the first
and silences it, so results for a folder the user already left never arrive. A job started
without a `failed` handler reports its failure to the app's one error handler (`report_error`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from classifier.errors import Cancelled
from classifier.progress import CancelToken, Progress
from ui.errors import ErrorInfo, report_error

THROTTLE_SECONDS = 0.1


class Task(QObject):
    """One background job; its signals arrive on the GUI thread."""

    progressed = Signal(object)  # Progress
    partial = Signal(object)  # list of items passed to ctx.partial since the last signal
    finished = Signal(object)  # the job's return value
    failed = Signal(object)  # ErrorInfo
    cancelled = Signal()

    def __init__(self, kind: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.cancel_token = CancelToken()
        self.stale = False  # set when superseded: nothing more is emitted
        self.ended = False  # set by the worker just before its last signal
        self.thread: threading.Thread | None = None

    def cancel(self) -> None:
        self.cancel_token.cancel()

    @property
    def running(self) -> bool:
        """The job is still working. False already in the handler of its last signal, although
        the thread may live a moment longer: views re-enable their buttons there."""
        return self.alive and not self.ended

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


class TaskContext:
    """What a job sees: throttled progress and partial results, and the cancel token."""

    def __init__(self, task: Task) -> None:
        self._task = task
        self.cancel = task.cancel_token
        self._last_progress = 0.0
        self._last_stage = ""
        self._last_message = ""
        self._buffer: list[Any] = []
        self._last_flush = 0.0
        self._lock = threading.Lock()

    def progress(self, p: Progress) -> None:
        now = time.monotonic()
        important = (
            p.stage != self._last_stage
            or p.message != self._last_message
            or (p.total and p.done >= p.total)
        )
        if important or now - self._last_progress >= THROTTLE_SECONDS:
            self._last_progress = now
            self._last_stage = p.stage
            self._last_message = p.message
            self._emit(self._task.progressed, p)

    def partial(self, item: Any) -> None:
        with self._lock:
            self._buffer.append(item)
            due = time.monotonic() - self._last_flush >= THROTTLE_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        """Send what is buffered. The worker and the GUI's timer both call this; emitting under
        the lock, to queued connections only, keeps the items in order."""
        with self._lock:
            items, self._buffer = self._buffer, []
            self._last_flush = time.monotonic()
            if items:
                self._emit(self._task.partial, items)

    def _emit(self, signal, *args) -> None:
        if not self._task.stale:
            signal.emit(*args)


class TaskRunner(QObject):
    """Starts jobs in Python threads, one slot per kind; `shutdown` cancels and waits for all."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._current: dict[str, Task] = {}
        self._all: list[Task] = []

    def start(
        self,
        kind: str,
        job: Callable[[TaskContext], Any],
        *,
        progressed: Callable | None = None,
        partial: Callable | None = None,
        finished: Callable | None = None,
        failed: Callable | None = None,
        cancelled: Callable | None = None,
    ) -> Task:
        """Run `job` in a new thread. Handlers are connected before it starts, so even a job
        that ends at once is heard; without `failed`, a failure goes to `report_error`."""
        previous = self._current.get(kind)
        if previous is not None and previous.running:
            previous.stale = True
            previous.cancel()
        task = Task(kind, self)
        handlers = [
            (task.progressed, progressed),
            (task.partial, partial),
            (task.finished, finished),
            (task.failed, failed if failed is not None else report_error),
            (task.cancelled, cancelled),
        ]
        for signal, handler in handlers:
            if handler is not None:
                signal.connect(handler, Qt.ConnectionType.QueuedConnection)
        context = TaskContext(task)
        if partial is not None:
            # Partial results wait in a buffer between signals; this timer delivers them even
            # when the next one is slow to come (a long epoch after a short one).
            timer = QTimer(task)
            timer.setInterval(int(THROTTLE_SECONDS * 1000))
            timer.timeout.connect(context.flush)
            for signal in (task.finished, task.failed, task.cancelled):
                signal.connect(timer.stop)
            timer.start()
        task.thread = threading.Thread(
            target=self._run, args=(task, context, job), name=f"sortscope-{kind}", daemon=True
        )
        self._current[kind] = task
        self._all = [t for t in self._all if t.alive] + [task]
        task.thread.start()
        return task

    @staticmethod
    def _run(task: Task, context: TaskContext, job) -> None:
        try:
            result = job(context)
            context.flush()
            task.ended = True
            if task.cancel_token.cancelled:
                context._emit(task.cancelled)
            else:
                context._emit(task.finished, result)
        except Cancelled:
            context.flush()
            task.ended = True
            context._emit(task.cancelled)
        except BaseException as exc:  # every failure reaches the user, none kills the app
            task.ended = True
            context._emit(task.failed, ErrorInfo.from_exception(exc))

    def current(self, kind: str) -> Task | None:
        return self._current.get(kind)

    def is_running(self, kind: str) -> bool:
        task = self._current.get(kind)
        return task is not None and task.running

    def cancel(self, kind: str) -> None:
        task = self._current.get(kind)
        if task is not None:
            task.cancel()

    def shutdown(self, timeout: float = 30.0) -> bool:
        """Cancel everything and wait; True when every worker thread has ended."""
        for task in self._all:
            task.stale = True
            task.cancel()
        deadline = time.monotonic() + timeout
        for task in self._all:
            if task.thread is not None:
                task.thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.alive for t in self._all)
