"""Augmentation into the cache, oversampling, schedules, TensorBoard, baselines, fine-tuning."""

import itertools

import numpy as np
import pytest
from datasets import CLASS_COLOURS, make_dataset, noisy_image
from PIL import Image

from classifier import end_to_end
from classifier.augment import Augmentation, Variants
from classifier.backbones import get_backbone, load_feature_model
from classifier.errors import SortscopeError
from classifier.features import extract_features, open_cache
from classifier.keras_loop import oversample_indices
from classifier.modelfile import load_model, save_model
from classifier.predict import classify_folder
from classifier.preprocessing import Preprocessing
from classifier.scan import scan_dataset
from classifier.split import assign_splits, split_key
from classifier.train import train, validate_config
from classifier.types import Split, TrainConfig

TINY = {"backbone": "tiny_test", "learning_rate": 0.02}


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    return scan_dataset(make_dataset(tmp_path_factory.mktemp("depth"), per_class=20))


def n_train(scan):
    splits = assign_splits(scan.images, TrainConfig().split)
    return sum(1 for r in scan.images if splits[split_key(r)] == Split.TRAIN)


def test_augmented_copies_are_deterministic_and_changed():
    image = noisy_image(np.random.default_rng(0), (200, 40, 40), (64, 48))
    variants = Variants(Augmentation(flips=True, rotate90=True, rotation=20, zoom=0.2,
                                     brightness=0.3, contrast=0.3), 4)  # fmt: skip
    first = [
        np.asarray(variants.augmentation.apply(image, variants.rng("d1", k))) for k in range(4)
    ]
    again = [
        np.asarray(variants.augmentation.apply(image, variants.rng("d1", k))) for k in range(4)
    ]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert all(a.shape == (48, 64, 3) for a in first)  # a 90-degree turn keeps the size
    assert not np.array_equal(first[0], first[1])
    assert len({variants.key("d1", k) for k in range(4)} | {variants.key("d2", 0)}) == 5
    other = Variants(Augmentation(flips=True), 4)
    assert other.key("d1", 0) != variants.key("d1", 0)  # other options: other cache rows


def test_augmentation_options_are_validated():
    with pytest.raises(SortscopeError, match="Zoom"):
        Augmentation(zoom=0.7)
    with pytest.raises(SortscopeError, match="no change"):
        validate_config(TrainConfig(augment_copies=2))
    with pytest.raises(SortscopeError, match="model type"):
        validate_config(TrainConfig(model_type="resnet"))
    with pytest.raises(SortscopeError, match="fine-tuning learning rate"):
        validate_config(TrainConfig(fine_tune_learning_rate=0.5))


def test_augmented_features_are_cached_for_training_images_only(scan):
    config = TrainConfig(**TINY, epochs=3, augment_copies=3, augment_flips=True,
                         augment_rotation=15)  # fmt: skip
    cache = open_cache(get_backbone("tiny_test"))
    before = len(cache)
    outcome = train(scan, config)
    added = len(open_cache(get_backbone("tiny_test"))) - before
    train_images = n_train(scan)
    assert added == len(scan.images) + 3 * train_images  # plain rows + copies of train only
    dataset = outcome.model.metadata["dataset"]
    assert dataset["training_rows"] == 4 * train_images
    assert outcome.model.metadata["training"]["augment_rotation"] == 15
    # A second run reuses every augmented copy: nothing new is computed.
    again = train(scan, config)
    assert len(open_cache(get_backbone("tiny_test"))) - before == added
    assert again.evaluation.accuracy == outcome.evaluation.accuracy


def test_variants_features_differ_from_the_plain_ones(scan):
    files = [r.path for r in scan.images[:3]]
    backbone = get_backbone("tiny_test")
    plain = extract_features(files, backbone).features
    variants = Variants(Augmentation(brightness=0.5), 2)
    augmented = extract_features(files, backbone, variants=variants)
    assert augmented.features.shape == (3, 2, backbone.feature_dim)
    assert not np.allclose(augmented.features[:, 0], plain, atol=1e-3)
    assert augmented.stats.total == 6


def test_oversampling_balances_classes(tmp_path):
    y = np.array([0] * 10 + [1] * 3 + [2] * 1)
    rows = oversample_indices(y, 3, seed=1)
    assert np.bincount(y[rows]).tolist() == [10, 10, 10]
    assert set(np.flatnonzero(y == 0)) <= set(rows)  # every original image stays
    assert np.array_equal(rows, oversample_indices(y, 3, seed=1))
    root = make_dataset(tmp_path, per_class={"Red": 40, "green": 10, "Blue Sky": 10})
    imbalanced = scan_dataset(root)
    outcome = train(imbalanced, TrainConfig(**TINY, epochs=2, oversample=True))
    splits = outcome.model.metadata["dataset"]["splits"]
    largest = max(v["train"] for v in splits.values())
    assert outcome.model.metadata["dataset"]["training_rows"] == 3 * largest


def test_cosine_schedule_and_tensorboard_scalars(scan, tmp_path):
    import tensorflow as tf

    config = TrainConfig(**TINY, epochs=6, early_stopping=False, lr_schedule="cosine",
                         tensorboard_dir=str(tmp_path / "tb"))  # fmt: skip
    outcome = train(scan, config)
    rates = [h.learning_rate for h in outcome.history]
    assert rates[0] == pytest.approx(0.02)
    assert all(a > b for a, b in itertools.pairwise(rates))
    assert rates[-1] < 0.003
    run = outcome.model.metadata["tensorboard_run"]
    [events] = list((tmp_path / "tb").rglob("events.out.tfevents*"))
    assert str(events.parent) == run
    logged: dict[str, list] = {}
    for event in tf.compat.v1.train.summary_iterator(str(events)):
        for value in event.summary.value:
            logged.setdefault(value.tag, []).append(
                (event.step, float(tf.make_ndarray(value.tensor)))
            )
    assert [step for step, _ in logged["loss/train"]] == list(range(1, 7))
    assert logged["learning_rate"][0][1] == pytest.approx(0.02)
    assert logged["accuracy/validation"][-1][1] == pytest.approx(outcome.history[-1].val_accuracy)


def test_plateau_schedule_lowers_the_rate_when_validation_stalls(scan):
    config = TrainConfig(**TINY, epochs=12, early_stopping=False, lr_schedule="plateau",
                         patience=2)  # fmt: skip
    rates = [h.learning_rate for h in train(scan, config).history]
    assert rates[0] == pytest.approx(0.02)
    assert rates[-1] < rates[0] and all(a >= b for a, b in itertools.pairwise(rates))


def test_mlp_baseline_is_a_hidden_layer_on_raw_pixels(scan, tmp_path):
    outcome = train(scan, TrainConfig(model_type="mlp", epochs=15))
    model = outcome.model
    assert model.metadata["backbone"]["name"] == "pixels_32"
    assert model.metadata["model_type"] == "mlp"
    assert [k.shape for k, _, _ in model.head_layers] == [(3072, 128), (128, 3)]
    assert outcome.evaluation.accuracy >= 0.8
    path = save_model(model, tmp_path / "mlp.sortscope")
    result = classify_folder(scan.root / "Red", load_model(path, lazy=True), threshold=0.0)
    assert sum(r.label == "Red" for r in result.rows) >= 0.8 * len(result.rows)


def test_small_cnn_from_scratch_trains_end_to_end_and_classifies(scan, tmp_path):
    config = TrainConfig(model_type="small_cnn", epochs=8, batch_size=8, early_stopping=False)
    outcome = train(scan, config)
    assert {h.stage for h in outcome.history} == {"end-to-end"}
    assert len(outcome.history) == 8
    assert outcome.evaluation.n_images > 0
    model = outcome.model
    info = model.metadata["backbone"]
    assert info["name"] == "small_cnn" and info["input_size"] == 64
    assert str(info["version"]).startswith("1+w")  # its own weights: its own cache key
    path = save_model(model, tmp_path / "cnn.sortscope")
    loaded = load_model(path, lazy=True)
    assert loaded.info.to_json() == model.info.to_json()  # its version and "+w" key survive
    folder = scan.root / "green"
    result = classify_folder(folder, loaded)
    pixels = np.stack([np.asarray(Image.open(r.path).convert("RGB").resize((64, 64),
                       Image.Resampling.BILINEAR)) for r in result.rows])  # fmt: skip
    direct = np.asarray(loaded.model.predict_on_batch(pixels.astype(np.float32)))
    assert np.allclose(direct, [r.probabilities for r in result.rows], atol=2e-3)


def test_blocks_and_unfreezing_keep_batchnorm_frozen():
    from classifier import efficientnet_lite

    network = efficientnet_lite.build("lite0")
    groups = end_to_end.blocks(network)
    assert len(groups) == 17  # 16 MBConv blocks and the final 1x1 convolution
    assert groups[-1][0].name == "head_conv" and groups[-2][0].name.startswith("block15_")
    count = end_to_end.unfreeze_last_blocks(network, 2)
    trainable = {layer.name for layer in network.layers if layer.trainable and layer.weights}
    assert trainable and all(n.startswith(("block15_", "head_")) for n in trainable)
    assert not any("bn" in n for n in trainable)
    assert count == sum(int(np.prod(w.shape)) for w in network.trainable_weights)


@pytest.mark.slow
def test_fine_tuning_the_real_backbone_changes_only_its_last_block(tmp_path, monkeypatch):
    monkeypatch.setenv("SORTSCOPE_ENGINE", "keras")  # no engine conversion for a one-off net
    colours = dict(list(CLASS_COLOURS.items())[:2])
    small = scan_dataset(make_dataset(tmp_path / "data", per_class=10, classes=colours))
    config = TrainConfig(epochs=3, fine_tune_blocks=1, fine_tune_epochs=1, batch_size=8,
                         augment_copies=1, augment_flips=True)  # fmt: skip
    outcome = train(small, config)
    stages = [h.stage for h in outcome.history]
    assert stages == ["head"] * stages.count("head") + ["fine-tune"]
    assert outcome.history[-1].epoch == len(stages)  # one continuous curve
    details = outcome.model.metadata["fine_tune"]
    assert details["blocks"] == 1 and details["trainable_weights"] > 0
    original = load_feature_model(get_backbone("efficientnet_lite0"))
    tuned = outcome.model.feature_model
    changed = {
        layer.name
        for layer in tuned.layers
        if layer.weights
        and not all(
            np.array_equal(a, b)
            for a, b in zip(
                layer.get_weights(), original.get_layer(layer.name).get_weights(), strict=True
            )
        )
    }
    assert changed and all(n.startswith("head_conv") for n in changed)
    path = save_model(outcome.model, tmp_path / "tuned.sortscope")
    loaded = load_model(path, lazy=True)
    assert "+ft" in loaded.backbone.cache_key
    assert loaded.backbone.cache_key != get_backbone("efficientnet_lite0").cache_key
    result = classify_folder(small.root / "Red", loaded, threshold=0.0)  # the best class
    assert sum(r.label == "Red" for r in result.rows) >= 8


def test_decoded_images_file_is_removed_and_stale_ones_swept(scan, tmp_path):
    import os
    import time

    from classifier import paths

    folder = paths.cache_dir() / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    stale = folder / "images-killed.u8"
    stale.write_bytes(b"x")
    old = time.time() - end_to_end.STALE_SECONDS - 60
    os.utime(stale, (old, old))
    fresh = folder / "images-running.u8"
    fresh.write_bytes(b"x")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    files = [r.path for r in scan.images[:3]] + [broken]
    store = end_to_end.decode_images(files, 32, Preprocessing())
    assert store.ok.tolist() == [True, True, True, False]
    assert store.problems[0].path == broken
    assert store.pixels.shape == (4, 32, 32, 3) and store.pixels[0].any()
    store.close()
    assert sorted(p.name for p in folder.iterdir()) == ["images-running.u8"]


@pytest.mark.parametrize(
    ("constructor", "size", "last_two"),
    [
        ("MobileNetV3Small", 224, [("expanded_conv_10_expand", "expanded_conv_10_add"),
                                   ("conv_1", "avg_pool")]),
        ("InceptionV3", 299, [("conv2d_80", "mixed9"), ("conv2d_89", "mixed10")]),
    ],
)  # fmt: skip
def test_blocks_of_keras_applications(constructor, size, last_two):
    from classifier.tf_runtime import keras

    k = keras()
    base = getattr(k.applications, constructor)(
        include_top=False, weights=None, input_shape=(size, size, 3), pooling="avg"
    )
    image = k.Input((size, size, 3))
    network = k.Model(image, base(image))  # nested, as Sortscope builds them
    groups = end_to_end.blocks(network)
    assert [(g[0].name, g[-1].name) for g in groups[-2:]] == last_two
    end_to_end.unfreeze_last_blocks(network, 1)
    trainable = {w.path.split("/")[-2] for w in network.trainable_weights}
    assert trainable and trainable <= {layer.name for layer in groups[-1]}


def test_augmented_copies_that_failed_do_not_train_as_zero_vectors():
    from classifier.train import SplitData, training_arrays

    x = np.array([[1.0, 1.0], [2.0, 2.0]], dtype=np.float32)
    y = np.array([0, 1])
    copies = np.array([[[3.0, 3.0], [4.0, 4.0]]], dtype=np.float32)  # only file 1's copies
    train = SplitData(x, y, [], augmented=copies, augmented_y=y[1:])
    rows, labels = training_arrays(train, 2, TrainConfig())
    assert labels.tolist() == [0, 1, 1, 1]
    assert not (rows == 0).all(axis=1).any()
