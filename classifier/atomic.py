"""Write files so that readers see the old content or the new, never half of either."""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_write(
    path: str | Path, mode: str = "wb", durable: bool = True, **open_kwargs
) -> Iterator[IO]:
    """Open a temporary file beside `path`; on success it replaces `path` in one rename.

    `durable` also flushes the data to disk before the rename, so even a power cut cannot leave
    an empty file; caches skip it (it can cost seconds per file) since they can be rebuilt.
    """
    path = Path(path)
    tmp = _temporary_name(path)
    try:
        with open(tmp, mode.replace("w", "x"), **open_kwargs) as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path for libraries that insist on writing by name; rename on success."""
    path = Path(path)
    tmp = _temporary_name(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _temporary_name(path: Path, suffix: str = "") -> Path:
    # A fresh name in the same folder (so the rename is atomic); created with the user's umask,
    # unlike mkstemp's private 0600, so saved files get the usual permissions. The process id
    # in it lets a later run tell a killed writer's leftover from a write still going on.
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp{suffix}")


def temporary_owner(name: str, target: str) -> int | None:
    """The process id in `name` if it is one of atomic_write's temporaries for `target`."""
    match = re.fullmatch(rf"\.{re.escape(target)}\.(\d+)-[0-9a-f]{{12}}\.tmp.*", name)
    return int(match.group(1)) if match else None
