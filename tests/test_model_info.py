"""The typed model description: today's files read and write back unchanged, hostile ones fail
with the place and reason, and Train and Classify name a model the same way."""

import copy
import json
import math

import pytest

from classifier.checked_json import Invalid
from classifier.model_info import ModelInfo, NewerFormat, model_title
from classifier.types import TrainConfig

# sortscope.json as this version saves it (from a real run on the default backbone, history
# shortened): files like it must keep opening, and `sortscope info` must print these keys.
TODAY = {
    "format": "sortscope-model",
    "schema_version": 2,
    "app_version": "0.1.0",
    "class_names": ["Blue Sky", "Red", "green"],
    "backbone": {
        "name": "efficientnet_lite0",
        "version": 1,
        "input_size": 224,
        "feature_dim": 1280,
        "layer": "efficientnet_lite0",
    },
    "input": {
        "size": 224,
        "pixels": "RGB 0..255",
        "resize": "bilinear",
        "preprocessing": {"stretch": "auto", "low_percent": 0.5, "high_percent": 99.5, "hdu": None},
    },
    "head": {"activations": ["softmax"]},
    "model_type": "transfer",
    "training": {
        "backbone": "efficientnet_lite0",
        "epochs": 40,
        "batch_size": 32,
        "learning_rate": 0.001,
        "optimizer": "adam",
        "validation_percent": 10.0,
        "test_percent": 10.0,
        "hidden_units": 0,
        "dropout": 0.2,
        "early_stopping": True,
        "patience": 5,
        "class_weights": True,
        "seed": 3,
        "stretch": "auto",
        "stretch_low": 0.5,
        "stretch_high": 99.5,
        "fits_hdu": None,
        "model_type": "transfer",
        "oversample": False,
        "augment_copies": 0,
        "augment_flips": False,
        "augment_rotate90": False,
        "augment_rotation": 0.0,
        "augment_zoom": 0.0,
        "augment_brightness": 0.0,
        "augment_contrast": 0.0,
        "fine_tune_blocks": 0,
        "fine_tune_epochs": 10,
        "fine_tune_learning_rate": 0.0001,
        "lr_schedule": "constant",
        "tensorboard_dir": "",
    },
    "dataset": {
        "root": "/data/colours",
        "classes": {"Blue Sky": 16, "Red": 16, "green": 16},
        "splits": {
            "Blue Sky": {"train": 13, "validation": 2, "test": 1},
            "Red": {"train": 9, "validation": 6, "test": 1},
            "green": {"train": 13, "validation": 1, "test": 2},
        },
        "images_used": 48,
        "images_skipped": 0,
        "training_rows": 35,
        "high_range_images": 0,
    },
    "history": [
        {
            "epoch": 1,
            "epochs": 40,
            "loss": 1.030996322631836,
            "accuracy": 0.6285714507102966,
            "val_loss": 0.8000838756561279,
            "val_accuracy": 0.7777777910232544,
            "seconds": 0.5701623219999874,
            "stage": "head",
            "learning_rate": 0.0010000000474974513,
        },
        {
            "epoch": 2,
            "epochs": 40,
            "loss": 0.9052886962890625,
            "accuracy": 0.6285714507102966,
            "val_loss": None,
            "val_accuracy": None,
            "seconds": 0.05834485899998754,
            "stage": "head",
            "learning_rate": 0.0010000000474974513,
        },
    ],
    "best_epoch": 40,
    "stopped_early": False,
    "test_metrics": {
        "accuracy": 1.0,
        "balanced_accuracy": 1.0,
        "n_images": 4,
        "classes": ["Blue Sky", "Red", "green"],
        "per_class": {
            "Blue Sky": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
            "Red": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
            "green": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2},
        },
        "confusion_matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 2]],
        "baseline_accuracy": 0.25,
        "baseline_class": "Blue Sky",
    },
    "tensorboard_run": None,
    "created": "2026-12-01T20:11:02+00:00",
    "fine_tune": {},
    "novelty": {"method": "pca-tied-mahalanobis", "components": 32, "training_images": 36},
}


def test_todays_file_reads_and_writes_back_unchanged():
    info = ModelInfo.from_json(copy.deepcopy(TODAY))
    assert info.to_json() == TODAY
    assert list(info.to_json()) == list(TODAY)  # same keys, same order: `info` output unchanged
    assert info.class_names == ("Blue Sky", "Red", "green")
    assert info.backbone.input_size == 224 and info.run.config.epochs == 40
    assert info.run.test_metrics.accuracy == 1.0 and info.run.dataset.classes["Red"] == 16


def test_version_1_files_without_stretch_read_with_the_linear_stretch():
    old = copy.deepcopy(TODAY)
    old["schema_version"] = 1
    del old["input"]["preprocessing"], old["head"], old["fine_tune"], old["model_type"]
    del old["novelty"]
    info = ModelInfo.from_json(old)
    assert info.novelty is None and "novelty" not in info.to_json()  # no column, no damage
    assert info.preprocessing.stretch == "linear"
    assert info.head_activations is None and info.run.fine_tune is None
    assert info.run.model_type == "transfer"


def test_a_newer_format_is_told_apart_from_damage():
    with pytest.raises(NewerFormat):
        ModelInfo.from_json({**TODAY, "schema_version": 3})


def test_model_title_is_the_same_before_and_after_training():
    info = ModelInfo.from_json(copy.deepcopy(TODAY))
    config = TrainConfig(backbone="efficientnet_lite0")
    assert model_title(info) == model_title(config) == "EfficientNet-Lite0"
    tuned = copy.deepcopy(TODAY)
    tuned["backbone"]["version"] = "1+ft0a1b2c3d"
    tuned["training"]["fine_tune_blocks"] = 2
    tuned["fine_tune"] = {"blocks": 2, "trainable_weights": 9, "best_epoch": 3, "stopped_early": 0}
    with pytest.raises(Invalid, match=r"fine_tune.stopped_early is 0, not true or false"):
        ModelInfo.from_json(tuned)
    tuned["fine_tune"]["stopped_early"] = False
    title = "EfficientNet-Lite0 + last 2 block(s) fine-tuned"
    assert model_title(ModelInfo.from_json(tuned)) == title
    assert model_title(TrainConfig(fine_tune_blocks=2)) == title
    assert model_title(TrainConfig(model_type="small_cnn")) == "Small CNN from scratch"
    assert model_title(TrainConfig(model_type="mlp")) == "MLP on 32x32 pixels"


def _set(data: dict, dotted: str, value) -> dict:
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node[key]
    node[last] = value
    return data


# (where, hostile value, words the reason must contain)
HOSTILE = [
    ("class_names", ["fruit"] * 3, "'fruit' more than once"),
    ("class_names", "abc", "not a list"),
    ("class_names", [None, "a", "b"], "class_names[0] (None) is not text"),
    ("class_names", [1, 2, 3], "is not text"),
    ("class_names", ["a/b", "c", "d"], "path separator"),
    ("class_names", ["..", "c", "d"], "path separator"),
    ("class_names", ["a\nb", "c", "d"], "line break"),
    ("class_names", ["", "c", "d"], "is empty"),
    ("class_names", ["Uncertain", "c", "d"], "'Uncertain', a label Sortscope gives its own"),
    ("class_names", ["only"], "at least two"),
    ("schema_version", True, "schema_version is True, not a whole number"),
    ("schema_version", -1, "schema_version is -1"),
    ("schema_version", "2", "schema_version is '2'"),
    ("schema_version", None, "schema_version is missing"),
    ("backbone.name", "../../../../tmp/x/ESCAPED", "not a network Sortscope knows"),
    ("backbone.name", None, "backbone.name is missing"),
    ("backbone.name", ["tiny_test"], "backbone.name is ['tiny_test'], not text"),
    ("backbone", "tiny_test", "backbone is 'tiny_test', not an object"),
    ("head", ["softmax"], "head is ['softmax'], not an object"),
    ("dataset", [1], "dataset is [1], not an object"),
    ("input.preprocessing", "auto", "input.preprocessing is 'auto', not an object"),
    ("backbone.version", "../../../../tmp/x/ESCAPED", "backbone.version is"),
    ("backbone.version", "1/../../x", "backbone.version is"),
    ("backbone.version", "1+ft00\x00", "backbone.version is"),
    ("backbone.version", 1.5, "backbone.version is 1.5"),
    ("backbone.version", True, "backbone.version is True"),
    ("backbone.layer", "../x", "backbone.layer is"),
    ("backbone.input_size", math.nan, "backbone.input_size is nan"),
    ("backbone.input_size", 10**9, "backbone.input_size is"),
    ("backbone.input_size", 100, "input.size (224) differs"),
    ("backbone.feature_dim", 1000, "gives 1280 features, not 224px and 1000"),
    ("backbone.feature_dim", -5, "backbone.feature_dim is -5"),
    ("input.preprocessing.stretch", "evil", "one of auto"),
    ("input.preprocessing.low_percent", math.nan, "low_percent is nan"),
    ("input.preprocessing.low_percent", 99.9, "not 0 <= low < high <= 100"),
    ("input.preprocessing.hdu", "../../x", "input.preprocessing.hdu is"),
    ("input.preprocessing.hdu", True, "input.preprocessing.hdu is True"),
    ("head.activations", ["relu"], "ending in softmax"),
    ("head.activations", ["eval", "softmax"], "head.activations[0]"),
    ("training.epochs", "abc", "training.epochs is 'abc'"),
    ("training.learning_rate", math.inf, "training.learning_rate is inf"),
    ("training.optimizer", "evil", "training.optimizer is 'evil'"),
    ("history", [1, 2], "history[0] is 1, not an object"),
    ("test_metrics.accuracy", math.nan, "test_metrics.accuracy is nan"),
    ("test_metrics.confusion_matrix", [[1, 0], [0, 1]], "not 3x3"),
    ("test_metrics.classes", ["Blue Sky", "y", "z"], "differ from class_names"),
    ("dataset.classes", {"Red": "many"}, "dataset.classes.Red is 'many'"),
    ("model_type", "rootkit", "model_type is 'rootkit'"),
    ("novelty.components", 10**6, "novelty.components is"),
]


@pytest.mark.parametrize(("where", "value", "reason"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_values_are_refused_with_their_place(where, value, reason):
    data = _set(copy.deepcopy(TODAY), where, value)
    with pytest.raises(Invalid) as info:
        ModelInfo.from_json(data)
    assert reason in str(info.value)


def test_what_a_run_records_survives_json():
    data = copy.deepcopy(TODAY)
    data["history"][0]["loss"] = math.nan  # a diverged run is history, not damage
    info = ModelInfo.from_json(json.loads(json.dumps(data)))
    assert math.isnan(info.run.history[0].loss)


def _paths(value, prefix=()):
    """Every place in a JSON document: keys all the way down, and the first item of lists."""
    yield prefix
    if isinstance(value, dict):
        for key, v in value.items():
            yield from _paths(v, (*prefix, key))
    elif isinstance(value, list) and value:
        yield from _paths(value[0], (*prefix, 0))


ODD_VALUES = [None, True, -1, 1.5, math.nan, math.inf, "", "x" * 5000, "../x", "\n", [], {}, [1]]


def test_any_value_anywhere_is_read_or_refused_never_a_crash():
    # Every place in today's file, each odd value: the reader either accepts it (and then
    # writes back something that reads the same) or says why not. Nothing else may escape.
    for where in _paths(TODAY):
        if not where:
            continue
        for odd in ODD_VALUES:
            data = copy.deepcopy(TODAY)
            node = data
            for key in where[:-1]:
                node = node[key]
            node[where[-1]] = odd
            try:
                info = ModelInfo.from_json(data)
            except (Invalid, NewerFormat):
                continue
            assert ModelInfo.from_json(info.to_json()).to_json() == info.to_json(), where
