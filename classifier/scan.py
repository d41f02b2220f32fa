"""Scan a dataset folder laid out as one sub-folder per class (retrain.py's --image_dir).

A scan lists and checks every image (does it decode? is it a duplicate?), never stops on a bad
file, and returns a ScanResult with the usable images and a list of problems in plain words.
"""

from __future__ import annotations

import os
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from classifier import images
from classifier.errors import Cancelled, DatasetError, ImageError
from classifier.names import RESERVED_LABELS, class_name_problem, shown_name
from classifier.progress import CancelToken, ProgressCallback, Stage, StageClock
from classifier.types import (
    FILE_FAILURES,
    ImageRecord,
    Problem,
    ProblemKind,
    ScanResult,
    Severity,
)

SMALL_CLASS_IMAGES = 20  # retrain.py warned below this many images per class
IMBALANCE_RATIO = 4.0  # largest class / smallest class above this is "strong imbalance"
_CHUNK = 64  # files checked between cancellation checks and progress reports


@dataclass(frozen=True)
class _Candidate:
    path: Path
    class_name: str
    rel_path: str


def scan_dataset(
    root: str | Path,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    max_pixels: int = images.DEFAULT_MAX_PIXELS,
    workers: int | None = None,
    hdu: str | int | None = None,
) -> ScanResult:
    """List and check every image under `root`; raises Cancelled if `cancel` is set.

    `hdu` picks the extension of FITS files (by name or index); None takes the first image.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(
            f"The folder {root} does not exist or is not a folder.",
            "Choose a folder that contains one sub-folder per class.",
        )
    cancel = cancel or CancelToken()
    candidates, problems, ignored, classes = _list_files(root, progress, cancel)
    records, file_problems = _check_files(candidates, progress, cancel, max_pixels, workers, hdu)
    problems += file_problems
    records, dup_problems = _drop_duplicates(records)
    problems += dup_problems
    present = {r.class_name for r in records}
    usable_classes = tuple(c for c in classes if c in present)
    problems += _dataset_problems(root, classes, usable_classes, records)
    return ScanResult(
        root=root,
        classes=usable_classes,
        images=tuple(sorted(records, key=lambda r: (r.class_name, r.rel_path))),
        problems=tuple(problems),
        ignored_files=ignored,
        files_seen=len(candidates) + ignored,
        max_pixels=max_pixels,
    )


def _visible(name: str) -> bool:
    return not name.startswith(".")


def _list_files(root: Path, progress, cancel: CancelToken):
    clock = StageClock(Stage.LISTING_FILES, 0, progress)
    candidates: list[_Candidate] = []
    problems: list[Problem] = []
    ignored = 0
    classes: list[str] = []
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        raise DatasetError(
            f"The folder {root} cannot be read ({exc.strerror}).",
            "Check that you have permission to open it.",
        ) from exc
    for entry in entries:
        if not _visible(entry.name):
            continue
        if entry.is_dir(follow_symlinks=True):
            classes.append(entry.name)
            problem = class_name_problem(entry.name)
            if problem:
                problems.append(_bad_class_name(entry, problem))
            found, skipped = _list_class(Path(entry.path), entry.name, candidates, cancel)
            ignored += skipped
            if not found:
                problems.append(
                    Problem(
                        ProblemKind.EMPTY_CLASS,
                        f"The class folder '{entry.name}' holds no images Sortscope can read.",
                        "Add images to it, or remove the folder; it is left out for now.",
                        path=Path(entry.path),
                        class_name=entry.name,
                        severity=Severity.INFO,
                    )
                )
            clock.report(len(candidates))
        elif images.is_image_name(entry.name):
            problems.append(
                Problem(
                    ProblemKind.STRAY_FILE,
                    "This image lies at the top of the dataset, outside any class folder, so it "
                    "has no label.",
                    "Move it into the folder of its class, or into a new class folder.",
                    path=Path(entry.path),
                    severity=Severity.INFO,
                )
            )
        else:
            ignored += 1
    return candidates, problems, ignored, classes


def _bad_class_name(entry: os.DirEntry, problem: str) -> Problem:
    return Problem(
        ProblemKind.BAD_CLASS_NAME,
        f"The class folder {shown_name(entry.name)} cannot be a class name: its name {problem}.",
        "Rename the folder (letters, digits, spaces and punctuation; not the names Sortscope "
        f"gives its own results: {', '.join(RESERVED_LABELS)}), then scan again.",
        path=Path(entry.path),
        class_name=entry.name,
        severity=Severity.ERROR,
    )


def _list_class(folder: Path, class_name: str, out: list[_Candidate], cancel: CancelToken):
    found = 0
    ignored = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        cancel.check()
        dirnames[:] = sorted(d for d in dirnames if _visible(d))
        base = Path(dirpath)
        for name in sorted(filenames):
            if not _visible(name):
                continue
            if not images.is_image_name(name):
                ignored += 1
                continue
            path = base / name
            out.append(_Candidate(path, class_name, path.relative_to(folder).as_posix()))
            found += 1
    return found, ignored


def _check_one(
    candidate: _Candidate, max_pixels: int, hdu: str | int | None
) -> tuple[ImageRecord | None, Problem | None]:
    str(candidate.path)  # pathlib caches the text: paid here in a worker, not by the GUI later
    try:
        with images.reading(candidate.path, max_pixels) as data:
            info = images.verify(data, max_pixels, hdu)
            digest, size = images.content_digest(data), len(data)
    except (ImageError, MemoryError) as exc:
        return None, Problem.of_file(exc, candidate.path, candidate.class_name)
    record = ImageRecord(
        path=candidate.path,
        class_name=candidate.class_name,
        rel_path=candidate.rel_path,
        digest=digest,
        size_bytes=size,
        width=info.width,
        height=info.height,
        mode=info.mode,
        format=info.format,
    )
    note = None
    if info.note:
        note = Problem(
            ProblemKind.DATA_CUBE,
            f"This FITS file is {info.note}.",
            "Choose another extension if the first plane is not the one to classify.",
            path=candidate.path,
            class_name=candidate.class_name,
            severity=Severity.INFO,
        )
    return record, note


def _check_files(candidates, progress, cancel: CancelToken, max_pixels: int, workers, hdu):
    clock = StageClock(Stage.CHECKING_IMAGES, len(candidates), progress)
    records: list[ImageRecord] = []
    problems: list[Problem] = []
    clock.report(0)
    # Pillow and hashlib release the GIL, so threads use every core for decoding.
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        for start in range(0, len(candidates), _CHUNK):
            if cancel.cancelled:
                raise Cancelled()
            chunk = candidates[start : start + _CHUNK]
            n = len(chunk)
            for record, problem in pool.map(_check_one, chunk, [max_pixels] * n, [hdu] * n):
                if record is not None:
                    records.append(record)
                if problem is not None:
                    problems.append(problem)
            clock.report(start + len(chunk))
    return records, problems


def _drop_duplicates(records: list[ImageRecord]) -> tuple[list[ImageRecord], list[Problem]]:
    """Keep one copy per class (extra copies would leak between splits); report every copy."""
    by_digest: dict[str, list[ImageRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.class_name, r.rel_path)):
        by_digest[record.digest].append(record)
    kept: list[ImageRecord] = []
    problems: list[Problem] = []
    for copies in by_digest.values():
        seen_classes: dict[str, ImageRecord] = {}
        for record in copies:
            if record.class_name in seen_classes:
                first = seen_classes[record.class_name]
                problems.append(
                    Problem(
                        ProblemKind.DUPLICATE,
                        f"This image is an exact copy of {first.rel_path} in the same class; "
                        "only one copy is used.",
                        "Delete the extra copy so it cannot end up in both training and test.",
                        path=record.path,
                        class_name=record.class_name,
                        related=(first.path,),
                    )
                )
            else:
                seen_classes[record.class_name] = record
                kept.append(record)
        if len(seen_classes) > 1:
            names = sorted(seen_classes)
            # Both (all) files are named: the user has to find each one to decide.
            where = [f"'{c}' ({c}/{seen_classes[c].rel_path})" for c in names]
            problems.append(
                Problem(
                    ProblemKind.DUPLICATE_ACROSS_CLASSES,
                    "The same image appears in several classes: "
                    + (", ".join(where[:-1]) + " and " + where[-1])
                    + ". It cannot belong to all of them.",
                    "Keep it only in the class it really belongs to.",
                    path=seen_classes[names[0]].path,
                    class_name=names[0],
                    related=tuple(seen_classes[c].path for c in names[1:]),
                )
            )
    return kept, problems


def _dataset_problems(root, classes, usable_classes, records) -> list[Problem]:
    problems: list[Problem] = []
    counts = {c: 0 for c in usable_classes}
    for record in records:
        counts[record.class_name] += 1
    if len(usable_classes) < 2:
        found = (
            f"only one class with images ('{usable_classes[0]}')"
            if usable_classes
            else "no class folders with images"
        )
        problems.append(
            Problem(
                ProblemKind.TOO_FEW_CLASSES,
                f"The folder {root} has {found}; a classifier needs at least two.",
                "Put each class's images in its own sub-folder, e.g. "
                f"{root}/globular/ and {root}/open/.",
                path=root,
                severity=Severity.ERROR,
            )
        )
    for name, count in counts.items():
        if count < SMALL_CLASS_IMAGES:
            problems.append(
                Problem(
                    ProblemKind.SMALL_CLASS,
                    f"The class '{name}' has only {count} image{'s' if count != 1 else ''}; "
                    f"results are unreliable below {SMALL_CLASS_IMAGES}.",
                    "Add more images of this class if you can.",
                    path=root / name,
                    class_name=name,
                )
            )
    if len(counts) >= 2 and min(counts.values()) > 0:
        largest = max(counts, key=counts.get)
        smallest = min(counts, key=counts.get)
        ratio = counts[largest] / counts[smallest]
        if ratio > IMBALANCE_RATIO:
            problems.append(
                Problem(
                    ProblemKind.IMBALANCE,
                    f"The classes are strongly imbalanced: '{largest}' has {counts[largest]} "
                    f"images, '{smallest}' only {counts[smallest]} ({ratio:.0f} times fewer).",
                    "Keep class weights on when training, or add images to the small classes.",
                    class_name=smallest,
                )
            )
    return problems


# Problems that change what a model learns from, shown before training starts (the window
# asks whether to go on): files that will be skipped, and images filed in two classes at once.
# Small or imbalanced classes are advice about results and stay in the dataset browser.
CONFIRM_BEFORE_TRAINING = FILE_FAILURES | {ProblemKind.DUPLICATE_ACROSS_CLASSES}


def problems_before_training(scan: ScanResult) -> list[Problem]:
    """The problems of `scan` to confirm before training on it, in scan order."""
    return [p for p in scan.problems if p.kind in CONFIRM_BEFORE_TRAINING]


def problem_text(problem: Problem, root: Path) -> str:
    """One problem in a sentence that names its file (relative to the dataset folder)."""
    if problem.path is None or problem.kind not in FILE_FAILURES:
        return problem.message  # names its files itself, or is about the whole dataset
    try:
        where = problem.path.relative_to(root).as_posix()
    except ValueError:
        where = str(problem.path)
    return f"{where}: {problem.message}"
