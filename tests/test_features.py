import os
import shutil

import numpy as np
import pytest
from datasets import make_dataset
from PIL import Image

from classifier import backbones, feature_cache, features
from classifier.errors import Cancelled
from classifier.feature_cache import FeatureCache
from classifier.progress import CancelToken
from classifier.scan import scan_dataset
from classifier.types import ProblemKind

TINY = backbones.get_backbone("tiny_test")


@pytest.fixture
def dataset(tmp_path):
    return scan_dataset(make_dataset(tmp_path / "data", per_class=20))


def _files(scan):
    return [r.path for r in scan.images], [r.digest for r in scan.images]


def test_second_pass_runs_the_backbone_on_zero_images(dataset, monkeypatch):
    files, digests = _files(dataset)
    first = features.extract_features(files, TINY, digests=digests, batch_size=16)
    assert first.stats.computed == 60 and first.stats.from_cache == 0
    assert first.ok.all() and first.features.shape == (60, 192)

    def must_not_load(_):
        raise AssertionError("backbone used although every feature is cached")

    monkeypatch.setattr(features, "load_engine", must_not_load)
    again = features.extract_features(files, TINY, digests=digests)
    assert again.stats.computed == 0 and again.stats.from_cache == 60
    np.testing.assert_array_equal(again.features, first.features)
    # Without digests (as when classifying a folder) the files are hashed, still not decoded.
    unknown = features.extract_features(files, TINY)
    assert unknown.stats.computed == 0
    assert list(unknown.digests) == digests


def test_features_match_the_backbone_and_are_stored_compactly(dataset):
    files, digests = _files(dataset)
    result = features.extract_features(files[:5], TINY, digests=digests[:5])
    model = backbones.load_feature_model(TINY)
    pixels = np.stack([features.images.load_for_model(f, 32)[0] for f in files[:5]])
    direct = np.asarray(model.predict_on_batch(pixels.astype(np.float32)))
    np.testing.assert_allclose(result.features, direct, atol=2e-3)  # float16 storage
    shard = next(features.open_cache(TINY).folder.glob("shard-*.npy"))
    assert np.load(shard, allow_pickle=False).dtype["features"].base == np.float16


def test_changed_image_is_recomputed_moved_image_is_not(dataset, tmp_path):
    files, digests = _files(dataset)
    features.extract_features(files, TINY, digests=digests)
    moved = tmp_path / "elsewhere" / "renamed.png"
    moved.parent.mkdir()
    shutil.move(files[0], moved)
    Image.new("RGB", (40, 40), (1, 250, 1)).save(files[1])
    result = features.extract_features([moved, files[1]], TINY)
    assert result.stats.from_cache == 1 and result.stats.computed == 1


def test_bad_files_become_problems_and_the_rest_continue(dataset, tmp_path):
    files, _ = _files(dataset)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff garbage")
    missing = tmp_path / "gone.png"
    result = features.extract_features([files[0], broken, missing, files[1]], TINY)
    assert result.ok.tolist() == [True, False, False, True]
    assert result.errors[1].kind == ProblemKind.CORRUPT and result.errors[1].path == broken
    assert result.errors[2].kind == ProblemKind.UNREADABLE
    assert not result.features[1].any()


def test_cancel_keeps_finished_batches(dataset):
    files, digests = _files(dataset)
    token = CancelToken()

    def cancel_after_first_batch(p):
        if p.done >= 8:
            token.cancel()

    with pytest.raises(Cancelled):
        features.extract_features(
            files,
            TINY,
            digests=digests,
            batch_size=8,
            progress=cancel_after_first_batch,
            cancel=token,
        )
    cache = features.open_cache(TINY)
    kept = sum(d in cache for d in digests)
    assert 8 <= kept < 60
    folder = features.open_cache(TINY).folder
    assert not [p for p in os.listdir(folder) if p.endswith(".tmp")]
    rerun = features.extract_features(files, TINY, digests=digests)
    assert rerun.stats.from_cache == kept and rerun.stats.computed == 60 - kept


def test_progress_reports_done_total_and_rate(dataset):
    files, digests = _files(dataset)
    reports = []
    features.extract_features(files, TINY, digests=digests, batch_size=10, progress=reports.append)
    assert reports[-1].done == reports[-1].total == 60
    assert any(r.rate > 0 for r in reports)
    assert [r.done for r in reports] == sorted(r.done for r in reports)


def test_cache_merges_shards_and_ignores_foreign_files(tmp_path):
    cache = FeatureCache(tmp_path, 4)
    rng = np.random.default_rng(0)
    digests = [f"{i:032x}" for i in range(70)]
    vectors = rng.normal(size=(70, 4)).astype(np.float32)
    for i in range(70):
        cache.put_many([digests[i]], vectors[i : i + 1])
    cache.merge_small_shards()
    assert len(list(tmp_path.glob("shard-*.npy"))) == 1
    (tmp_path / "shard-garbage.npy").write_bytes(b"not numpy")
    reopened = FeatureCache(tmp_path, 4)
    assert len(reopened) == 70
    np.testing.assert_allclose(reopened.get(digests[42]), vectors[42], atol=1e-2)
    assert FeatureCache(tmp_path, 8).get(digests[0]) is None  # other feature size: no reuse


def test_a_long_run_leaves_few_shards_and_loses_nothing(dataset, monkeypatch):
    """A million-file folder must not leave a shard (and a memory map) per chunk."""
    files, digests = _files(dataset)
    monkeypatch.setattr(features, "SAVE_EVERY_ROWS", 4)  # a shard every chunk or so
    monkeypatch.setattr(feature_cache, "MERGE_ABOVE_SHARDS", 3)
    result = features.extract_features(files, TINY, digests=digests)
    assert result.stats.computed == 60
    folder = features.open_cache(TINY).folder
    assert len(list(folder.glob("shard-*.npy"))) == 1  # small shards merged during and after
    reopened = features.open_cache(TINY)
    assert len(reopened) == 60
    for row, digest in enumerate(digests):
        np.testing.assert_array_equal(reopened.get(digest), result.features[row])


def test_merging_leaves_large_shards_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(feature_cache, "SMALL_SHARD_ROWS", 10)
    cache = FeatureCache(tmp_path, 4)
    vectors = np.arange(23 * 4, dtype=np.float32).reshape(23, 4)
    cache.put_many([f"{i:032x}" for i in range(20)], vectors[:20])  # large
    large = set(tmp_path.glob("shard-*.npy"))
    for i in range(20, 23):
        cache.put_many([f"{i:032x}"], vectors[i : i + 1])
    cache.merge_small_shards()
    shards = set(tmp_path.glob("shard-*.npy"))
    assert large < shards and len(shards) == 2
    reopened = FeatureCache(tmp_path, 4)
    assert len(reopened) == 23
    np.testing.assert_array_equal(reopened.get(f"{22:032x}"), vectors[22])


def test_stats_say_where_the_time_went(dataset):
    files, digests = _files(dataset)
    stats = features.extract_features(files, TINY, digests=digests, workers=2).stats
    assert stats.workers == 2 and stats.engine
    assert stats.read_seconds > 0 and stats.decode_seconds > 0 and stats.inference_seconds > 0
    line = stats.breakdown()
    assert "for 60 images" in line and "decoding" in line and "limited by" in line
    again = features.extract_features(files, TINY, digests=digests).stats.breakdown()
    assert "60 from the cache" in again and "limited by" not in again


def test_files_still_to_compute_are_read_ahead_cached_ones_are_not(dataset, monkeypatch):
    files, digests = _files(dataset)
    features.extract_features(files[:20], TINY, digests=digests[:20])
    asked = []
    real = features.images.read_ahead
    monkeypatch.setattr(features.images, "read_ahead", lambda paths: asked.extend(paths))
    features.extract_features(files, TINY, digests=digests)
    assert sorted(asked) == sorted(files[20:])
    real([files[0], files[0].parent / "gone.png"])  # a vanished file is not an error here


def test_a_warm_run_of_unknown_digests_stops_reading_ahead(dataset, monkeypatch):
    files, _ = _files(dataset)
    features.extract_features(files, TINY, workers=1)
    asked = []
    monkeypatch.setattr(features.images, "read_ahead", lambda paths: asked.extend(paths))
    again = features.extract_features(files, TINY, workers=1)
    assert again.stats.from_cache == len(files) == 60
    # The first chunks (before two came back whole from the cache), not every file.
    assert asked == files[: 3 * features.TASK_FILES]


def test_an_engine_that_cannot_load_fails_the_run_once_not_per_worker(dataset, monkeypatch):
    files, digests = _files(dataset)
    attempts = []

    def broken(backbone, on_status=None):
        attempts.append(backbone.name)
        raise RuntimeError("no engine here")

    monkeypatch.setattr(features, "load_engine", broken)
    with pytest.raises(RuntimeError, match="no engine here"):
        features.extract_features(files, TINY, digests=digests, workers=2)
    assert attempts == ["tiny_test"]


def test_stats_keep_why_the_fast_engine_fell_back_to_keras(dataset, keras_fallback):
    files, digests = _files(dataset)
    stats = features.extract_features(files, TINY, digests=digests).stats
    assert stats.engine_fallback == keras_fallback
    assert (
        stats.engine_text() == f"keras engine (the fast engine could not be used: {keras_fallback})"
    )
    assert features.extract_features(files[:1], TINY).stats.engine_text() == ""  # all cached
