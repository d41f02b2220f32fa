"""A watched folder: new images classified once complete, the results always whole and sorted.

Polling, not file-system events: a poll sees files written by other machines on a network
file system (where inotify sees nothing), needs no extra package, and at one poll a second
costs a folder listing and a stat per new file. A file is complete when its size and change
time are the same at two polls in a row; one that still fails to read is tried again at each
poll until it has been unchanged for SETTLE_SECONDS (a writer may pause half-way), and only
then gets its error row. A file that changes after it was classified is classified again, and
the row of a file that is removed goes too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from classifier.errors import SortscopeError
from classifier.predict import list_image_files
from classifier.types import Prediction

POLL_SECONDS = 1.0
SETTLE_SECONDS = 10.0  # a file that fails to read counts as broken once unchanged this long
WRITE_SECONDS = 5.0  # the CSV is rewritten at most this often while files keep coming

Stamp = tuple[int, int]  # size, change time in nanoseconds


def _stamp(path: Path) -> Stamp | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def watch_folder(
    folder: Path,
    rows: dict[str, Prediction],
    classify: Callable[[list[Path]], Sequence[Prediction]],
    write: Callable[[list[Prediction]], None],
    *,
    recursive: bool = False,
    idle_exit: float | None = None,
    stop: Callable[[], bool] = lambda: False,
    on_rows: Callable[[Sequence[Prediction]], None] | None = None,
    poll_seconds: float = POLL_SECONDS,
    settle_seconds: float = SETTLE_SECONDS,
) -> None:
    """Keep `rows` ({file: row}, those of the run so far) up to date with `folder` and `write`
    them (sorted) after changes, until `stop()` or `idle_exit` seconds without a new file."""
    folder = Path(folder)
    done: dict[str, Stamp | None] = {name: _stamp(folder / name) for name in rows}
    pending: dict[str, tuple[Stamp, float]] = {}  # seen changing: its stamp and since when
    last_new = time.monotonic()
    written_at = 0.0
    unwritten = False
    while not stop():
        time.sleep(poll_seconds)
        now = time.monotonic()
        present = {p.relative_to(folder).as_posix(): p for p in _listing(folder, recursive)}
        for name in [name for name in rows if name not in present]:
            del rows[name]
            done.pop(name, None)
            unwritten = True
        ready = []
        for name, path in present.items():
            stamp = _stamp(path)
            if stamp is None or done.get(name) == stamp:
                continue
            seen = pending.get(name)
            if seen is None or seen[0] != stamp:
                pending[name] = (stamp, now)
                last_new = now
            else:
                ready.append(path)
        if ready:
            accepted = []
            for row in classify(ready):
                stamp, since = pending[row.file]
                if row.error and now - since < settle_seconds:
                    continue  # perhaps still being written: read again at the next poll
                rows[row.file] = row
                done[row.file] = stamp
                del pending[row.file]
                accepted.append(row)
            if accepted:
                unwritten = True
                if on_rows is not None:
                    on_rows(accepted)
        if unwritten and (not pending or now - written_at >= WRITE_SECONDS):
            write(sorted(rows.values(), key=lambda r: r.file))
            written_at, unwritten = now, False
        if idle_exit is not None and not pending and now - last_new >= idle_exit:
            break
    if unwritten:
        write(sorted(rows.values(), key=lambda r: r.file))


def _listing(folder: Path, recursive: bool) -> list[Path]:
    try:
        return list_image_files(folder, recursive)
    except SortscopeError:  # the folder is gone for a moment (an unmounted disk): look again later
        return []
