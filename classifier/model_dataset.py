"""The images a model was trained on, found again from what its file records.

A model file records its dataset's folder and split percentages; an image's split is a pure
function of its path (classifier/split.py), so the training and test images are recovered
exactly, as long as the folder is still there. Exports calibrate on them, reports show them.
"""

from __future__ import annotations

from pathlib import Path

from classifier.errors import SortscopeError
from classifier.modelfile import SortscopeModel
from classifier.progress import ProgressCallback
from classifier.types import ImageRecord, Split


class DatasetGone(SortscopeError):
    """The dataset a model records is not where it was."""


def dataset_root(model: SortscopeModel) -> Path | None:
    dataset = model.info.run.dataset
    return Path(dataset.root) if dataset and dataset.root else None


def recorded_split(
    model: SortscopeModel, split: Split, progress: ProgressCallback | None = None
) -> list[ImageRecord]:
    """The images of one split of the model's dataset, of the classes the model knows, in
    path order. Raises DatasetGone when the folder no longer exists."""
    from classifier.scan import scan_dataset
    from classifier.split import assign_splits, split_key

    root = dataset_root(model)
    if root is None or not root.is_dir():
        raise DatasetGone(
            f"The images this model was trained on are no longer at {root or '(not recorded)'}.",
            "Put the dataset folder back where it was, or do without the step that needs it.",
        )
    scan = scan_dataset(root, progress=progress, hdu=model.preprocessing.hdu)
    known = [r for r in scan.images if r.class_name in model.class_names]
    splits = assign_splits(known, model.info.run.config.split)
    return sorted((r for r in known if splits[split_key(r)] == split), key=lambda r: str(r.path))


def spread(records: list[ImageRecord], count: int) -> list[ImageRecord]:
    """At most `count` records taken evenly across the list (so every class is represented)."""
    if len(records) <= count:
        return list(records)
    step = len(records) / count
    return [records[int(i * step)] for i in range(count)]
