"""Run the latest of a stream of computations on one short-lived worker thread.

The results table asks for a new sort order or filter each time the user clicks or types; only
the newest request matters. Each request gets a generation number: a request still waiting when
a newer one comes is never started, and the result of one already running is dropped on
arrival (ginga's serial numbers). The thread ends when nothing waits, so none is left behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal


class LatestOnly(QObject):
    """`submit(job)` runs `job()` off the GUI thread; `done(generation, result)` arrives on the
    GUI thread for the newest job only. An exception raised by the job is re-raised there."""

    done = Signal(int, object)
    _finished = Signal(int, object)  # from the worker; queued to the GUI thread

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.generation = 0  # the newest request; older results are stale
        self._lock = threading.Lock()
        self._waiting: tuple[int, Callable[[], object]] | None = None
        self._thread: threading.Thread | None = None
        self._pending = False  # the newest job's result is still to be delivered
        self._finished.connect(self._deliver)

    @property
    def busy(self) -> bool:
        """The newest job's result has not arrived yet (it is waiting, running or on its way)."""
        return self._pending

    def invalidate(self) -> int:
        """Make every earlier request stale (its result will be dropped); the new generation."""
        with self._lock:
            self.generation += 1
            self._waiting = None
            self._pending = False
            return self.generation

    def submit(self, job: Callable[[], object]) -> int:
        with self._lock:
            self.generation += 1
            self._waiting = (self.generation, job)
            self._pending = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            return self.generation

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._waiting is None:
                    self._thread = None
                    return
                generation, job = self._waiting
                self._waiting = None
            try:
                result = job()
            except Exception as error:  # re-raised on the GUI thread
                result = error
            if generation == self.generation:  # else stale: a newer request is on its way
                self._finished.emit(generation, result)

    def _deliver(self, generation: int, result: object) -> None:
        if generation != self.generation:
            return  # a newer request came while this one travelled
        self._pending = False
        if isinstance(result, Exception):
            raise result
        self.done.emit(generation, result)
