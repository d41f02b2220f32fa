"""The data a training run learns from: every usable image's features and label, by split.

Features come from the backbone's cache (computed once per image); training images also get
their augmented copies when asked. The head's training arrays add those copies and, when asked,
oversample the rare classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.backbones import Backbone, fast, get_backbone
from classifier.errors import DatasetError
from classifier.features import extract_features, open_cache
from classifier.keras_loop import oversample_indices
from classifier.progress import CancelToken, ProgressCallback
from classifier.split import assign_splits, split_key
from classifier.types import ExtractionStats, Problem, ScanResult, Split, TrainConfig


@dataclass
class SplitData:
    x: np.ndarray
    y: np.ndarray
    paths: list[Path]
    augmented: np.ndarray | None = None  # (m, copies, dim): augmented copies' features
    augmented_y: np.ndarray | None = None  # (m,): their labels


def feature_backbone(config: TrainConfig) -> Backbone:
    """The network whose cached features the head learns from (its int8 copy when asked)."""
    backbone = get_backbone("pixels_32" if config.model_type == "mlp" else config.backbone)
    return fast(backbone) if config.int8 else backbone


def _names(names: list[str], at_most: int = 5) -> str:
    """'a', 'b', 'c' and 1,997 more: a bounded line however many classes there are."""
    shown = ", ".join(f"'{n}'" for n in names[:at_most])
    return shown if len(names) <= at_most else f"{shown} and {len(names) - at_most:,} more"


def _no_training_images(missing: list[str], read: set[str]) -> DatasetError:
    """Why some classes have nothing to train on: unreadable, or all held out."""
    held_out = [c for c in missing if c in read]
    unreadable = [c for c in missing if c not in read]
    parts, todo = [], []
    if held_out:
        parts.append(
            f"{len(held_out):,} class(es) have no image left for training: "
            f"{_names(held_out)}. Their images were read, but with one or two images a class's "
            "images can all fall into the validation and test shares."
        )
        todo.append(
            "Give every class at least 3 images (one each for training, validation and test), "
            "or set the validation and test percentages to 0 to train on every image "
            "(--validation-percent 0 --test-percent 0, or Validation % and Test % in the window)."
        )
    if unreadable:
        parts.append(f"No image could be read in {_names(unreadable)}.")
        todo.append("Add readable images to those classes or remove their folders.")
    return DatasetError(" ".join(parts), " ".join(todo))


def gather_splits(
    scan: ScanResult,
    config: TrainConfig,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    cache_dir: str | Path | None = None,
) -> tuple[dict[Split, SplitData], list[Problem], ExtractionStats]:
    """Features and labels of every usable image, grouped by split; training images also get
    their augmented copies when `config` asks for them. `scan` must be usable. The stats are
    those of the images themselves (augmented copies not counted)."""
    backbone = feature_backbone(config)
    prep = config.preprocessing
    cache = open_cache(backbone, cache_dir, prep)
    splits = assign_splits(scan.images, config.split)
    records = list(scan.images)
    result = extract_features(
        [r.path for r in records],
        backbone,
        cache=cache,
        digests=[r.digest for r in records],
        progress=progress,
        cancel=cancel,
        max_pixels=scan.max_pixels,
        prep=prep,
    )
    index = {name: i for i, name in enumerate(scan.classes)}
    grouped: dict[Split, SplitData] = {}
    rows_of: dict[Split, list[int]] = {}
    for split in Split:
        rows = [i for i, r in enumerate(records) if result.ok[i] and splits[split_key(r)] == split]
        rows_of[split] = rows
        grouped[split] = SplitData(
            result.features[rows],
            np.array([index[records[i].class_name] for i in rows], dtype=np.int64),
            [records[i].path for i in rows],
        )
    missing = [c for c, i in index.items() if not (grouped[Split.TRAIN].y == i).any()]
    if missing:
        read = {records[i].class_name for i in range(len(records)) if result.ok[i]}
        raise _no_training_images(missing, read)
    if config.variants is not None:
        train_rows = rows_of[Split.TRAIN]
        augmented = extract_features(
            [records[i].path for i in train_rows],
            backbone,
            cache=cache,
            digests=[result.digests[i] for i in train_rows],
            progress=progress,
            cancel=cancel,
            max_pixels=scan.max_pixels,
            prep=prep,
            variants=config.variants,
        )
        # A copy that failed (the file changed since) must not train as a zero vector.
        grouped[Split.TRAIN].augmented = augmented.features[augmented.ok]
        grouped[Split.TRAIN].augmented_y = grouped[Split.TRAIN].y[augmented.ok]
    return grouped, list(result.errors.values()), result.stats


def training_arrays(train: SplitData, n_classes: int, config: TrainConfig):
    """The head's training set: images, their augmented copies, oversampled if asked."""
    x, y = train.x, train.y
    if train.augmented is not None and train.augmented.size:
        copies = train.augmented.shape[1]
        x = np.concatenate([x, train.augmented.reshape(-1, x.shape[1])])
        y = np.concatenate([y, np.repeat(train.augmented_y, copies)])
    if config.oversample:
        rows = oversample_indices(y, n_classes, config.seed)
        x, y = x[rows], y[rows]
    return x, y
