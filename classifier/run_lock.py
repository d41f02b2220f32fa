"""One run at a time per results file: a lock file beside the CSV (or the batch view's parts).

Two runs writing the same CSV, or the same part files, would each overwrite the other's work.
The lock is a small JSON file created exclusively (O_EXCL) naming the process that holds it:
its id, computer and start time. A lock whose process is gone (killed, crashed, the computer
restarted) is stale and taken over; one held by a live process, or by another computer (whose
processes cannot be checked from here), is refused with a message naming the holder and the
lock file to delete if that run is really gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from classifier.errors import SortscopeError
from classifier.filenames import escape


def lock_path(destination: Path) -> Path:
    """`.OUT.csv.lock` beside OUT.csv (hidden, as the parts folder)."""
    destination = Path(destination)
    return destination.parent / f".{destination.name}.lock"


class RunLocked(SortscopeError):
    """Another live run holds the lock."""


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    except OSError:
        return False
    return True


def _holder(path: Path) -> dict | None:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable or half-written: treated as stale below unless very young
    return holder if isinstance(holder, dict) else {}


def _stale(holder: dict, path: Path) -> bool:
    if not holder:
        try:  # a lock being written this very moment by its creator is not stale
            return time.time() - path.stat().st_mtime > 10
        except OSError:
            return True
    if holder.get("host") != socket.gethostname():
        return False  # its process cannot be checked from here
    pid = holder.get("pid")
    return not isinstance(pid, int) or not _alive(pid)


def _describe(holder: dict) -> str:
    host = holder.get("host")
    where = "this computer" if host == socket.gethostname() else f"computer {host}"
    since = holder.get("started")
    when = f", started {time.strftime('%Y-%m-%d %H:%M', time.localtime(since))}" if since else ""
    what = holder.get("what") or "a Sortscope run"
    return f"{what} (process {holder.get('pid')} on {where}{when})"


def acquire(path: Path, doing: str, what: str, wait: float = 0.0) -> bool:
    """Create the lock file `path` for a run that is `doing` ("writing OUT.csv"), which the
    holder's `what` names ("sortscope classify"), or raise RunLocked;
    `wait`: seconds to wait for this process's own earlier run to let go (a window's
    cancelled run still ending). False when no lock file can be made there at all (a
    read-only folder, a device such as /dev/null): the run goes on unguarded and the write
    itself says what is wrong."""
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.time(),
        "what": what,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    deadline = time.monotonic() + wait
    attempts = 0
    while attempts < 3:
        attempts += 1
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(path)
            if holder is None:
                continue  # released in between: try again
            if _stale(holder, path):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)  # its process is gone: the lock is taken over
                continue
            ours = holder.get("pid") == os.getpid() and holder.get("host") == record["host"]
            if ours and time.monotonic() < deadline:  # this process's run, ending
                attempts = 0
                time.sleep(0.1)
                continue
            if ours:
                raise RunLocked(
                    f"This window is already {doing}.",
                    "Wait for that run to finish, or cancel it first.",
                ) from None
            raise RunLocked(
                f"Another run is {doing}: {_describe(holder)}.",
                "Wait for it to finish, or stop it. If no such run is going on any more, "
                f"delete the lock file {escape(str(path))} and start again.",
            ) from None
        except OSError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f)
        return True
    raise RunLocked(
        f"Could not take the lock {escape(str(path))} for {doing}.",
        "Another run keeps taking it; try again in a moment.",
    )


def release(path: Path) -> None:
    """Remove the lock if it is still this process's."""
    holder = _holder(path)
    if holder and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@contextlib.contextmanager
def holding(path: Path, doing: str, what: str, wait: float = 0.0) -> Iterator[None]:
    """The lock held around a run; released however the run ends."""
    taken = acquire(path, doing, what, wait)
    try:
        yield
    finally:
        if taken:
            release(path)
