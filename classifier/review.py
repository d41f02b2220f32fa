"""The review journal: what a person said each classified image is, per folder and model.

A decision is a class name, or "none of these" (`label=None`; written `none` in CSVs). Skipping
an image is not a decision and writes nothing. Decisions are keyed by the image's content
digest (the key of the feature cache), so a renamed file keeps its decision and a file whose
content changed has none: its new digest was never decided.

On disk, one JSON-lines file per (folder, model) under the data folder: a header line, then one
event per line (`set`, `clear`, `undo`), each flushed and fsync'd before `decide` returns, so
closing the app, a crash or a power cut loses no decision already made. Measured over 1,000
decisions on the project machine (bench/bench_review.py): 0.26-0.30 ms per decision, 3.3 ms
under heavy shared load, against 0.66-7.2 ms, growing with the file, for an atomic rewrite per
decision; cheap enough for the GUI thread within a 50 ms key press. A torn last line (power
cut mid-write) is ignored.
Opening a journal whose file holds many superseded events rewrites it atomically with the
current decisions only (compaction); the undo history then restarts from those decisions.

API for the review view (the UI only adapts it; everything here is plain Python):

    journal = ReviewJournal.open(folder, model_key(model))  # restores earlier decisions
    journal.decide(row.digest, row.file, "galaxy")          # or label=None: none of these
    journal.decision(row.digest)     # Decision or None
    journal.undo()                   # the last decision undone (its earlier state back)
    journal.forget(row.digest)       # reviewed -> not reviewed (undoable too)
    journal.recent(5)                # the last decisions, oldest first, to show and change
    journal.reviewed_labels(rows)    # {row.file: "galaxy" | "none"} for export and sorting
    journal.class_labels()           # {digest: "galaxy"} for retraining (none of these left out)
    journal.reviewed_mask(rows)      # bool array: hide reviewed rows, or skip them in the order
    new_journal.adopt(journal)       # after a retrain: the decisions carry over to the new model
    review_counts(rows, journal)     # reviewed 37 of 1,204 · 5 corrected
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifier import paths
from classifier.atomic import atomic_write
from classifier.errors import SortscopeError
from classifier.types import Prediction

if TYPE_CHECKING:
    from classifier.modelfile import SortscopeModel

NONE_OF_THESE = "none"  # how "none of these" is spelled in CSVs and on the command line
FORMAT = "sortscope-review-journal"
VERSION = 1
COMPACT_ABOVE = 256  # superseded events tolerated before a journal is rewritten on open


@dataclass(frozen=True)
class Decision:
    digest: str
    file: str  # relative to the folder, '/' separators, as in the results
    label: str | None  # a class name, or None for "none of these"
    time: float = 0.0  # seconds since the epoch

    @property
    def none_of_these(self) -> bool:
        return self.label is None

    @property
    def csv_value(self) -> str:
        """The `reviewed_label` cell: the class name, or `none`."""
        return NONE_OF_THESE if self.label is None else self.label


@dataclass(frozen=True)
class ReviewCounts:
    total: int  # rows that can be reviewed (no error)
    reviewed: int
    corrected: int  # reviewed rows whose decision differs from the prediction

    def text(self) -> str:
        return f"reviewed {self.reviewed:,} of {self.total:,} · {self.corrected:,} corrected"


def model_key(model: SortscopeModel) -> str:
    """A model's identity for journals: its classes and head weights (same file, same key)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(json.dumps(list(model.class_names)).encode("utf-8"))
    for kernel, bias, activation in model.head_layers:
        h.update(kernel.tobytes())
        h.update(bias.tobytes())
        h.update(activation.encode("utf-8"))
    return h.hexdigest()


def journal_path(folder: str | Path, model: str, root: str | Path | None = None) -> Path:
    """Where the journal of `folder` (by its absolute path) and a model key lives."""
    where = str(Path(folder).expanduser().resolve())
    folder_key = hashlib.blake2b(where.encode("utf-8", "surrogateescape"), digest_size=8)
    base = Path(root) if root is not None else paths.data_dir() / "reviews"
    return base / f"{folder_key.hexdigest()}-{model}.jsonl"


class ReviewJournal:
    """Decisions for one folder and model, in memory and on disk; safe to call from any thread."""

    def __init__(self, path: str | Path, folder: str | Path = "", model: str = "") -> None:
        self.path = Path(path)
        self.folder = str(folder)
        self.model = model
        self._lock = threading.Lock()
        self._state: dict[str, Decision] = {}
        # (digest, state before) per undoable event, oldest first.
        self._undo: list[tuple[str, Decision | None]] = []
        self._file = None
        self._repair = False  # a write failed: rewrite the file before the next append
        events, torn = self._read()
        for event in events:
            self._apply(event)
        if torn or len(events) > len(self._state) + COMPACT_ABOVE:
            self.compact()

    @classmethod
    def open(cls, folder: str | Path, model: str, root: str | Path | None = None) -> ReviewJournal:
        """The journal of `folder` with the model whose `model_key` is `model`."""
        return cls(journal_path(folder, model, root), folder, model)

    # -- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._state)

    def __contains__(self, digest: object) -> bool:
        return digest in self._state

    def decision(self, digest: str | None) -> Decision | None:
        return self._state.get(digest) if digest else None

    def decisions(self) -> list[Decision]:
        """Every current decision, in the order they were made."""
        with self._lock:
            return sorted(self._state.values(), key=lambda d: d.time)

    def class_labels(self) -> dict[str, str]:
        """{digest: class name} of every decision naming a class (for retraining)."""
        with self._lock:
            return {d: x.label for d, x in self._state.items() if x.label is not None}

    def recent(self, n: int = 5) -> list[Decision]:
        """The last `n` decisions still in force, oldest first (the UI shows and changes them)."""
        return self.decisions()[-n:] if n > 0 else []

    def reviewed_mask(self, rows: Sequence[Prediction]) -> np.ndarray:
        """Which rows are reviewed, as a boolean array (`review_order(..., skip=...)`)."""
        return np.array([row.digest in self._state for row in rows], dtype=bool)

    def reviewed_labels(self, rows: Iterable[Prediction]) -> dict[str, str]:
        """{row.file: reviewed label as the CSV spells it} for the reviewed rows of `rows`."""
        out = {}
        for row in rows:
            decision = self.decision(row.digest)
            if decision is not None and not row.error:
                out[row.file] = decision.csv_value
        return out

    # -- changing ------------------------------------------------------------------------

    def decide(self, digest: str, file: str, label: str | None) -> Decision:
        """Record (or change) a decision; on disk before this returns."""
        if not digest:
            raise ValueError("a decision needs the image's content digest")
        decision = Decision(digest, file, label, time.time())
        self._write(_set_event(decision))
        return decision

    def adopt(self, other: ReviewJournal) -> int:
        """Take over the decisions of `other` (e.g. the journal of the model this one was
        retrained from) for images this journal has none for; one write. Returns how many."""
        new = [d for d in other.decisions() if d.digest not in self._state]
        if new:
            self._write(*(_set_event(d) for d in new))
        return len(new)

    def forget(self, digest: str) -> None:
        """The image is no longer reviewed (undoable)."""
        if digest in self._state:
            self._write({"t": "clear", "digest": digest})

    def undo(self) -> Decision | None:
        """Undo the last decision (or forget); returns what was undone, None when nothing is."""
        with self._lock:
            if not self._undo:
                return None
            digest, _ = self._undo[-1]
            undone = self._state.get(digest)
        self._write({"t": "undo"})
        return undone

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def compact(self) -> None:
        """Rewrite the file atomically with only the decisions in force."""
        with self._lock:
            self._compact()

    def close(self) -> None:
        with self._lock:
            self._close()

    def __enter__(self) -> ReviewJournal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------

    def _header(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "folder": self.folder, "model": self.model}

    def _ordered_digests(self) -> list[str]:
        return [d.digest for d in sorted(self._state.values(), key=lambda d: d.time)]

    def _compact(self) -> None:
        self._close()
        with atomic_write(self.path, "w", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(self._header()) + "\n")
            for d in sorted(self._state.values(), key=lambda d: d.time):
                f.write(json.dumps(_set_event(d), ensure_ascii=False) + "\n")
        self._undo = [(d, None) for d in self._ordered_digests()]
        self._repair = False

    def _write(self, *events: dict) -> None:
        """Append events with one flush and fsync, then apply them (only once on disk)."""
        for event in events:
            event.setdefault("time", time.time())
        lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
        with self._lock:
            try:
                if self._repair:
                    self._compact()
                f = self._open_for_append()
                f.write(lines)
                f.flush()
                os.fsync(f.fileno())
            except OSError as exc:
                self._close()
                self._repair = True  # half a line may be on disk: never append after it
                raise SortscopeError(
                    f"The review decision could not be saved in {self.path} "
                    f"({exc.strerror or exc}).",
                    "Free some disk space or check the folder's permissions; earlier "
                    "decisions are safe.",
                ) from exc
            for event in events:
                self._apply(event)

    def _open_for_append(self):
        if self._file is None:
            new = not self.path.exists()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8", newline="\n")  # noqa: SIM115
            if new:
                self._file.write(json.dumps(self._header()) + "\n")
                self._file.flush()
                _fsync_folder(self.path.parent)  # the new file's name survives a power cut
        return self._file

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _read(self) -> tuple[list[dict], bool]:
        """The events on disk, and whether the file needs rewriting (a torn or bad line)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return [], False
        except OSError as exc:
            raise SortscopeError(
                f"The review journal {self.path} cannot be read ({exc.strerror}).",
                "Check the permissions of Sortscope's data folder.",
            ) from exc
        events, torn = [], not raw.endswith(b"\n") and bool(raw)
        for line in raw.splitlines()[1:]:
            try:
                event = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                torn = True  # a half-written line: the decision in it never returned
                continue
            if isinstance(event, dict) and event.get("t") in ("set", "clear", "undo"):
                events.append(event)
        return events, torn

    def _apply(self, event: dict) -> None:
        kind = event["t"]
        if kind == "undo":
            if self._undo:
                digest, before = self._undo.pop()
                if before is None:
                    self._state.pop(digest, None)
                else:
                    self._state[digest] = before
            return
        digest = str(event.get("digest") or "")
        if not digest:
            return
        self._undo.append((digest, self._state.get(digest)))
        if kind == "clear":
            self._state.pop(digest, None)
            return
        label = event.get("label")
        self._state[digest] = Decision(
            digest,
            str(event.get("file", "")),
            None if label is None else str(label),
            float(event.get("time", 0.0)),
        )


def _set_event(d: Decision) -> dict:
    return {"t": "set", "digest": d.digest, "file": d.file, "label": d.label, "time": d.time}


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not possible on every platform (Windows)
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def review_counts(
    rows: Sequence[Prediction], journal: ReviewJournal, class_names: Sequence[str] = ()
) -> ReviewCounts:
    """How far the review of `rows` has come. A decision is a correction when it differs from
    the model's best class (taken from the probabilities when `class_names` are given, so an
    "uncertain" row accepted as its best class is no correction)."""
    reviewed = corrected = total = 0
    for row in rows:
        if row.error:
            continue
        total += 1
        decision = journal.decision(row.digest)
        if decision is not None:
            reviewed += 1
            corrected += decision.label != predicted_class(row, class_names)
    return ReviewCounts(total, reviewed, corrected)


def predicted_class(row: Prediction, class_names: Sequence[str] = ()) -> str:
    """The model's best class for a row, even where its label says "uncertain"."""
    if class_names and row.probabilities:
        best = max(range(len(row.probabilities)), key=row.probabilities.__getitem__)
        return class_names[best]
    return row.label
