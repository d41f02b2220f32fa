import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from datasets import make_dataset

from classifier.errors import DatasetError
from classifier.scan import scan_dataset
from classifier.split import assign_splits, hash_percent, split_counts, split_key, split_of
from classifier.types import ImageRecord, Split, SplitConfig


def record(rel: str, cls: str = "a") -> ImageRecord:
    return ImageRecord(Path("/data") / cls / rel, cls, rel, "0" * 32, 1, 1, 1, "RGB", "PNG")


def by_rel(records, splits):
    return {r.rel_path: splits[split_key(r)] for r in records}


def test_split_is_stable_when_images_are_added_or_the_dataset_moves():
    config = SplitConfig(10, 10)
    first = [record(f"img_{i}.png") for i in range(200)]
    before = by_rel(first, assign_splits(first, config))
    more = first + [record(f"new_{i}.png") for i in range(300)]
    after = by_rel(more, assign_splits(more, config))
    assert all(after[k] == v for k, v in before.items())
    moved = [replace(r, path=Path("/elsewhere/a") / r.rel_path) for r in first]
    assert by_rel(moved, assign_splits(moved, config)) == before


def test_percentages_are_respected_roughly():
    records = [record(f"frame_{i:05d}.fits.png") for i in range(5000)]
    counts = split_counts(records, assign_splits(records, SplitConfig(20, 5)))["a"]
    assert 900 < counts[Split.VALIDATION] < 1100
    assert 170 < counts[Split.TEST] < 330


def test_nohash_keeps_near_copies_together_and_case_matters():
    config = SplitConfig(30, 30)
    group = {split_of(f"sub/star_nohash_{i}.png", config) for i in range(20)}
    assert len(group) == 1
    assert hash_percent("sub/star_nohash_1.png") == hash_percent("sub/star_nohash_other.jpg")
    assert hash_percent("Star.png") != hash_percent("star.png")
    assert hash_percent("a/x.png") != hash_percent("b/x.png")


def test_every_class_with_enough_images_gets_validation_and_test():
    for n in (3, 4, 5, 8):
        records = [record(f"i{i}.png", "tiny") for i in range(n)]
        counts = split_counts(records, assign_splits(records, SplitConfig(10, 10)))["tiny"]
        assert counts[Split.VALIDATION] >= 1 and counts[Split.TEST] >= 1
        assert counts[Split.TRAIN] >= 1
    two = [record(f"i{i}.png", "pair") for i in range(2)]
    assert split_counts(two, assign_splits(two, SplitConfig(10, 10)))["pair"][Split.TRAIN] >= 1
    none = [record(f"i{i}.png") for i in range(10)]
    counts = split_counts(none, assign_splits(none, SplitConfig(0, 0)))["a"]
    assert counts == {Split.TRAIN: 10, Split.VALIDATION: 0, Split.TEST: 0}


@pytest.mark.parametrize("bad", [SplitConfig(-1, 10), SplitConfig(60, 40), SplitConfig(10, 95)])
def test_invalid_percentages_are_a_clear_error(bad):
    with pytest.raises(DatasetError):
        assign_splits([record("x.png")], bad)


def test_split_of_a_real_scan_survives_copying_the_dataset(tmp_path):
    make_dataset(tmp_path / "one", per_class=30)
    shutil.copytree(tmp_path / "one", tmp_path / "two")
    config = SplitConfig()
    a = scan_dataset(tmp_path / "one")
    b = scan_dataset(tmp_path / "two")
    assert by_rel(a.images, assign_splits(a.images, config)) == by_rel(
        b.images, assign_splits(b.images, config)
    )


def test_names_that_are_not_utf8_hash_their_own_bytes():
    import os

    name = os.fsdecode(b"bad\xff\xfe.png")
    assert 0 <= hash_percent(name) < 100
    assert hash_percent("plain.png") == hash_percent(os.fsdecode(b"plain.png"))
