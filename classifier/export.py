"""Results as CSV: the columns other tools rely on, written atomically and spreadsheet-safe."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from classifier.atomic import atomic_write
from classifier.types import Prediction

# A spreadsheet runs cells starting with these as formulas; a leading quote keeps them text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_header(class_names: Sequence[str], extra_columns: Sequence[str] = ()) -> list[str]:
    return [
        "file",
        "label",
        "confidence",
        *(f"prob_{c}" for c in class_names),
        "error",
        *extra_columns,
    ]


def csv_row(row: Prediction, n_classes: int) -> list[str]:
    if row.probabilities is None:
        numbers = [""] * (n_classes + 1)
    else:
        numbers = [f"{row.confidence:.6f}", *(f"{p:.6f}" for p in row.probabilities)]
    extra = [safe_cell(value) for value in row.extra]
    return [safe_cell(row.file), safe_cell(row.label), *numbers, safe_cell(row.error), *extra]


def write_csv(
    rows: Sequence[Prediction],
    class_names: Sequence[str],
    path: str | Path,
    extra_columns: Sequence[str] = (),
) -> Path:
    """Columns: file, label, confidence, prob_<class>..., error, then any `extra_columns`
    (requested FITS header keywords, whose values each row carries); rows sorted by file."""
    path = Path(path)
    with atomic_write(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([safe_cell(h) for h in csv_header(class_names, extra_columns)])
        for row in sorted(rows, key=lambda r: r.file):
            writer.writerow(csv_row(row, len(class_names)))
    return path
