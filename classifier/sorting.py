"""Sort classified files into OUTPUT/<label>/ folders: copy, move or link, and undo.

Safety rules: a label can never name a path outside OUTPUT; nothing is ever overwritten (a
clash gets " (1)", " (2)" ... before the extension); every completed step is appended to an
undo log before the next begins; and a file is always in its old place or its new one, never
lost, whenever the run stops.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from classifier.errors import SortscopeError
from classifier.progress import CancelToken, ProgressCallback, Stage, StageClock
from classifier.types import Prediction

UNDO_PREFIX = ".sortscope-undo-"
_UNSAFE = re.compile(r'[\x00-\x1f\\/:*?"<>|]')
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}


class SortMode(StrEnum):
    COPY = "copy"
    MOVE = "move"
    LINK = "link"


@dataclass(frozen=True)
class SortAction:
    source: Path
    target: Path
    label: str


@dataclass(frozen=True)
class SortPlan:
    output: Path
    mode: SortMode
    actions: tuple[SortAction, ...]
    skipped: int  # rows with errors: nothing to sort

    def per_folder(self) -> dict[str, int]:
        return dict(Counter(a.target.parent.name for a in self.actions))


def safe_folder_name(label: str) -> str:
    """A single, harmless folder name for a label: no separators, no '..', no device names."""
    name = _UNSAFE.sub("_", label).strip().strip(".").strip()
    if not name:
        name = "unnamed"
    if name.split(".")[0].upper() in _RESERVED:
        name = f"_{name}"
    return name[:100]


def free_name(target: Path, taken: set[Path]) -> Path:
    """`target`, or "name (1).ext", "name (2).ext"... if it exists or is `taken` by the plan."""
    if target not in taken and not os.path.lexists(target):
        return target
    stem, suffix = target.stem, target.suffix
    n = 1
    while True:
        candidate = target.with_name(f"{stem} ({n}){suffix}")
        if candidate not in taken and not os.path.lexists(candidate):
            return candidate
        n += 1


def plan_sort(
    rows: Sequence[Prediction],
    output: str | Path,
    mode: SortMode,
    reviewed: Mapping[str, str] | None = None,
) -> SortPlan:
    """What sorting would do, without touching anything (the dry run).

    `reviewed` ({row.file: class name or "none"}, e.g. `ReviewJournal.reviewed_labels`) wins
    over the prediction: a reviewed image goes to the folder a person chose ("none of these"
    into `none/`).
    """
    output = Path(output).absolute()
    reviewed = reviewed or {}
    taken: set[Path] = set()
    actions = []
    skipped = 0
    for row in sorted(rows, key=lambda r: r.file):
        label = reviewed.get(row.file) or row.label
        if row.error or row.path is None or not label:
            skipped += 1
            continue
        target = free_name(label_folder(output, label) / row.path.name, taken)
        taken.add(target)
        actions.append(SortAction(Path(row.path), target, label))
    return SortPlan(output, SortMode(mode), tuple(actions), skipped)


def label_folder(output: Path, label: str) -> Path:
    """OUTPUT/<label>, with the label made a harmless folder name; never outside OUTPUT."""
    folder = output / safe_folder_name(label)
    if folder.parent != output:  # defence in depth
        raise SortscopeError(f"The label {label!r} cannot be used as a folder name.")
    return folder


@dataclass(frozen=True)
class SortReport:
    done: int
    log: Path
    cancelled: bool = False
    mode: SortMode = SortMode.COPY
    placed: tuple[tuple[Path, Path], ...] = ()  # (source, where it went) per finished step


@dataclass(frozen=True)
class UndoReport:
    undone: int
    restored: tuple[tuple[Path, Path], ...] = ()  # moves only: (where it was, where it is back)
    removed_folders: tuple[Path, ...] = ()  # folders the sort made and left empty by the undo


def _copy_into_place(source: Path, target: Path) -> Path:
    """Copy to a temporary name beside the target, then give it a name nobody else has."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    shutil.copy2(source, tmp)
    return _claim(tmp, target)


def _claim(tmp: Path, target: Path) -> Path:
    # A hard link fails instead of overwriting, which makes "no overwrite" race-free.
    while True:
        try:
            os.link(tmp, target)
            os.unlink(tmp)
            return target
        except FileExistsError:
            target = free_name(target, set())
        except OSError:  # file systems without hard links
            if os.path.lexists(target):
                target = free_name(target, set())
                continue
            os.replace(tmp, target)
            return target


def _apply(action: SortAction, mode: SortMode) -> Path:
    target = free_name(action.target, set())  # the plan may be stale by now
    target.parent.mkdir(parents=True, exist_ok=True)
    if mode == SortMode.COPY:
        return _copy_into_place(action.source, target)
    if mode == SortMode.LINK:
        os.symlink(action.source.absolute(), target)
        return target
    try:
        # Same file system: one atomic rename, the file is never in two places or none.
        if os.path.lexists(target):
            raise FileExistsError(target)
        os.rename(action.source, target)
        return target
    except OSError:
        # Another disk: copy first, and only then remove the original.
        placed = _copy_into_place(action.source, target)
        os.unlink(action.source)
        return placed


def execute_sort(
    plan: SortPlan,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    stage: str = Stage.SORTING,
) -> SortReport:
    """Carry out a plan, logging each finished step so it can be undone; `stage` names the
    work in progress reports."""
    cancel = cancel or CancelToken()
    plan.output.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    log = plan.output / f"{UNDO_PREFIX}{stamp}-{uuid.uuid4().hex[:6]}.jsonl"
    clock = StageClock(f"{stage} ({plan.mode.value})", len(plan.actions), progress)
    placed: list[tuple[Path, Path]] = []
    folders: set[Path] = set()

    def report(cancelled: bool = False) -> SortReport:
        return SortReport(len(placed), log, cancelled, plan.mode, tuple(placed))

    with open(log, "w", encoding="utf-8") as f:
        f.write(json.dumps({"mode": plan.mode.value, "created": stamp}) + "\n")
        f.flush()
        for action in plan.actions:
            if cancel.cancelled:
                return report(cancelled=True)
            folder = action.target.parent
            if folder not in folders:
                folders.add(folder)
                if not os.path.lexists(folder):  # logged first: undo may remove it if empty
                    f.write(json.dumps({"created_folder": str(folder)}) + "\n")
            target = _apply(action, plan.mode)
            f.write(json.dumps({"source": str(action.source), "target": str(target)}) + "\n")
            f.flush()
            placed.append((action.source, target))
            if len(placed) % 20 == 0:
                clock.report(len(placed))
    clock.report(len(placed))
    return report()


def latest_undo_log(output: str | Path) -> Path | None:
    logs = sorted(Path(output).glob(f"{UNDO_PREFIX}*.jsonl"))
    return logs[-1] if logs else None


def undo_sort(
    log: str | Path,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> UndoReport:
    """Reverse a sort from its log: moved files go back, copies and links are removed, and
    the folders the sort made are removed when that leaves them empty (never one with a file)."""
    log = Path(log)
    lines = log.read_text(encoding="utf-8").splitlines()
    mode = SortMode(json.loads(lines[0])["mode"])
    entries = [json.loads(line) for line in lines[1:] if line.strip()]
    steps = [e for e in entries if "source" in e]
    clock = StageClock(Stage.UNDOING_SORT, len(steps), progress)
    restored: list[tuple[Path, Path]] = []
    undone = 0
    for step in reversed(steps):
        if cancel is not None and cancel.cancelled:
            break
        source, target = Path(step["source"]), Path(step["target"])
        if not os.path.lexists(target):
            continue  # already gone: nothing to undo
        if mode == SortMode.MOVE:
            back = free_name(source, set())
            back.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(target, back)
            except OSError:
                shutil.copy2(target, back)
                os.unlink(target)
            restored.append((target, back))
        else:
            os.unlink(target)
        undone += 1
        clock.report(undone)
    removed = [Path(e["created_folder"]) for e in entries if "created_folder" in e]
    removed = [folder for folder in removed if _remove_if_empty(folder)]
    if undone == len(steps):
        log.rename(log.with_suffix(".undone"))
    return UndoReport(undone, tuple(restored), tuple(removed))


def _remove_if_empty(folder: Path) -> bool:
    """rmdir refuses a folder that holds anything, hidden files included: nothing is lost."""
    try:
        os.rmdir(folder)
        return True
    except OSError:  # not empty, gone already, or not a folder
        return False
