"""The labelling loop end to end on the tiny backbone: classify, review, add, retrain, re-score."""

from dataclasses import replace

import numpy as np
import pytest
from datasets import CLASS_COLOURS, make_dataset, noisy_image

from classifier.dataset_add import AddItem, execute_add, plan_add
from classifier.errors import SortscopeError
from classifier.predict import classify_folder
from classifier.rescore import relabel, rescore
from classifier.retrain import (
    check_retrainable,
    retrain_with_corrections,
    trained_on,
)
from classifier.review import ReviewJournal, model_key
from classifier.scan import scan_dataset
from classifier.train import train
from classifier.types import TrainConfig

FAST = TrainConfig(backbone="tiny_test", epochs=15, learning_rate=0.02, batch_size=16)
# A kind of "Blue Sky" image the first dataset never showed: the first model calls it Red.
PURPLE = (185, 40, 150)


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    """A weak first model, a night of purple images reviewed as Blue Sky and added."""
    base = tmp_path_factory.mktemp("loop")
    data = make_dataset(base / "data", per_class=20)
    cache = base / "cache"  # the tests' own cache folders change per test: one for the module
    old = train(scan_dataset(data), FAST, cache_dir=cache).model
    rng = np.random.default_rng(3)
    night = base / "night"
    night.mkdir()
    for i in range(40):
        noisy_image(rng, PURPLE).save(night / f"purple_{i:02d}.png")
    for i in range(4):
        noisy_image(rng, CLASS_COLOURS["green"]).save(night / f"green_{i}.png")
    result = classify_folder(night, old, cache_dir=cache)
    journal = ReviewJournal.open(night, model_key(old))
    for row in result.rows:
        journal.decide(row.digest, row.file, "Blue Sky" if "purple" in row.file else "green")
    decisions = {d.digest: d.label for d in journal.decisions()}
    items = [AddItem(r.path, decisions[r.digest], r.digest) for r in result.rows]
    execute_add(plan_add(items, data))
    return old, result, decisions, data, cache


def test_the_first_model_is_weak_on_the_new_kind_of_image(loop):
    _, result, _, _, _ = loop
    purple = [r for r in result.rows if "purple" in r.file]
    assert sum(r.label == "Blue Sky" for r in purple) <= len(purple) // 4


def test_retraining_with_corrections_improves_the_score_on_the_same_test_images(loop):
    old, _, decisions, data, cache = loop
    assert trained_on(old.info) == data
    assert old.info.run.config == FAST
    epochs = []
    result = retrain_with_corrections(old, decisions, on_epoch=epochs.append, cache_dir=cache)
    outcome = result.outcome
    # Every image's features were cached (the night was classified): nothing went through
    # the network again.
    assert outcome.extraction.computed == 0 and outcome.extraction.from_cache == 104
    assert outcome.model.metadata["training"] == old.metadata["training"]
    assert len(epochs) >= 1
    old_score, new_score = result.old_score, result.new_score
    assert old_score.n_images == new_score.n_images == outcome.evaluation.n_images
    assert [i.path for i in old_score.images] == [i.path for i in new_score.images]
    assert new_score.accuracy == pytest.approx(outcome.evaluation.accuracy, abs=1e-6)
    assert new_score.accuracy > old_score.accuracy
    assert result.corrected >= 30  # the purple images the old model called something else
    assert result.corrected_accuracy >= 0.9
    assert "before" in result.text() and f"{result.corrected} reviewed images" in result.text()


def test_rescoring_from_the_cache_matches_classifying_again(loop):
    old, result, decisions, _, cache = loop
    new = retrain_with_corrections(old, decisions, cache_dir=cache).outcome.model
    p, found = rescore(result.rows, new, cache)
    assert found.all()
    again = classify_folder(result.folder, new, cache_dir=cache)
    expected = np.array([r.probabilities for r in again.rows])
    assert np.allclose(p, expected, atol=1e-5)
    rows = relabel(result.rows, p, new.class_names)
    assert [r.label for r in rows] == [r.label for r in again.rows]
    assert sum(r.label == "Blue Sky" for r in rows if "purple" in r.file) >= 36
    assert rows[0].digest == result.rows[0].digest and rows[0].path == result.rows[0].path


def test_rows_without_cached_features_keep_their_old_result(loop):
    old, result, _, _, cache = loop
    rows = [replace(result.rows[0], digest="0" * 32), result.rows[1]]
    p, found = rescore(rows, old, cache)
    assert found.tolist() == [False, True] and np.isnan(p[0]).all()
    assert relabel(rows, p, old.class_names)[0] is rows[0]


def test_models_trained_from_images_cannot_retrain_in_seconds():
    for config in (TrainConfig(model_type="small_cnn"), TrainConfig(fine_tune_blocks=2)):
        with pytest.raises(SortscopeError, match="Train area"):
            check_retrainable(config)
    check_retrainable(TrainConfig(model_type="mlp"))
