"""Stable train/validation/test split, decided per image by a hash of its path.

As in retrain.py, an image's split depends only on its own name, so adding images or moving the
whole dataset never reshuffles the existing ones. Improvements: the hash covers the path relative
to the class folder (so sub-folders count), names are never lower-cased, and everything after
`_nohash_` is ignored so near-copies (e.g. `star_nohash_1.png`, `star_nohash_2.png`) stay together.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable

from classifier.errors import DatasetError
from classifier.types import ImageRecord, Split, SplitConfig

_NOHASH = re.compile(r"_nohash_.*$")
_BUCKETS = 2**27 - 1
MIN_IMAGES_FOR_EVERY_SPLIT = 3  # one each for train, validation and test


def hash_percent(rel_path: str) -> float:
    """Where an image falls in [0, 100): a pure function of its path inside the class folder."""
    head, _, name = rel_path.rpartition("/")
    stem = _NOHASH.sub("", name)
    key = f"{head}/{stem}" if head else stem
    # surrogateescape: a name that is not UTF-8 hashes its own bytes (any other, unchanged).
    value = int(hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest(), 16)
    return (value % (_BUCKETS + 1)) * (100.0 / _BUCKETS)


def split_of(rel_path: str, config: SplitConfig) -> Split:
    percent = hash_percent(rel_path)
    if percent < config.validation_percent:
        return Split.VALIDATION
    if percent < config.validation_percent + config.test_percent:
        return Split.TEST
    return Split.TRAIN


def validate(config: SplitConfig) -> None:
    v, t = config.validation_percent, config.test_percent
    if v < 0 or t < 0 or v + t >= 100:
        raise DatasetError(
            f"Validation ({v:g}%) and test ({t:g}%) percentages must be zero or more and leave "
            "images for training.",
            "Use values such as 10 and 10.",
        )


SplitKey = tuple[str, str]  # (class name, path inside the class folder): unique per image


def split_key(record: ImageRecord) -> SplitKey:
    return record.class_name, record.rel_path


def assign_splits(records: Iterable[ImageRecord], config: SplitConfig) -> dict[SplitKey, Split]:
    """Split of every record, keyed by `split_key(record)`.

    Every class with at least three images gets at least one validation and one test image (when
    those percentages are above zero): the training image whose hash lies nearest the missing
    split's band moves there, which keeps the choice deterministic.
    """
    validate(config)
    by_class: dict[str, list[ImageRecord]] = defaultdict(list)
    for record in records:
        by_class[record.class_name].append(record)
    result: dict[SplitKey, Split] = {}
    for members in by_class.values():
        splits = {split_key(r): split_of(r.rel_path, config) for r in members}
        if len(members) >= MIN_IMAGES_FOR_EVERY_SPLIT:
            bands = (
                (Split.VALIDATION, config.validation_percent, 0.0),
                (Split.TEST, config.test_percent, config.validation_percent),
            )
            for split, width, start in bands:
                if width > 0 and split not in splits.values():
                    _move_nearest(members, splits, split, start + width / 2)
        result.update(splits)
    return result


def _move_nearest(members, splits, split: Split, centre: float) -> None:
    candidates = [r for r in members if splits[split_key(r)] == Split.TRAIN]
    if len(candidates) <= 1:  # never take the class's last training image
        return
    nearest = min(candidates, key=lambda r: (abs(hash_percent(r.rel_path) - centre), r.rel_path))
    splits[split_key(nearest)] = split


def split_counts(
    records: Iterable[ImageRecord], splits: dict[SplitKey, Split]
) -> dict[str, dict[Split, int]]:
    """Per class: how many images each split holds."""
    counts: dict[str, dict[Split, int]] = defaultdict(lambda: {s: 0 for s in Split})
    for record in records:
        counts[record.class_name][splits[split_key(record)]] += 1
    return dict(counts)
