"""Results as CSV: the columns other tools rely on, written atomically and spreadsheet-safe."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

from classifier.atomic import atomic_write
from classifier.types import Prediction

# A spreadsheet runs cells starting with these as formulas; a leading quote keeps them text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def plain_cell(text: str) -> str:
    """A cell as it was before `safe_cell`: the protective quote taken off again."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_STARTS) else text


REVIEWED_COLUMN = "reviewed_label"  # after `error`, only when some row is reviewed


def csv_header(
    class_names: Sequence[str], extra_columns: Sequence[str] = (), reviewed: bool = False
) -> list[str]:
    return [
        "file",
        "label",
        "confidence",
        *(f"prob_{c}" for c in class_names),
        "error",
        *([REVIEWED_COLUMN] if reviewed else []),
        *extra_columns,
    ]


def csv_row(row: Prediction, n_classes: int, reviewed: str | None = None) -> list[str]:
    """One row's cells; `reviewed` is its `reviewed_label` cell, None when there is no such
    column."""
    if row.probabilities is None:
        numbers = [""] * (n_classes + 1)
    else:
        numbers = [f"{row.confidence:.6f}", *(f"{p:.6f}" for p in row.probabilities)]
    review = [] if reviewed is None else [safe_cell(reviewed)]
    extra = [safe_cell(value) for value in row.extra]
    cells = [safe_cell(row.file), safe_cell(row.label), *numbers, safe_cell(row.error)]
    return [*cells, *review, *extra]


def write_csv(
    rows: Sequence[Prediction],
    class_names: Sequence[str],
    path: str | Path,
    extra_columns: Sequence[str] = (),
    reviewed: Mapping[str, str] | None = None,
) -> Path:
    """Columns: file, label, confidence, prob_<class>..., error, then `reviewed_label` when
    `reviewed` ({row.file: class name or "none"}, e.g. `ReviewJournal.reviewed_labels`) names
    at least one of the rows, then any `extra_columns` (requested FITS header keywords, whose
    values each row carries); rows sorted by file. Without reviews the file is exactly what it
    was before reviews existed."""
    path = Path(path)
    reviewed = reviewed or {}
    has_review = any(reviewed.get(row.file) for row in rows)
    with atomic_write(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        header = csv_header(class_names, extra_columns, has_review)
        writer.writerow([safe_cell(h) for h in header])
        for row in sorted(rows, key=lambda r: r.file):
            review = reviewed.get(row.file, "") if has_review else None
            writer.writerow(csv_row(row, len(class_names), review))
    return path
