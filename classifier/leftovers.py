"""Temporaries a killed process leaves behind, and sweeping them away on a later run.

A kill during a save leaves `.NAME.<pid>-<hex>.tmp` beside the model and a
`sortscope-save-<pid>-*` folder in the temporary folder. Both carry the writer's process id: a
later run removes those whose process no longer exists, and any older than a day (names from
before the process id was recorded, and systems where a process cannot be looked up).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from classifier.atomic import temporary_owner

# sortscope-<kind>-<pid>-... in the temporary folder: model saves and loads, backbone
# conversions (a .keras copy), weight downloads (up to 90 MB).
TEMP_FOLDER_KINDS = ("save", "load", "convert", "download")
STALE_AFTER_S = 24 * 3600  # no save or load takes this long
_LEGACY_TEMP = r"\.{}\.[0-9a-f]{{12}}\.tmp.*"  # atomic_write's names before the process id


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (True when it cannot be told)."""
    if os.name == "nt":
        return True  # os.kill(pid, 0) would end the process on Windows: rely on age there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # e.g. another user's process: it exists
    return True


def _stale(path: Path, pid: int | None) -> bool:
    if pid is not None and pid != os.getpid() and not process_alive(pid):
        return True
    try:
        return time.time() - path.lstat().st_mtime > STALE_AFTER_S
    except OSError:
        return False


def temporary_folder(kind: str) -> tempfile.TemporaryDirectory:
    """A temporary folder whose name records this process, for `sweep_temporary_folders`."""
    return tempfile.TemporaryDirectory(prefix=f"sortscope-{kind}-{os.getpid()}-")


def sweep_beside(path: str | Path) -> int:
    """Remove atomic_write's temporaries for `path` left by processes that ended; how many."""
    path = Path(path)
    legacy = re.compile(_LEGACY_TEMP.format(re.escape(path.name)))
    removed = 0
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return 0
    for entry in entries:
        pid = temporary_owner(entry.name, path.name)
        if pid is None and not legacy.fullmatch(entry.name):
            continue
        if entry.is_file(follow_symlinks=False) and _stale(Path(entry.path), pid):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed


def sweep_temporary_folders(folder: str | Path | None = None) -> int:
    """Remove sortscope-<kind>- folders of processes that ended; how many."""
    folder = Path(folder or tempfile.gettempdir())
    pattern = re.compile(rf"sortscope-({'|'.join(TEMP_FOLDER_KINDS)})-(?:(\d+)-)?.+")
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if not match or not entry.is_dir(follow_symlinks=False):
            continue
        pid = int(match.group(2)) if match.group(2) else None
        if _stale(Path(entry.path), pid):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += not os.path.lexists(entry.path)
    return removed
