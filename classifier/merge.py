"""`sortscope merge`: the CSVs of a run's shards joined into the CSV a single run writes.

Each shard's CSV has a sidecar `OUT.csv.json` (classifier/batch.py) naming the model file's
SHA-256, the classes, the columns, the options and the shard K/N. Shards belong together when
all of that but K agrees, every K of 1..N is there once, and no file is in two of them. The
rows are copied cell for cell and sorted as `write_csv` sorts them, so the merged file is byte
for byte the CSV of one run over the whole folder.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from classifier import filenames
from classifier.atomic import atomic_write
from classifier.batch import read_sidecar, sidecar_path
from classifier.errors import SortscopeError
from classifier.export import check_destination, plain_cell

_SAME = ("model_sha256", "classes", "columns", "options")
_WHAT = {
    "model_sha256": "were made with different model files",
    "classes": "have different classes",
    "columns": "have different columns",
    "options": "were made with different options (folder, threshold, FITS keys, ...)",
}


class MergeError(SortscopeError):
    """The parts do not make one run's CSV."""


def _description(part: Path) -> dict:
    description = read_sidecar(sidecar_path(part))
    if description is None:
        raise MergeError(
            f"{part} has no shard description beside it ({sidecar_path(part).name}).",
            "Merge the CSVs that 'sortscope classify --shard K/N' wrote, with their .json files.",
        )
    return description


def _check_together(parts: Sequence[Path], descriptions: list[dict]) -> None:
    first = descriptions[0]
    for part, description in zip(parts[1:], descriptions[1:], strict=True):
        for key in _SAME:
            if description.get(key) != first.get(key):
                raise MergeError(
                    f"{parts[0]} and {part} {_WHAT[key]}: they are not shards of one run.",
                    "Merge only the shards of one classify command.",
                )
    count = first["shard"][1]
    seen: dict[int, Path] = {}
    for part, description in zip(parts, descriptions, strict=True):
        k, n = description["shard"]
        if n != count:
            raise MergeError(
                f"{parts[0]} is a shard of {count} but {part} one of {n}.",
                "Merge only the shards of one classify command.",
            )
        if k in seen:
            raise MergeError(
                f"{seen[k]} and {part} are both shard {k}/{n}.", "Give each shard once."
            )
        seen[k] = part
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise MergeError(
            f"Shard(s) {', '.join(f'{k}/{count}' for k in missing)} are missing.",
            "Run those shards (e.g. resubmit their job-array tasks) and merge all of them.",
        )


def _rows(part: Path, columns: list[str]) -> tuple[list[str], list[list[str]]]:
    """The header as written and the rows of one shard's CSV."""
    try:
        with open(part, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MergeError(f"{part} cannot be read ({exc}).", "Run that shard again.") from exc
    if not rows or [plain_cell(c) for c in rows[0]] != columns:
        raise MergeError(
            f"The columns of {part} are not those its description names.",
            "Run that shard again: the CSV was changed after it was written.",
        )
    return rows[0], rows[1:]


def merge_shards(parts: Sequence[str | Path], destination: str | Path) -> int:
    """Check that `parts` are all the shards of one run and write their CSV; the row count."""
    parts = [Path(p) for p in parts]
    destination = Path(destination)
    check_destination(destination, [*parts, *map(sidecar_path, parts)], probe=True)
    descriptions = [_description(part) for part in parts]
    _check_together(parts, descriptions)
    columns = descriptions[0]["columns"]
    header: list[str] = []
    owner: dict[str, Path] = {}
    keyed: list[tuple[str, list[str]]] = []
    for part in parts:
        header, rows = _rows(part, columns)
        for row in rows:
            key = filenames.unescape(plain_cell(row[0]))  # the order write_csv sorts by
            if key in owner:
                raise MergeError(
                    f"{row[0]} is in both {owner[key]} and {part}.",
                    "Merge only the shards of one classify command, each once.",
                )
            owner[key] = part
            keyed.append((key, row))
    keyed.sort(key=lambda item: item[0])
    with atomic_write(destination, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(row for _, row in keyed)
    return len(keyed)
