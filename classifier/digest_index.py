"""A per-cache "digest index": which content digest a file had when it was last hashed, so a
warm run finds its features without reading the file (as git's index does for `git status`).

An entry maps a path to what one `os.stat` said about it — size, mtime_ns, ctime_ns, inode,
device — and the digest of the bytes read after that stat. A later run trusts the digest only
if a fresh stat gives exactly the same five values; any difference (a rewrite, a `touch`, a
copy over it, even content changed with its size and mtime put back by `os.utime`, which moves
ctime) means the file is read and hashed as before. An entry is not recorded while it is
"racy": when its mtime or ctime is not clearly older than the moment of recording, a rewrite
within the file system's timestamp granularity could leave the stat unchanged, so that file is
hashed again next time and recorded then.

The index is an SQLite database (standard library) beside the feature cache's shards: nothing
is loaded up front, so a million entries cost no start-up time (bench/README.md has the
measurement), and each write is one transaction, so a killed run leaves the old index or the
new one. It is only a cache: a missing, damaged, locked or unwritable index makes the run
behave as if there were none (a damaged one is replaced), with at most one warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import stat
import time
from collections.abc import Sequence
from pathlib import Path

FILE_NAME = "digests.sqlite3"
# An entry whose mtime or ctime is within this of the moment it is recorded is not trusted:
# covers coarse timestamps (FAT: 2 s) and a little clock skew on network shares.
RACY_NS = 3_000_000_000
# Past this many bytes the index drops its older half (by when entries were recorded): about
# 3.4 million entries (76 bytes each, measured), so it stays bounded whatever it has seen.
MAX_BYTES = 256 * 1024 * 1024
BUSY_SECONDS = 2.0  # how long to wait for another Sortscope process holding the index

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    key INTEGER PRIMARY KEY,  -- the first 8 bytes of blake2b(path)
    size INTEGER NOT NULL, mtime INTEGER NOT NULL, ctime INTEGER NOT NULL,
    inode INTEGER NOT NULL, device INTEGER NOT NULL,
    digest BLOB NOT NULL, recorded INTEGER NOT NULL
)
"""

Signature = tuple[int, int, int, int, int]  # size, mtime_ns, ctime_ns, inode, device


def signature(info: os.stat_result) -> Signature | None:
    """What an entry must match; None for what is never indexed (not a regular file, or a file
    system without inode numbers, where a path's identity cannot be told)."""
    if not stat.S_ISREG(info.st_mode) or not info.st_ino:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


def _key(path: str | Path) -> int:
    raw = hashlib.blake2b(os.fsencode(path), digest_size=8).digest()
    return int.from_bytes(raw, "little", signed=True)


def _clamp(value: int) -> int:
    """SQLite integers are signed 64-bit; inode and device numbers are unsigned."""
    return value if value < 1 << 63 else value - (1 << 64)


class DigestIndex:
    """Looks up and records content digests by path and stat; safe to use from one thread
    (the feature pool's calling thread) while workers only read and hash."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / FILE_NAME
        self.warning = ""  # set once the index is given up for this run
        self._db: sqlite3.Connection | None = None
        self._opened = False

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._opened or self.warning:
            return self._db
        if not create and not self.path.is_file():
            return None  # nothing recorded yet: look-ups miss without creating a file
        self._opened = True
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                return self._give_up(exc)
            # Damaged (not a database, malformed): start again from an empty index.
            with contextlib.suppress(OSError):
                self.path.unlink()
            try:
                self._db = self._open()
            except (sqlite3.Error, OSError) as again:
                return self._give_up(again)
        except OSError as exc:
            return self._give_up(exc)
        return self._db

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
        try:
            db.execute(_SCHEMA)
            db.execute("SELECT key FROM files LIMIT 1").fetchall()  # a damaged file fails here
        except BaseException:
            db.close()
            raise
        return db

    def _give_up(self, exc: Exception) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None
        self.warning = (
            f"The digest index {self.path} cannot be used ({exc}); this run reads every file "
            "to find its cached features, which is slower but gives the same results. Delete "
            "that file or make its folder writable to speed up the next run."
        )
        return None

    def lookup(self, files: Sequence[Path]) -> list[str | None]:
        """The digest of each file whose fresh stat matches its entry exactly, else None."""
        found: list[str | None] = [None] * len(files)
        db = self._connect(create=False)
        if db is None or not files:
            return found
        wanted: dict[int, tuple[int, Signature]] = {}
        for i, path in enumerate(files):
            try:
                sig = signature(os.stat(path))
            except OSError:
                continue  # reading it reports the problem
            if sig is not None:
                wanted[_key(path)] = (i, sig)
        if not wanted:
            return found
        marks = ",".join("?" * len(wanted))
        try:
            rows = db.execute(
                "SELECT key, size, mtime, ctime, inode, device, digest FROM files "
                f"WHERE key IN ({marks})",
                list(wanted),
            ).fetchall()
        except sqlite3.Error as exc:
            self._give_up(exc)
            return found
        for key, *recorded, digest in rows:
            i, sig = wanted[key]
            if tuple(recorded) == tuple(map(_clamp, sig)):
                found[i] = bytes(digest).hex()
        return found

    def record(self, entries: Sequence[tuple[Path, os.stat_result, str]]) -> None:
        """Remember (path, the stat taken before its bytes were read, their digest); racy
        entries and files that cannot be indexed are left out."""
        now = time.time_ns()
        rows = []
        for path, info, digest in entries:
            sig = signature(info)
            if sig is None or max(sig[1], sig[2]) > now - RACY_NS:
                continue
            rows.append((_key(path), *map(_clamp, sig), bytes.fromhex(digest), now))
        if not rows:
            return
        db = self._connect(create=True)
        if db is None:
            return
        try:
            with db:  # one transaction: all of these entries or none
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?)", rows)
                self._bound(db)
        except sqlite3.Error as exc:
            self._give_up(exc)

    def _bound(self, db: sqlite3.Connection) -> None:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]  # reused before growing
        size = db.execute("PRAGMA page_size").fetchone()[0]
        if (pages - free) * size <= MAX_BYTES:
            return
        count = db.execute("SELECT count(*) FROM files").fetchone()[0]
        db.execute(
            "DELETE FROM files WHERE key IN (SELECT key FROM files ORDER BY recorded LIMIT ?)",
            ((count + 1) // 2,),
        )

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None
