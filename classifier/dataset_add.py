"""Add reviewed images to a dataset: DATASET/<class>/, planned, previewed, done, undone.

The same shape and the same code as sorting into folders (`classifier.sorting`): a plan is the
dry run, executing it logs every finished step to an undo log (kept, hidden, in the dataset
folder), and nothing is ever overwritten (a clash gets " (1)" before the extension). On top:

- an image whose content is already in the dataset (or earlier in the same batch) is skipped
  and counted, so adding the same images twice adds nothing the second time;
- a class folder that does not exist yet is created only with `allow_new_classes`; otherwise
  planning raises `UnknownClasses`, naming them (the app asks, then plans again);
- a class value that is not a plain folder name (`..`, separators, absolute paths, empty, NUL,
  hidden names) is refused: nothing is ever written outside DATASET;
- "none of these" images (`label=None`) go to `none_folder` when one is named, else stay put.

API (the app's "Add reviewed images to dataset…" and `sortscope add` both use it):

    items = [AddItem(row.path, decision.label, row.digest) for ...]
    plan = plan_add(items, dataset, SortMode.COPY)     # may raise UnknownClasses
    plan.summary_lines()                               # the preview, per class
    report = execute_add(plan, progress, cancel)       # a SortReport, with its undo log
    undo_add(report.log)

`reviewed_items(rows, journal)` turns a reviewed batch into items; `plan_move_to_class` moves
images filed in the wrong class folder (the Train area's "Move to class…", undone the same way).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from classifier import images
from classifier.errors import ImageError, SortscopeError
from classifier.names import class_name_problem
from classifier.predict import iter_image_files
from classifier.progress import CancelToken, ProgressCallback, Stage, StageClock
from classifier.review import ReviewJournal
from classifier.sorting import (
    SortAction,
    SortMode,
    SortPlan,
    SortReport,
    execute_sort,
    free_name,
    safe_folder_name,
    undo_sort,
)
from classifier.types import Prediction

NONE_LABEL = "none"  # SortAction.label of "none of these" images


@dataclass(frozen=True)
class AddItem:
    source: Path
    label: str | None  # a class name; None: "none of these"
    digest: str = ""  # content digest; computed from the file when empty


@dataclass(frozen=True)
class AddPlan:
    dataset: Path
    sort: SortPlan  # the copies or moves to make; its output (for the undo log) is the dataset
    added: dict[str, int]  # class -> images to add
    duplicates: dict[str, int]  # class -> images skipped: content already in the dataset
    new_classes: tuple[str, ...]  # class folders that will be created
    kept_in_place: int = 0  # "none of these" images left where they are
    to_none_folder: int = 0
    none_folder: Path | None = None
    problems: tuple[str, ...] = field(default=())  # sources that could not be read

    @property
    def actions(self) -> tuple[SortAction, ...]:
        return self.sort.actions

    @property
    def skipped_duplicates(self) -> int:
        return sum(self.duplicates.values())

    def summary_lines(self, dry_run: bool = True) -> list[str]:
        """What adding does (or would do), one line per class, for previews and the CLI."""
        verb = "would add" if dry_run else "added"
        lines = []
        for name in sorted(set(self.added) | set(self.duplicates)):
            line = f"{name}: {verb} {self.added.get(name, 0)}"
            if self.duplicates.get(name):
                line += f", {self.duplicates[name]} already in the dataset (skipped)"
            if name in self.new_classes:
                line += " (new class folder)"
            lines.append(line)
        if self.to_none_folder:
            lines.append(f"none of these: {verb} {self.to_none_folder} to {self.none_folder}")
        if self.kept_in_place:
            lines.append(f"none of these: {self.kept_in_place} left where they are")
        lines.extend(self.problems)
        return lines


class UnknownClasses(SortscopeError):
    """Images name classes the dataset has no folder for, and creating them was not allowed."""

    def __init__(self, dataset: Path, classes: Sequence[str]) -> None:
        self.classes = tuple(classes)
        names = ", ".join(repr(c) for c in self.classes)
        super().__init__(
            f"The dataset {dataset} has no class folder for {names}.",
            "Check the spelling, or allow new classes (sortscope add --new-classes).",
        )


def class_folders(dataset: str | Path) -> set[str]:
    """The class folders of a dataset, as the scan sees them (hidden folders are not classes)."""
    dataset = Path(dataset)
    try:
        return {e.name for e in os.scandir(dataset) if e.is_dir() and not e.name.startswith(".")}
    except OSError as exc:
        raise SortscopeError(
            f"The dataset folder {dataset} cannot be read ({exc.strerror}).",
            "Choose the folder that holds one sub-folder per class.",
        ) from exc


def check_class_name(name: str, existing: set[str]) -> None:
    """Refuse a class value that is not one plain, visible folder name inside the dataset."""
    if name in existing:
        return  # a folder listed in the dataset itself: a plain name by construction
    problem = class_name_problem(name)  # the scan's rule: what it would refuse later
    if problem:
        raise SortscopeError(
            f"{name!r} cannot be a class: the name {problem}.",
            "Correct the label, or leave that image out.",
        )
    if (
        not name
        or name in (".", "..")
        or name.startswith(".")
        or safe_folder_name(name) != name
        or os.path.isabs(name)
    ):
        raise SortscopeError(
            f"{name!r} cannot be a class: a class is one folder name, without '/', '\\', "
            "'..', a leading '.', or characters like : * ? \" < > |.",
            "Correct the label, or leave that image out.",
        )


def dataset_digests(
    dataset: str | Path,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    sizes: set[int] | None = None,
) -> set[str]:
    """Content digests of the images in the dataset's class folders; with `sizes`, only of
    files of those sizes (equal content means equal size: the rest need not be read)."""
    dataset = Path(dataset)
    clock = StageClock(Stage.CHECKING_DUPLICATES, 0, progress)
    found = set()
    for i, path in enumerate(iter_image_files(dataset, recursive=True)):
        if cancel is not None:
            cancel.check()
        if path.parent == dataset:
            continue  # a stray image at the top belongs to no class
        try:
            if sizes is not None and os.path.getsize(path) not in sizes:
                continue
            found.add(images.content_digest(images.read_file(path)))
        except (ImageError, OSError):
            continue  # unreadable files are the scan's business, not a duplicate
        if i % 200 == 0:
            clock.report(i)
    return found


def _sizes(items: Sequence[AddItem]) -> set[int]:
    sizes = set()
    for item in items:
        try:
            sizes.add(os.path.getsize(item.source))
        except OSError:
            continue  # reported when the item is planned
    return sizes


def plan_add(
    items: Iterable[AddItem],
    dataset: str | Path,
    mode: SortMode = SortMode.COPY,
    allow_new_classes: bool = False,
    none_folder: str | Path | None = None,
    existing: Iterable[str] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> AddPlan:
    """What adding `items` to `dataset` would do, touching nothing (the dry run).

    `existing` are the content digests already in the dataset (e.g. from a fresh scan); when
    None the dataset's files are hashed. Raises `UnknownClasses` when an item names a class
    folder that does not exist and `allow_new_classes` is off, and SortscopeError for a class
    value that cannot be a folder name; in both cases nothing is planned.
    """
    dataset = Path(dataset).absolute()
    if not dataset.is_dir():
        raise SortscopeError(
            f"The dataset folder {dataset} does not exist.",
            "Choose the folder the model was trained on (one sub-folder per class).",
        )
    mode = SortMode(mode)
    if mode == SortMode.LINK:
        raise SortscopeError("Images are copied or moved into a dataset, never linked.")
    items = list(items)
    classes = class_folders(dataset)
    for name in sorted({i.label for i in items if i.label is not None}):
        check_class_name(name, classes)
    unknown = sorted({i.label for i in items if i.label is not None} - classes)
    if unknown and not allow_new_classes:
        raise UnknownClasses(dataset, unknown)
    none_dir = _none_folder(none_folder, dataset)
    if existing is None:
        to_add = [i for i in items if i.label is not None]
        existing = dataset_digests(dataset, progress, cancel, _sizes(to_add)) if to_add else ()
    seen = set(existing)

    taken: set[Path] = set()
    actions: list[SortAction] = []
    added: Counter[str] = Counter()
    duplicates: Counter[str] = Counter()
    problems: list[str] = []
    kept = to_none = 0
    for item in sorted(items, key=lambda i: str(i.source)):
        source = Path(item.source)
        if item.label is None:
            if none_dir is None:
                kept += 1
                continue
            target = free_name(none_dir / source.name, taken)
            to_none += 1
        else:
            digest = item.digest or _digest(source, problems)
            if digest is None:
                continue
            if digest in seen:
                duplicates[item.label] += 1
                continue
            seen.add(digest)
            folder = dataset / item.label
            if folder.parent != dataset:  # defence in depth: never outside the dataset
                raise SortscopeError(f"{item.label!r} cannot be a class folder.")
            target = free_name(folder / source.name, taken)
            added[item.label] += 1
        taken.add(target)
        actions.append(SortAction(source, target, item.label or NONE_LABEL))
    sort = SortPlan(dataset, mode, tuple(actions), skipped=kept)
    new = tuple(sorted(c for c in added if c not in classes))
    return AddPlan(
        dataset,
        sort,
        dict(added),
        dict(duplicates),
        new,
        kept,
        to_none,
        none_dir,
        tuple(problems),
    )


def reviewed_items(rows: Iterable[Prediction], journal: ReviewJournal) -> list[AddItem]:
    """The reviewed rows of a batch as items to add (error rows and unreviewed rows left out)."""
    items = []
    for row in rows:
        decision = journal.decision(row.digest)
        if decision is not None and not row.error and row.path is not None:
            items.append(AddItem(Path(row.path), decision.label, row.digest))
    return items


def plan_move_to_class(
    paths: Iterable[str | Path],
    dataset: str | Path,
    class_name: str,
    allow_new_classes: bool = False,
) -> SortPlan:
    """Move images filed in the wrong class folder into DATASET/<class_name>/ ("Move to
    class…"); execute and undo with `execute_sort` / `undo_sort`. An image keeps its name, so
    its split (a hash of its path inside the class folder) stays the same."""
    dataset = Path(dataset).absolute()
    classes = class_folders(dataset)
    check_class_name(class_name, classes)
    if class_name not in classes and not allow_new_classes:
        raise UnknownClasses(dataset, [class_name])
    folder = dataset / class_name
    taken: set[Path] = set()
    actions = []
    for path in sorted(Path(p).absolute() for p in paths):
        if path.parent == folder:
            continue  # already there
        target = free_name(folder / path.name, taken)
        taken.add(target)
        actions.append(SortAction(path, target, class_name))
    return SortPlan(dataset, SortMode.MOVE, tuple(actions), skipped=0)


def _none_folder(none_folder: str | Path | None, dataset: Path) -> Path | None:
    if none_folder is None or str(none_folder) == "":
        return None
    folder = Path(none_folder).absolute()
    if folder == dataset or dataset in folder.parents:
        raise SortscopeError(
            f"The folder for 'none of these' images, {folder}, lies inside the dataset, where "
            "its images would train as a class.",
            "Choose a folder outside the dataset, or give those images a class.",
        )
    return folder


def _digest(path: Path, problems: list[str]) -> str | None:
    try:
        return images.content_digest(images.read_file(path))
    except ImageError as exc:
        problems.append(f"{path}: {exc.what} (skipped)")
        return None


def execute_add(
    plan: AddPlan,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> SortReport:
    """Copy or move the planned images, logging each step to an undo log in the dataset."""
    return execute_sort(plan.sort, progress, cancel, stage=Stage.ADDING_TO_DATASET)


def undo_add(
    log: str | Path,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> int:
    """Reverse an add from its undo log: copies removed, moved images back where they were."""
    return undo_sort(log, progress, cancel).undone
