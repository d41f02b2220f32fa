"""A watched folder: new images classified once complete, the results always whole and sorted.

Polling, not file-system events: a poll sees files written by other machines on a network
file system (where inotify sees nothing) and needs no extra package. A poll stats each folder
and lists again only those whose modification time changed (a file created, renamed or removed
in it), then stats only the files that are new there (a new name, or a new inode: a file
replaced by a rename) and the ones still being written: a night of a million files costs one
stat per folder a second and one listing of the folder that changed, not a stat per file. A
folder changed within RACY_SECONDS of being listed is listed again at the next poll (a second
change in the same clock tick leaves the time as it was). A file is complete when its size and
change time are the same at two polls in a row; one that still fails to read is tried again at
each poll until it has been unchanged for SETTLE_SECONDS (a writer may pause half-way), and only
then gets its error row. A file replaced after it was classified (a new inode under the name) is
classified again, and the row of a file that is removed goes too; a file rewritten in place
(same inode, its folder's time unchanged) is seen by the next run, which checks every row's size
and time (classifier/batch.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from classifier import images
from classifier.types import Prediction

POLL_SECONDS = 1.0
SETTLE_SECONDS = 10.0  # a file that fails to read counts as broken once unchanged this long
WRITE_SECONDS = 5.0  # the CSV is rewritten at most this often while files keep coming
RACY_SECONDS = 2.0  # a folder changed this recently is listed again (coarse clocks, NFS)

Stamp = tuple[int, int]  # size, change time in nanoseconds
# a listed folder: its time (None: list it again), {name: (path, inode)}, its sub-folders
Listed = tuple[int | None, dict[str, tuple[Path, int]], list[str]]


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
    on_gone: Callable[[list[str]], None] | None = None,
    poll_seconds: float = POLL_SECONDS,
    settle_seconds: float = SETTLE_SECONDS,
) -> None:
    """Keep `rows` ({file: row}, those of the run so far) up to date with `folder` and `write`
    them (sorted) after changes, until `stop()` or `idle_exit` seconds without a new file.
    `on_rows` hears of new (or classified again) rows, `on_gone` of the files whose rows went."""
    folder = Path(folder)
    listing = FolderListing(folder, recursive)
    done: dict[str, Stamp | None] = {name: _stamp(folder / name) for name in rows}
    pending: dict[str, tuple[Stamp, float]] = {}  # seen changing: its stamp and since when
    last_new = time.monotonic()
    written_at = 0.0
    unwritten = False
    first = True
    while not stop():
        time.sleep(poll_seconds)
        now = time.monotonic()
        present, new, gone = listing.poll()
        if first:  # files of the run that went before the watch began
            gone |= rows.keys() - present.keys()
            first = False
        removed = []
        for name in gone:
            pending.pop(name, None)
            done.pop(name, None)
            if rows.pop(name, None) is not None:
                removed.append(name)
        if removed:
            unwritten = True
            if on_gone is not None:
                on_gone(sorted(removed))
        # Stat only the new files, those being written, and (rarely) any not done yet.
        unsettled = present.keys() - done.keys() if len(done) < len(present) else set()
        candidates = new | pending.keys() | unsettled
        ready = []
        for name in sorted(candidates):
            path = present.get(name)
            if path is None:
                pending.pop(name, None)
                continue
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


class FolderListing:
    """The image files under a folder (as `list_image_files` finds them: hidden files and
    folders skipped), each folder listed again only when its modification time changed."""

    def __init__(self, folder: Path, recursive: bool) -> None:
        self.folder = Path(folder)
        self.recursive = recursive
        # folder (relative, "" for the top) -> its time when listed (None: list again next
        # time), its image files {name: (path, inode)} and its sub-folders
        self.folders: dict[str, Listed] = {}
        self.present: dict[str, Path] = {}
        self.folder_stats = 0  # stats and listings made, for tests and measurements
        self.listings = 0

    def poll(self) -> tuple[dict[str, Path], set[str], set[str]]:
        """All image files now ({relative name: path}, kept up to date between polls: do not
        change it), the names that are new (or whose inode is), and those gone since the last
        poll. The work is a stat per folder and a listing per changed folder."""
        new: set[str] = set()
        gone: set[str] = set()
        seen: dict[str, Listed] = {}
        todo = [""]
        while todo:
            rel = todo.pop()
            path = self.folder / rel if rel else self.folder
            known = self.folders.get(rel)
            self.folder_stats += 1
            try:
                mtime = os.stat(path).st_mtime_ns
            except OSError:
                mtime = None
            entry = known
            if mtime is not None and (known is None or known[0] is None or known[0] != mtime):
                entry = self._list(path, rel, mtime) or known
            if entry is None:  # never listed and unreadable: looked at again next time
                continue
            if entry is not known:
                before = known[1] if known else {}
                for name, found in entry[1].items():
                    if before.get(name) != found:
                        new.add(name)
                        self.present[name] = found[0]
                for name in before.keys() - entry[1].keys():
                    gone.add(name)
                    del self.present[name]
            # (A folder that cannot be read for a moment, an unmounted disk, keeps its files.)
            seen[rel] = entry
            todo.extend(entry[2])
        for rel in self.folders.keys() - seen.keys():  # a folder that went, with its files
            for name in self.folders[rel][1]:
                gone.add(name)
                self.present.pop(name, None)
        self.folders = seen
        return self.present, new, gone

    def _list(self, path: Path, rel: str, mtime: int) -> Listed | None:
        self.listings += 1
        prefix = f"{rel}/" if rel else ""
        files: dict[str, tuple[Path, int]] = {}
        subfolders: list[str] = []
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        continue
                    if is_dir:  # as os.walk: a link to a folder is not followed
                        if self.recursive and not entry.is_symlink():
                            subfolders.append(prefix + entry.name)
                    elif images.is_image_name(entry.name):
                        files[prefix + entry.name] = (Path(entry.path), entry.inode())
        except OSError:
            return None
        racy = time.time_ns() - mtime < RACY_SECONDS * 1e9
        return (None if racy else mtime), files, subfolders
