"""Reading a results CSV back: the rows whose chosen column names a class, as items to add,
or every row as a Prediction (to sort the files again).

For people who review in a spreadsheet (`sortscope add`): the CSV is the one classify and the
app write, perhaps with a `reviewed_label` column filled in by hand. File names are unescaped
(classifier.filenames), so a name that is not UTF-8 leads to the very file again.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from classifier import filenames
from classifier.dataset_add import NONE_LABEL, AddItem
from classifier.errors import SortscopeError
from classifier.export import plain_cell
from classifier.predict import UNCERTAIN
from classifier.types import Prediction

# Values of the chosen column that name no class: nothing to add for those rows.
NOT_A_CLASS = ("", NONE_LABEL, UNCERTAIN)


@dataclass(frozen=True)
class CsvSelection:
    """The rows of a results CSV that name a class, as items to add."""

    items: tuple[AddItem, ...]
    skipped: dict[str, int]  # why rows were skipped -> how many


def items_from_csv(
    csv_path: str | Path, images_folder: str | Path, column: str = "reviewed_label"
) -> CsvSelection:
    """Rows of a results CSV whose `column` names a class; `file` is relative to
    `images_folder`, as classify writes it. Rows with an error, or whose value is empty,
    `none` or `uncertain`, are skipped, and so is a `file` that would lead outside the folder."""
    csv_path, folder = Path(csv_path), Path(images_folder)
    if not folder.is_dir():
        raise SortscopeError(
            f"The images folder {folder} does not exist.",
            "Give the folder that was classified (the CSV's file names are relative to it).",
        )
    table = _read_table(csv_path)
    header = table[0] if table else []
    for needed in ("file", column):
        if needed not in header:
            raise SortscopeError(
                f"The CSV {csv_path} has no '{needed}' column.",
                "Use a results CSV written by Sortscope; --column label accepts the "
                "predictions as they are.",
            )
    col = {name: i for i, name in enumerate(header)}
    items: list[AddItem] = []
    skipped: Counter[str] = Counter()
    for cells in table[1:]:
        cells = cells + [""] * (len(header) - len(cells))
        value = plain_cell(cells[col[column]]).strip()
        file = filenames.unescape(plain_cell(cells[col["file"]]))
        if "error" in col and cells[col["error"]].strip():
            skipped["error rows"] += 1
        elif value in NOT_A_CLASS:
            skipped[f"'{value}'" if value else "empty"] += 1
        elif not _inside(file):
            skipped["file outside the images folder"] += 1
        else:
            items.append(AddItem(folder / file, value))
    return CsvSelection(tuple(items), dict(skipped))


def read_results(csv_path: str | Path, images_folder: str | Path) -> list[Prediction]:
    """Every row of a results CSV as a Prediction whose `path` points into `images_folder`
    (the folder that was classified), so the files can be sorted (sorting.plan_sort) again."""
    csv_path, folder = Path(csv_path), Path(images_folder)
    table = _read_table(csv_path)
    header = table[0] if table else []
    if header[:3] != ["file", "label", "confidence"] or "error" not in header:
        raise SortscopeError(
            f"{csv_path} is not a Sortscope results file (its columns are not file, label, "
            "confidence, ..., error).",
            "Choose the CSV that 'classify' or Export CSV wrote.",
        )
    error_at = header.index("error")
    return [_prediction(cells, error_at, folder) for cells in table[1:] if cells]


def _prediction(cells: list[str], error_at: int, folder: Path) -> Prediction:
    cells = cells + [""] * (error_at + 1 - len(cells))
    file = filenames.unescape(plain_cell(cells[0]))
    label, error = plain_cell(cells[1]), plain_cell(cells[error_at])
    if not _inside(file):  # an edited CSV must not send a sort outside the folder
        error = error or "The file name leads outside the classified folder; it is not sorted."
    if error or not cells[2]:
        return Prediction(file, label, None, None, error, folder / file)
    probabilities = tuple(float(v) for v in cells[3:error_at])
    return Prediction(file, label, float(cells[2]), probabilities, "", folder / file)


def _inside(file: str) -> bool:
    parts = file.replace("\\", "/").split("/")
    return bool(file) and not os.path.isabs(file) and "\x00" not in file and ".." not in parts


def _read_table(path: Path) -> list[list[str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return list(csv.reader(f))
    except FileNotFoundError as exc:
        raise SortscopeError(f"The CSV file {path} does not exist.", "Check the path.") from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SortscopeError(
            f"The CSV file {path} could not be read ({exc}).",
            "Use a results CSV written by Sortscope (UTF-8).",
        ) from exc
