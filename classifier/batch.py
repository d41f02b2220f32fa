"""Long batch runs that never lose finished work: part files beside the CSV, and shards.

While `classify` runs, finished rows go to part files in `.OUT.csv.parts/` beside the
destination (each written atomically, at least every PART_SECONDS and when the run stops), with
a manifest naming what the rows depend on: the model file's SHA-256, the classes, the CSV
columns and the options. Running the same command again reads the parts, classifies only the
files they lack (finished files are not even read again) and writes the CSV an uninterrupted
run writes, since both are made from the same Predictions by `export.write_csv`. Each row
keeps its file's size and modification time: a file changed (or replaced) between the kill and
the rerun is classified again. Parts are removed once the CSV is written; if that final write
fails, they stay and the error says where. The batch view keeps its runs' parts in the data
folder (ui/batch_resume.py), keyed by folder and model, through the same classes.

`--shard K/N` keeps the files whose path inside the folder hashes to shard K of N (the hash of
classifier/split.py), for job arrays; each shard's CSV gets a sidecar `OUT.csv.json` with the
same run description, which `sortscope merge` checks (classifier/merge.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from classifier.atomic import atomic_write
from classifier.errors import SortscopeError
from classifier.export import OutputError, csv_header
from classifier.types import Prediction

PART_SECONDS = 5.0  # at most this long between part files while rows arrive
MANIFEST = "manifest.json"
FORMAT = "sortscope-classify-run"
SIDECAR_FORMAT = "sortscope-shard"
VERSION = 2  # 2: rows carry their file's size and modification time
_BUCKETS = 2**32


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """'K/N' with 1 <= K <= N, e.g. '$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT'."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        k = n = 0
    if not 1 <= k <= n:
        raise SortscopeError(
            f"The shard '{text}' is not K/N with 1 <= K <= N.",
            "Give e.g. --shard 3/10 for the third of ten shards.",
        )
    return Shard(k, n)


def shard_of(rel_path: str, count: int) -> int:
    """The 1-based shard of a file: a pure function of its path inside the folder (as the
    split hash, surrogateescape so a name that is not UTF-8 hashes its own bytes)."""
    value = int(hashlib.sha1(rel_path.encode("utf-8", "surrogateescape")).hexdigest(), 16)
    return (value % _BUCKETS) % count + 1


def in_shard(files: Sequence[Path], folder: Path, shard: Shard | None) -> list[Path]:
    if shard is None:
        return list(files)
    return [
        f for f in files if shard_of(f.relative_to(folder).as_posix(), shard.count) == shard.index
    ]


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class RunSpec:
    """What a run's rows depend on: rows of runs with equal specs belong in one CSV."""

    model_sha256: str
    classes: tuple[str, ...]
    columns: tuple[str, ...]
    options: dict  # threshold, fits_keys, max_pixels, recursive, folder

    def to_json(self) -> dict:
        return {
            "model_sha256": self.model_sha256,
            "classes": list(self.classes),
            "columns": list(self.columns),
            "options": self.options,
        }


def run_spec(
    model_path: Path,
    class_names: Sequence[str],
    folder: Path,
    *,
    threshold: float,
    fits_keys: Sequence[str] = (),
    max_pixels: int,
    recursive: bool,
    novelty: bool = False,
    novelty_threshold: float | None = None,
) -> RunSpec:
    options = {
        "folder": os.path.abspath(folder),
        "recursive": bool(recursive),
        "threshold": float(threshold),
        "fits_keys": list(fits_keys),
        "max_pixels": int(max_pixels),
        "novelty": bool(novelty),
        "novelty_threshold": novelty_threshold,
    }
    columns = tuple(csv_header(class_names, fits_keys, novelty=novelty))
    return RunSpec(file_sha256(model_path), tuple(class_names), columns, options)


def parts_folder(destination: Path) -> Path:
    return destination.parent / f".{destination.name}.parts"


def sidecar_path(destination: Path) -> Path:
    return destination.with_name(destination.name + ".json")


# Every field but `path`: rebuilt from the folder, the parts stay valid if it is mounted elsewhere.
_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(Prediction) if f.name != "path")


def file_stamp(path: Path) -> list[int] | None:
    """A file's size and modification time (ns): a row is trusted while they are unchanged."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def _record(row: Prediction, stamp: list[int] | None) -> dict:
    # A shallow dict, the same JSON as dataclasses.asdict: its deep copy took 0.1 ms a row,
    # a fifth of a warm 1,500-image `classify`.
    record = {name: getattr(row, name) for name in _RECORD_FIELDS}
    record["stamp"] = stamp
    return record


def _prediction(record: dict, folder: Path) -> tuple[Prediction, list[int] | None]:
    stamp = record.pop("stamp", None)
    for name in ("probabilities", "extra"):
        if record.get(name) is not None:
            record[name] = tuple(record[name])
    return Prediction(**record, path=folder / record["file"]), stamp


class PartStore:
    """Finished rows of one run as part files (JSON lines, one Prediction each; ensure_ascii
    keeps names that are not UTF-8 exact) plus a manifest with the run's spec."""

    def __init__(
        self,
        destination: Path,
        spec: RunSpec,
        shard: Shard | None = None,
        folder: Path | None = None,
    ) -> None:
        self.folder = Path(folder) if folder is not None else parts_folder(destination)
        self.manifest = {
            "format": FORMAT,
            "version": VERSION,
            **spec.to_json(),
            "shard": str(shard) if shard else None,
        }
        self.pending: list[tuple[Prediction, list[int] | None]] = []
        self.written_at = time.monotonic()
        self.discarded = False  # parts of another run were found and removed

    def load(self, image_folder: Path) -> dict[str, Prediction]:
        """Rows of an interrupted run of the same spec whose files are unchanged since (same
        size and modification time); parts of any other run are removed."""
        try:
            manifest = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = None
        if manifest != self.manifest:
            self.discarded = self.folder.exists()
            self.remove()
            return {}
        found: dict[str, tuple[Prediction, list[int] | None]] = {}
        for part in sorted(self.folder.glob("part-*.jsonl")):
            try:
                lines = part.read_text(encoding="ascii").splitlines()
                rows = [_prediction(json.loads(line), image_folder) for line in lines]
            except (OSError, ValueError, TypeError):
                continue  # a damaged part: its files are classified again
            found.update((row.file, (row, stamp)) for row, stamp in rows)
        # A later part wins (a file classified again while watching); a file whose size or
        # time differs from its row's is classified again, as is one that is gone.
        return {
            name: row
            for name, (row, stamp) in found.items()
            if stamp is not None and file_stamp(row.path) == stamp
        }

    def add(self, rows: Sequence[Prediction]) -> None:
        # Stamped as the rows arrive, a moment after the files were read: a file rewritten
        # within that moment keeps its older row (a watch sees the change and reads it again).
        self.pending.extend((row, file_stamp(row.path) if row.path else None) for row in rows)
        if time.monotonic() - self.written_at >= PART_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write the pending rows as one more part file (atomically)."""
        self.written_at = time.monotonic()
        if not self.pending:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest = self.folder / MANIFEST
        if not manifest.exists():
            with atomic_write(manifest, "w", encoding="utf-8") as f:
                json.dump(self.manifest, f, indent=1)
        name = f"part-{time.time_ns():020d}-{os.getpid()}.jsonl"
        with atomic_write(self.folder / name, "w", encoding="ascii") as f:
            for row, stamp in self.pending:
                f.write(json.dumps(_record(row, stamp)) + "\n")
        self.pending.clear()

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class ResumableRun:
    """One `classify` run into a CSV file: which files are left, their rows as they come, and
    the parts cleaned up once the CSV is written."""

    def __init__(
        self,
        destination: Path,
        files: Sequence[Path],
        folder: Path,
        spec: RunSpec,
        shard: Shard | None = None,
        parts: Path | None = None,
    ) -> None:
        """`parts`: where the part files go (default: `.NAME.parts` beside `destination`)."""
        self.destination = Path(destination)
        self.folder = Path(folder)
        self.spec = spec
        self.shard = shard
        self.files = in_shard(files, self.folder, shard)
        self.store = PartStore(self.destination, spec, shard, parts)
        wanted = {f.relative_to(self.folder).as_posix() for f in self.files}
        loaded = self.store.load(self.folder)
        # Rows of files that are gone since are dropped: the CSV is the one a fresh run writes.
        self.kept = {name: row for name, row in loaded.items() if name in wanted}
        self.todo = [
            f for f in self.files if f.relative_to(self.folder).as_posix() not in self.kept
        ]

    def add(self, rows: Sequence[Prediction]) -> None:
        self.store.add(rows)

    @contextlib.contextmanager
    def running(self):
        """Around the classification: whatever is pending is saved however it ends."""
        try:
            yield self
        finally:
            with contextlib.suppress(OSError):
                self.store.flush()

    def all_rows(self, new_rows: Sequence[Prediction]) -> list[Prediction]:
        rows = {**self.kept, **{row.file: row for row in new_rows}}
        return sorted(rows.values(), key=lambda r: r.file)

    def kept_failure(self, exc: OutputError) -> OutputError:
        """The final write failed: the parts stay, and the message says where they are."""
        return OutputError(
            exc.what,
            f"{exc.todo} The finished rows are also kept in {self.store.folder}: once the "
            "problem is fixed, run the same command again and it writes the CSV without "
            "classifying anything again.",
        )

    def finished(self) -> None:
        """The CSV is written: remove the parts, and describe a shard for `sortscope merge`."""
        self.store.remove()
        sidecar = sidecar_path(self.destination)
        if self.shard is None:
            if _is_sidecar(sidecar):  # an older shard's description no longer fits this CSV
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(sidecar)
            return
        description = {
            "format": SIDECAR_FORMAT,
            "version": VERSION,
            **self.spec.to_json(),
            "shard": [self.shard.index, self.shard.count],
            "rows": len(self.files),
        }
        with atomic_write(sidecar, "w", encoding="utf-8") as f:
            json.dump(description, f, indent=1)


def read_sidecar(path: Path) -> dict | None:
    """A shard CSV's description, or None when there is none (or it is not ours)."""
    try:
        description = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(description, dict) and description.get("format") == SIDECAR_FORMAT
    return description if ok else None


def _is_sidecar(path: Path) -> bool:
    return read_sidecar(path) is not None
