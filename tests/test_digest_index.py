"""The digest index: unchanged files are not read again, anything else is hashed as before."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from datasets import make_dataset
from PIL import Image

from classifier import backbones, digest_index, features, images
from classifier.digest_index import DigestIndex
from classifier.export import write_csv
from classifier.predict import classify_folder
from classifier.scan import scan_dataset
from classifier.train import train
from classifier.types import TrainConfig

TINY = backbones.get_backbone("tiny_test")
COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 20)]


@pytest.fixture
def files(tmp_path) -> list[Path]:
    """Uncompressed BMPs: every one has the same size in bytes, whatever its colour."""
    out = []
    for i, colour in enumerate(COLOURS):
        out.append(tmp_path / f"img{i}.bmp")
        Image.new("RGB", (24, 24), colour).save(out[-1])
    return out


@pytest.fixture
def reads(monkeypatch) -> list[Path]:
    """Every file whose bytes are read, in order."""
    seen: list[Path] = []
    real = images._read

    def counting(path, size, limit):
        seen.append(Path(path))
        return real(path, size, limit)

    monkeypatch.setattr(images, "_read", counting)
    return seen


@pytest.fixture
def not_racy(monkeypatch):
    """Files made a moment ago count as settled (the racy rule is tested on its own)."""
    monkeypatch.setattr(digest_index, "RACY_NS", 0)


def _index_path() -> Path:
    return features.open_cache(TINY).folder / digest_index.FILE_NAME


def test_an_unchanged_file_is_not_read_again(files, reads, not_racy):
    first = features.extract_features(files, TINY)
    assert sorted(reads) == sorted(files) and first.ok.all()
    reads.clear()
    again = features.extract_features(files, TINY)
    assert reads == []  # one stat each, no read
    assert again.digests == first.digests and again.stats.from_cache == len(files)
    np.testing.assert_array_equal(again.features, first.features)


def test_results_are_the_same_without_the_index(files, not_racy, monkeypatch):
    features.extract_features(files, TINY)
    with_index = features.extract_features(files, TINY)
    monkeypatch.setattr(DigestIndex, "lookup", lambda self, paths: [None] * len(paths))
    without = features.extract_features(files, TINY)
    assert with_index.digests == without.digests
    np.testing.assert_array_equal(with_index.features, without.features)


def test_content_changed_with_size_and_mtime_put_back_is_hashed_again(files, reads, not_racy):
    first = features.extract_features(files, TINY)
    time.sleep(0.05)  # past the kernel's timestamp tick, so the rewrite moves ctime
    target, donor = files[0], files[2]
    before = os.stat(target)
    target.write_bytes(donor.read_bytes())  # same size, different pixels, same inode
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(target)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    reads.clear()
    again = features.extract_features(files, TINY)
    assert reads == [target]  # ctime changed: read and hashed; the others are trusted
    assert again.digests[0] == first.digests[2] != first.digests[0]
    np.testing.assert_array_equal(again.features[0], first.features[2])


def test_a_racy_entry_is_hashed_again(files, reads, tmp_path):
    # Just written: mtime is not clearly older than the moment of recording.
    features.extract_features(files, TINY)
    reads.clear()
    features.extract_features(files, TINY)
    assert sorted(reads) == sorted(files)
    # Directly: a stat as recent as now is never recorded, an old one is.
    index = DigestIndex(tmp_path / "index")
    info = os.stat(files[0])
    index.record([(files[0], info, "ab" * 16)])
    assert index.lookup([files[0]]) == [None]
    old = time.time_ns() - 2 * digest_index.RACY_NS
    os.utime(files[0], ns=(old, old))
    index.record([(files[0], os.stat(files[0]), "ab" * 16)])  # its ctime is still now
    assert index.lookup([files[0]]) == [None]


def test_a_damaged_index_is_ignored_and_replaced(files, reads, not_racy):
    first = features.extract_features(files, TINY)
    path = _index_path()
    assert path.is_file()
    path.write_bytes(b"this is not a database" * 100)
    reads.clear()
    again = features.extract_features(files, TINY)
    assert sorted(reads) == sorted(files)  # as if there were no index
    assert again.digests == first.digests and again.ok.all()
    assert again.stats.cache_warning == ""  # replaced, nothing to tell
    reads.clear()
    features.extract_features(files, TINY)
    assert reads == []


def test_an_unusable_index_warns_once_and_changes_nothing(files, reads, not_racy):
    first = features.extract_features(files, TINY)
    path = _index_path()
    path.unlink()
    path.mkdir()  # neither openable nor removable as a file
    again = features.extract_features(files, TINY)
    assert again.digests == first.digests and again.ok.all()
    assert "digest index" in again.stats.cache_warning
    np.testing.assert_array_equal(again.features, first.features)


def test_a_moved_or_replaced_file_is_not_trusted(files, reads, not_racy, tmp_path):
    features.extract_features(files, TINY)
    moved = tmp_path / "moved.bmp"
    files[1].rename(moved)
    files[3].rename(files[1])  # another inode at a known path
    reads.clear()
    result = features.extract_features([moved, files[1]], TINY)
    assert sorted(reads) == sorted([moved, files[1]])
    assert result.ok.all()


def test_the_index_stays_bounded_dropping_its_oldest_entries(
    files, tmp_path, not_racy, monkeypatch
):
    monkeypatch.setattr(digest_index, "MAX_BYTES", 0)  # over the limit after every write
    index = DigestIndex(tmp_path / "index")
    info = os.stat(files[0])
    index.record([(tmp_path / f"old{i}", info, f"{i:032x}") for i in range(100)])
    index.record([(tmp_path / f"new{i}", info, f"{i:032x}") for i in range(100)])
    db = index._connect(create=False)
    assert db.execute("SELECT count(*) FROM files").fetchone()[0] == 75
    held = {key for (key,) in db.execute("SELECT key FROM files")}
    assert not held & {digest_index._key(tmp_path / f"old{i}") for i in range(100)}


def test_classify_writes_the_same_csv_bytes_with_and_without_the_index(
    files, reads, not_racy, tmp_path, monkeypatch
):
    scan = scan_dataset(make_dataset(tmp_path / "data", per_class=6))
    model = train(scan, TrainConfig(backbone="tiny_test", epochs=2)).model
    folder = files[0].parent
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    csvs = []
    for run in ("cold", "warm"):
        reads.clear()
        result = classify_folder(folder, model)
        csvs.append(write_csv(result.rows, model.class_names, tmp_path / f"{run}.csv"))
    assert reads == [folder / "broken.png"]  # a failed file has no digest to remember
    monkeypatch.setattr(DigestIndex, "lookup", lambda self, paths: [None] * len(paths))
    result = classify_folder(folder, model)
    csvs.append(write_csv(result.rows, model.class_names, tmp_path / "without.csv"))
    assert csvs[0].read_bytes() == csvs[1].read_bytes() == csvs[2].read_bytes()
