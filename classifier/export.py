"""Results as CSV: the columns other tools rely on, written atomically and spreadsheet-safe.

The destination is checked before anything is written (never over the model, an input of the
run, a folder, or anything but a regular file), and a write that fails (a full disk, a
read-only folder) still keeps the results: they go to a fallback file in the data folder and
the error says where.
"""

from __future__ import annotations

import csv
import errno
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from classifier import filenames, paths
from classifier.atomic import atomic_write
from classifier.errors import SortscopeError
from classifier.types import Prediction

# A spreadsheet runs cells starting with these as formulas; a leading quote keeps them text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class OutputError(SortscopeError):
    """The results cannot be written where asked."""


def safe_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def plain_cell(text: str) -> str:
    """A cell as it was before `safe_cell`: the protective quote taken off again."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_STARTS) else text


REVIEWED_COLUMN = "reviewed_label"  # after `error`, only when some row is reviewed
NOVELTY_COLUMN = "novelty"  # after `reviewed_label` (or `error`), when novelty was asked for


def csv_header(
    class_names: Sequence[str],
    extra_columns: Sequence[str] = (),
    reviewed: bool = False,
    novelty: bool = False,
) -> list[str]:
    return [
        "file",
        "label",
        "confidence",
        *(f"prob_{c}" for c in class_names),
        "error",
        *([REVIEWED_COLUMN] if reviewed else []),
        *([NOVELTY_COLUMN] if novelty else []),
        *extra_columns,
    ]


def csv_row(
    row: Prediction, n_classes: int, reviewed: str | None = None, novelty: bool = False
) -> list[str]:
    """One row's cells; `reviewed` is its `reviewed_label` cell, None when there is no such
    column; `novelty` adds the row's novelty cell (blank for an unread file). `file` is
    escaped (filenames.escape) so that any name round-trips."""
    if row.probabilities is None:
        numbers = [""] * (n_classes + 1)
    else:
        numbers = [f"{row.confidence:.6f}", *(f"{p:.6f}" for p in row.probabilities)]
    review = [] if reviewed is None else [safe_cell(reviewed)]
    if novelty:
        review.append("" if row.novelty is None else f"{row.novelty:.4f}")
    extra = [safe_cell(value) for value in row.extra]
    file = safe_cell(filenames.escape(row.file))
    cells = [file, safe_cell(row.label), *numbers, safe_cell(row.error)]
    return [*cells, *review, *extra]


def _refuse(path: Path, what: str, todo: str) -> OutputError:
    return OutputError(f"The results cannot be written to {path}: {what}.", todo)


_ELSEWHERE = "Choose another file name for the results, e.g. results.csv in your home folder."


def check_destination(
    path: str | Path, protected: Iterable[str | Path] = (), probe: bool = False
) -> None:
    """Refuse a destination that is a folder, anything but a regular file (a device, FIFO or
    socket, also behind a link) or one of the `protected` files (the model, the run's
    inputs). With `probe`, also prove that a file can be created in its folder, so a run
    fails before its work instead of after it. "-" (standard output, for the command line)
    is not a file and is never refused."""
    if str(path) == "-":
        return
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise _refuse(path, exc.strerror or str(exc), _ELSEWHERE) from exc
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise _refuse(path, "it is a folder", "Give a file name inside it, e.g. results.csv.")
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(path, "it is not a regular file (a device, pipe or socket)", _ELSEWHERE)
        # Only files of the same name can be the same file: no stat for every input.
        real_name = os.path.basename(os.path.realpath(path))
        for other in protected:
            other = Path(other)
            if other.name in (path.name, real_name) and _same_file(info, other):
                raise _refuse(
                    path, f"that is {other}, which this run reads", "Choose another file name."
                )
    if probe:
        try:
            with atomic_write(path, "w", durable=False) as f:
                f.write("probe")
                raise _Probed
        except _Probed:
            pass
        except OSError as exc:
            raise _refuse(path, _reason(exc), _ELSEWHERE) from exc


class _Probed(Exception):
    """Leaves atomic_write without replacing anything: its temporary file is removed."""


def _same_file(info: os.stat_result, other: Path) -> bool:
    try:
        return os.path.samestat(info, os.stat(other))
    except OSError:
        return False


def _reason(exc: OSError) -> str:
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "your disk quota is used up",
        errno.EROFS: "the disk is read-only",
        errno.EACCES: "you have no permission to write there",
        errno.EPERM: "the file or folder may not be changed (it is read-only or immutable)",
        errno.EISDIR: "it is a folder",
        errno.ENOENT: "the folder does not exist",
    }
    return reasons.get(exc.errno) or exc.strerror or str(exc)


def _write(
    rows, class_names, path: Path, extra_columns, reviewed: Mapping[str, str], novelty: bool
) -> None:
    with atomic_write(path, "w", encoding="utf-8", newline="") as f:
        write_csv_to(f, rows, class_names, extra_columns, reviewed, novelty)


def write_csv_to(
    stream: TextIO,
    rows: Sequence[Prediction],
    class_names: Sequence[str],
    extra_columns: Sequence[str] = (),
    reviewed: Mapping[str, str] | None = None,
    novelty: bool = False,
) -> None:
    """The CSV of `write_csv`, to an open text stream (standard output for `--csv -`)."""
    reviewed = reviewed or {}
    has_review = any(reviewed.get(row.file) for row in rows)
    writer = csv.writer(stream)
    header = csv_header(class_names, extra_columns, has_review, novelty)
    writer.writerow([safe_cell(h) for h in header])
    for row in sorted(rows, key=lambda r: r.file):
        review = reviewed.get(row.file, "") if has_review else None
        writer.writerow(csv_row(row, len(class_names), review, novelty))


def fallback_path(path: Path) -> Path:
    """Where results go when their destination fails: the data folder, never overwriting."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return paths.data_dir() / "results" / f"{path.stem or 'results'}-{stamp}.csv"


def write_csv(
    rows: Sequence[Prediction],
    class_names: Sequence[str],
    path: str | Path,
    extra_columns: Sequence[str] = (),
    reviewed: Mapping[str, str] | None = None,
    protected: Iterable[str | Path] = (),
    novelty: bool = False,
) -> Path:
    """Columns: file, label, confidence, prob_<class>..., error, then `reviewed_label` when
    `reviewed` ({row.file: class name or "none"}, e.g. `ReviewJournal.reviewed_labels`) names
    at least one of the rows, then any `extra_columns` (requested FITS header keywords, whose
    values each row carries); with `novelty`, a `novelty` column before those; rows sorted by
    file. Without reviews the file is exactly what it
    was before reviews existed.

    `file` is escaped (filenames.escape) so any name round-trips. Never writes over
    `protected` files or the rows' own files; if writing fails, the results are saved to
    `fallback_path` and the OutputError says where.
    """
    path = Path(path)
    reviewed = reviewed or {}
    inputs = (row.path for row in rows if row.path is not None)
    check_destination(path, [*protected, *inputs])
    try:
        _write(rows, class_names, path, extra_columns, reviewed, novelty)
        return path
    except OSError as exc:
        failure = exc
    fallback = fallback_path(path)
    try:
        _write(rows, class_names, fallback, extra_columns, reviewed, novelty)
    except OSError as exc:
        raise _refuse(
            path,
            _reason(failure),
            f"The results could not be saved elsewhere either ({_reason(exc)}); free some "
            "disk space and run again.",
        ) from failure
    raise _refuse(
        path,
        _reason(failure),
        f"Nothing is lost: the results were saved to {fallback}. Copy them from there, or run "
        "again with another destination (the features are cached, so it is quick).",
    ) from failure
