"""A progress printer for terminals and log files, adapting the core's Progress callbacks."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from classifier.progress import Progress


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def progress_line(p: Progress) -> str:
    """One line such as 'Extracting features  120/500 (24%)  31.2/s  ~12s left'."""
    parts = [p.stage]
    if p.total:
        parts.append(f"{p.done}/{p.total} ({100 * p.done / p.total:.0f}%)")
    elif p.done:
        parts.append(str(p.done))
    if p.rate:
        parts.append(f"{p.rate:.1f}/s")
    if p.seconds_left is not None and p.done < p.total:
        parts.append(f"~{_duration(p.seconds_left)} left")
    if p.message:
        parts.append(p.message)
    return "  ".join(parts)


class TextProgress:
    """Redraws one line on a terminal; on a pipe, prints a line at most every few seconds."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.interval = 0.2 if self.tty else 5.0
        self._last_time = 0.0
        self._last_stage = ""
        self._last_message = ""
        self._width = 0
        self._lock = threading.Lock()  # workers report too (loading the engine)

    def __call__(self, p: Progress) -> None:
        if self.quiet:
            return
        with self._lock:
            self._draw(p)

    def _draw(self, p: Progress) -> None:
        now = time.monotonic()
        finished = p.total and p.done >= p.total
        new_stage = p.stage != self._last_stage
        new_message = p.message != self._last_message
        if not (new_stage or finished or new_message or now - self._last_time >= self.interval):
            return
        self._last_time = now
        self._last_message = p.message
        if new_stage and self._last_stage and self.tty:
            self.stream.write("\n")
        self._last_stage = p.stage
        line = progress_line(p)
        if self.tty:
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._last_stage and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
        self._last_stage = ""
