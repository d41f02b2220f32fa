import numpy as np
import pytest
from datasets import make_dataset

from classifier import modelfile
from classifier.errors import Cancelled, SortscopeError
from classifier.keras_loop import balanced_class_weights
from classifier.progress import CancelToken
from classifier.scan import scan_dataset
from classifier.train import train, validate_config
from classifier.types import TrainConfig

FAST = TrainConfig(backbone="tiny_test", epochs=12, learning_rate=0.01, batch_size=16)


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    root = tmp_path_factory.mktemp("train-data")
    return scan_dataset(make_dataset(root, per_class=30))


def test_training_learns_and_reports_every_epoch(scan):
    epochs = []
    outcome = train(scan, FAST, on_epoch=epochs.append)
    assert [e.epoch for e in epochs] == list(range(1, len(epochs) + 1))
    assert outcome.history == epochs
    assert all(e.val_loss is not None and e.seconds >= 0 for e in epochs)
    assert epochs[-1].loss < epochs[0].loss
    ev = outcome.evaluation
    assert ev.n_images >= 9
    assert ev.accuracy >= 0.9 > ev.baseline_accuracy
    assert ev.classes == ("Blue Sky", "Red", "green")
    meta = outcome.model.metadata
    assert meta["training"]["epochs"] == 12 and meta["training"]["backbone"] == "tiny_test"
    assert meta["dataset"]["classes"] == {"Blue Sky": 30, "Red": 30, "green": 30}
    assert meta["test_metrics"]["accuracy"] == ev.accuracy


def test_same_data_and_seed_give_the_same_model(scan):
    a = train(scan, FAST)
    b = train(scan, FAST)
    for wa, wb in zip(a.model.head.get_weights(), b.model.head.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert [h.loss for h in a.history] == [h.loss for h in b.history]
    c = train(scan, TrainConfig(**{**FAST.__dict__, "seed": 7}))
    assert not np.array_equal(a.model.head.get_weights()[0], c.model.head.get_weights()[0])


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_other_optimizers_and_a_hidden_layer(scan, optimizer):
    config = TrainConfig(**{**FAST.__dict__, "optimizer": optimizer, "hidden_units": 16})
    outcome = train(scan, config)
    assert outcome.evaluation.accuracy > 0.6
    assert outcome.model.head.get_layer("hidden").units == 16


def test_early_stopping_restores_the_best_epoch(scan):
    config = TrainConfig(**{**FAST.__dict__, "epochs": 200, "learning_rate": 0.3, "patience": 2})
    outcome = train(scan, config)
    assert outcome.stopped_early and len(outcome.history) < 200
    best = min(outcome.history, key=lambda h: h.val_loss)
    assert outcome.best_epoch == best.epoch


def test_cancel_during_training_leaves_the_old_model_untouched(scan, tmp_path):
    saved = modelfile.save_model(train(scan, FAST).model, tmp_path / "old.sortscope")
    before = saved.read_bytes()
    token = CancelToken()

    def cancel_at_epoch_2(stats):
        if stats.epoch == 2:
            token.cancel()

    seen = []
    with pytest.raises(Cancelled):
        train(
            scan,
            TrainConfig(**{**FAST.__dict__, "epochs": 50}),
            on_epoch=lambda s: (seen.append(s), cancel_at_epoch_2(s)),
            cancel=token,
        )
    assert len(seen) <= 3  # honoured within one epoch
    assert saved.read_bytes() == before


def test_class_weights_balance_rare_classes():
    y = np.array([0] * 90 + [1] * 10)
    weights = balanced_class_weights(y, 2)
    assert weights[1] == pytest.approx(9 * weights[0])
    assert weights[0] * 90 == pytest.approx(weights[1] * 10)


@pytest.mark.parametrize(
    "bad",
    [
        {"epochs": 0},
        {"learning_rate": 0},
        {"optimizer": "adagrad"},
        {"dropout": 1.0},
        {"batch_size": 0},
    ],
)
def test_invalid_settings_are_rejected_in_words(bad):
    with pytest.raises(SortscopeError):
        validate_config(TrainConfig(**{**FAST.__dict__, **bad}))


def test_unusable_dataset_is_refused(tmp_path):
    scan = scan_dataset(make_dataset(tmp_path, per_class=5, classes={"one": (1, 2, 3)}))
    with pytest.raises(SortscopeError, match="at least two"):
        train(scan, FAST)


def test_one_image_classes_are_explained_in_a_bounded_message(tmp_path):
    from datasets import CLASS_COLOURS, noisy_image

    rng = np.random.default_rng(3)
    make_dataset(tmp_path, per_class=6)
    for i in range(300):  # one image each: some hash into validation or test
        folder = tmp_path / f"class {i:04d}"
        folder.mkdir()
        noisy_image(rng, CLASS_COLOURS["Red"], size=(8, 8)).save(folder / f"only_{i}.png")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    (tmp_path / "broken" / "y.png").write_bytes(b"")
    scan = scan_dataset(tmp_path)
    with pytest.raises(SortscopeError) as info:
        train(scan, TrainConfig(backbone="tiny_test", epochs=1))
    what = info.value.what
    assert "have no image left for training" in what and "were read" in what
    assert "could be read" not in what  # the broken class has no usable image: not a class
    assert " more" in what and len(what) + len(info.value.todo) < 700
    assert "--test-percent 0" in info.value.todo


def test_unreadable_classes_are_told_apart_from_held_out_ones():
    from classifier.training_data import _no_training_images

    error = _no_training_images(["a", "b", "c"], read={"a"})
    assert "'a'" in error.what and "were read" in error.what
    assert "No image could be read in 'b', 'c'." in error.what
    assert "Add readable images" in error.todo


def test_one_epoch_numbering_across_head_and_fine_tuning():
    """The log, the curves and the progress bar count the whole run's epochs: fine-tuning
    continues the head's numbering, and the bar never restarts at each epoch (#17.18)."""
    from classifier.keras_loop import RunLog
    from classifier.progress import FitStage
    from classifier.tf_runtime import keras

    k = keras()
    config = TrainConfig(epochs=3, fine_tune_blocks=1, fine_tune_epochs=2, early_stopping=False)
    stats, bars = [], []
    log = RunLog(config, on_epoch=stats.append, on_batch=bars.append)
    model = k.Sequential([k.Input((2,)), k.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.zeros((8, 2), dtype="float32"), np.array([0, 1] * 4)
    assert log.stage_progress(FitStage.HEAD, 3, "").total == 5
    for stage, epochs in ((FitStage.HEAD, 3), (FitStage.FINE_TUNE, 2)):
        callbacks = log.callbacks(stage, epochs, 0.01, has_val=False)
        model.fit(x, y, epochs=epochs, batch_size=4, verbose=0, callbacks=callbacks)
    assert [(s.epoch, s.epochs, s.stage) for s in stats] == [
        (1, 5, "head"), (2, 5, "head"), (3, 5, "head"), (4, 5, "fine-tune"), (5, 5, "fine-tune")
    ]  # fmt: skip
    assert {b.total for b in bars} == {5}
    done = [b.done for b in bars]
    assert done == sorted(done) and done[0] == 0 and done[-1] == 4  # epochs finished so far
    assert bars[-1].message == "epoch 5/5 (fine-tune)" and bars[0].message == "epoch 1/5"


def test_every_split_is_scored_and_mislabelled_images_are_found(tmp_path):
    """Training and validation images the final model gets wrong are listed, not only test
    images: a red image filed under 'green' shows up whatever split it fell in (#17.24)."""
    from datasets import noisy_image

    from classifier.evaluate import misclassified_images
    from classifier.types import Split

    root = make_dataset(tmp_path / "data", per_class=30)
    rng = np.random.default_rng(7)
    wrong = [root / "green" / f"filed_wrong_{i}.png" for i in range(4)]
    for path in wrong:
        noisy_image(rng, (200, 40, 40)).save(path)
    scan = scan_dataset(root)
    outcome = train(scan, FAST)
    assert set(outcome.splits) == set(Split)
    assert outcome.splits[Split.TEST] is outcome.evaluation
    assert sum(e.n_images for e in outcome.splits.values()) == len(scan.images)
    mistakes = misclassified_images(outcome.splits)
    found = {image.path: (split, image) for split, image in mistakes}
    assert set(wrong) <= set(found)
    for path in wrong:
        split, image = found[path]
        assert (image.true_label, image.predicted_label) == ("green", "Red")
        assert path in {i.path for i in outcome.splits[split].images}
    order = [split for split, _ in mistakes]
    assert order == sorted(order, key=list(Split).index)  # training first, then validation, test
