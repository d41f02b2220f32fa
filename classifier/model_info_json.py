"""Reading an untrusted sortscope.json into a ModelInfo, every value checked on the way.

Names are checked against the registry, numbers as numbers in range, texts that become parts of
cache paths (backbone version and layer, FITS extension) against patterns that cannot hold a
separator. A failure raises `Invalid` saying where: "backbone.input_size is 'abc', not ...".
"""

from __future__ import annotations

from dataclasses import fields

from classifier.backbones import BACKBONES, TRAINED_HERE
from classifier.checked_json import Invalid, Node, shown
from classifier.errors import SortscopeError
from classifier.int8_engine import ENGINES, FP32
from classifier.model_info import (
    MAX_CLASSES,
    SCHEMA_VERSION,
    BackboneInfo,
    DatasetSummary,
    FineTuneInfo,
    InputInfo,
    ModelInfo,
    NewerFormat,
    ReservedClassName,
    RunSummary,
)
from classifier.names import class_name_problem, is_reserved
from classifier.novelty import KNOWN_METHODS, MAX_COMPONENTS, NoveltyInfo
from classifier.preprocessing import (
    DECODES,
    DEFAULT_DECODE,
    DEFAULT_HIGH_PERCENT,
    DEFAULT_LOW_PERCENT,
    STRETCHES,
    Preprocessing,
)
from classifier.progress import FitStage
from classifier.types import (
    LR_SCHEDULES,
    MODEL_TYPES,
    OPTIMIZERS,
    ClassMetrics,
    EpochStats,
    Evaluation,
    TrainConfig,
)

MAX_INPUT_SIZE = 4096  # pixels per side
MAX_FEATURES = 1_000_000
ACTIVATIONS = ("relu", "linear", "softmax")

# Versions of trained networks: the registry's number, then "+ft<hex>" (fine-tuned) or
# "+w<hex>" (from scratch). Part of cache file names, so nothing else is accepted.
_VERSION_TEXT = r"[0-9]{1,6}(\+[a-z]{1,8}[0-9a-f]{1,64}){0,4}"
_LAYER_NAME = r"[A-Za-z0-9_.\-]{1,128}"
# An extension name is part of cache folder names: no separators, nothing Windows refuses.
_HDU_NAME = r'[^/\\:*?"<>|]{1,68}'
_CHOICES = {
    "optimizer": OPTIMIZERS,
    "model_type": MODEL_TYPES,
    "lr_schedule": LR_SCHEDULES,
    "stretch": tuple(STRETCHES),
}
_SIGNED = {"seed"}


def parse_model_info(data: object) -> ModelInfo:
    """ModelInfo.from_json: see there."""
    root = Node(data, "")
    version = root.get("schema_version").integer(1, 10**6)
    if version > SCHEMA_VERSION:
        raise NewerFormat(version)
    try:
        return ModelInfo(
            class_names=_class_names(root.get("class_names")),
            backbone=_backbone(root.get("backbone")),
            input=_input(root.get("input"), version),
            head_activations=_activations(root.optional("head")),
            run=_run(root),
            app_version=root.get("app_version", "").text(64),
            schema_version=version,
            novelty=_novelty(root.optional("novelty")),
        )
    except SortscopeError as exc:  # a value the core's own types refuse
        raise Invalid(exc.what) from exc


def parse_run_summary(node: Node) -> RunSummary:
    """A run's keys (RunSummary.to_json), checked the same way as in a model file."""
    try:
        return _run(node)
    except SortscopeError as exc:
        raise Invalid(exc.what) from exc


def _class_names(node: Node) -> tuple[str, ...]:
    items = node.items(MAX_CLASSES)
    if len(items) < 2:
        raise Invalid(f"class_names lists {len(items)} class(es); a model has at least two")
    names = []
    for item in items:
        if isinstance(item.value, str) and is_reserved(item.value):
            raise ReservedClassName(item.value)
        problem = class_name_problem(item.value)
        if problem:
            raise Invalid(f"{item.where} ({shown(item.value)}) {problem}")
        names.append(item.value)
    return tuple(names)


def _backbone(node: Node) -> BackboneInfo:
    name = node.get("name")
    if name.text(128) not in BACKBONES and name.value not in TRAINED_HERE:
        raise Invalid(f"backbone.name is {shown(name.value)}, not a network Sortscope knows")
    version = node.get("version")
    if isinstance(version.value, str):
        number: int | str = version.text(128, _VERSION_TEXT)
    else:
        number = version.integer(0, 10**6)
    return BackboneInfo(
        name=str(name.value),
        version=number,
        input_size=node.get("input_size").integer(1, MAX_INPUT_SIZE),
        feature_dim=node.get("feature_dim").integer(1, MAX_FEATURES),
        layer=node.get("layer").text(128, _LAYER_NAME),
        engine=node.get("engine", FP32).choice(ENGINES),
    )


def _input(node: Node, version: int) -> InputInfo:
    stored = node.optional("preprocessing")
    if stored is None or not stored.object():
        # Version 1 files predate stretches; they mapped 16-bit data by its full range.
        prep = Preprocessing() if version >= 2 else Preprocessing(stretch="linear")
    else:
        prep = _preprocessing(stored)
    return InputInfo(
        size=node.get("size").integer(1, MAX_INPUT_SIZE),
        preprocessing=prep,
        pixels=node.get("pixels", "RGB 0..255").text(64),
        resize=node.get("resize", "bilinear").text(64),
        decode=node.get("decode", DEFAULT_DECODE).choice(tuple(DECODES)),
    )


def preprocessing_from_json(data: object) -> Preprocessing:
    """What Preprocessing.to_json wrote, checked; missing values get the defaults."""
    return _preprocessing(Node(data, "preprocessing"))


def _preprocessing(node: Node) -> Preprocessing:
    return Preprocessing(
        stretch=node.get("stretch", "auto").choice(STRETCHES),
        low_percent=node.get("low_percent", DEFAULT_LOW_PERCENT).number(0, 100),
        high_percent=node.get("high_percent", DEFAULT_HIGH_PERCENT).number(0, 100),
        hdu=_hdu(node.optional("hdu")),
    )


def _hdu(node: Node | None) -> str | int | None:
    if node is None:
        return None
    if isinstance(node.value, str):
        return node.text(68, _HDU_NAME)
    return node.integer(0, 100_000)


def _activations(node: Node | None) -> tuple[str, ...] | None:
    if node is None or not node.has("activations"):
        return None
    activations = tuple(a.choice(ACTIVATIONS) for a in node.get("activations").items(64))
    if not activations or activations[-1] != "softmax":
        raise Invalid(f"head.activations is {list(activations)}, not layers ending in softmax")
    return activations


def _run(root: Node) -> RunSummary:
    fine_tune = root.optional("fine_tune")
    dataset = root.optional("dataset")
    metrics = root.optional("test_metrics")
    tensorboard = root.optional("tensorboard_run")
    return RunSummary(
        model_type=root.get("model_type", "transfer").choice(MODEL_TYPES),
        config=_config(root.get("training", {})),
        dataset=_dataset(dataset) if dataset and dataset.object() else None,
        history=tuple(_epoch(e) for e in root.get("history", []).items(100_000)),
        best_epoch=root.get("best_epoch", 0).integer(),
        stopped_early=root.get("stopped_early", False).boolean(),
        test_metrics=_evaluation(metrics) if metrics and metrics.object() else None,
        created=root.get("created", "").text(64),
        tensorboard_run=tensorboard.text(plain=False) if tensorboard else None,
        fine_tune=_fine_tune(fine_tune) if fine_tune and fine_tune.object() else None,
    )


def _config(node: Node) -> TrainConfig:
    """The training options; keys this version does not know are left out, missing ones get
    their defaults. Each value is checked by the type of its field's default."""
    values: dict[str, object] = {}
    for f in fields(TrainConfig):
        if not node.has(f.name):
            continue
        value = node.get(f.name)
        default = f.default
        if f.name in _CHOICES:
            values[f.name] = value.choice(_CHOICES[f.name])
        elif f.name == "fits_hdu":
            values[f.name] = _hdu(value)
        elif isinstance(default, bool):
            values[f.name] = value.boolean()
        elif isinstance(default, int):
            values[f.name] = value.integer(-(2**53) if f.name in _SIGNED else 0)
        elif isinstance(default, float):
            values[f.name] = value.number(0)
        elif isinstance(default, str):
            values[f.name] = value.text(plain=False)  # a name or path, shown, never used
    return TrainConfig(**values)


def _dataset(node: Node) -> DatasetSummary:
    splits = {}
    for name, per_split in node.get("splits", {}).entries():
        splits[name] = {split: n.integer() for split, n in per_split.entries()}
    training_rows = node.optional("training_rows")
    return DatasetSummary(
        root=node.get("root", "").text(plain=False),
        classes={name: n.integer() for name, n in node.get("classes", {}).entries()},
        splits=splits,
        images_used=node.get("images_used", 0).integer(),
        images_skipped=node.get("images_skipped", 0).integer(),
        training_rows=training_rows.integer() if training_rows else None,
        high_range_images=node.get("high_range_images", 0).integer(),
    )


def _epoch(node: Node) -> EpochStats:
    def metric(key: str) -> float | None:
        value = node.optional(key)
        # A run that diverged records NaN losses: that is history, not damage.
        return value.number(finite=False) if value else None

    return EpochStats(
        epoch=node.get("epoch").integer(),
        epochs=node.get("epochs").integer(),
        loss=node.get("loss").number(finite=False),
        accuracy=node.get("accuracy").number(finite=False),
        val_loss=metric("val_loss"),
        val_accuracy=metric("val_accuracy"),
        seconds=node.get("seconds", 0.0).number(0),
        stage=FitStage(node.get("stage", FitStage.HEAD).choice(tuple(FitStage))),
        learning_rate=metric("learning_rate"),
    )


def _evaluation(node: Node) -> Evaluation:
    def fraction(n: Node, key: str) -> float:
        return n.get(key).number(0, 1)

    classes = tuple(c.text(1024) for c in node.get("classes").items(MAX_CLASSES))
    matrix = tuple(
        tuple(v.integer() for v in row.items(len(classes)))
        for row in node.get("confusion_matrix").items(len(classes))
    )
    if len(matrix) != len(classes) or any(len(row) != len(classes) for row in matrix):
        raise Invalid(f"test_metrics.confusion_matrix is not {len(classes)}x{len(classes)}")
    per_class = {
        name: ClassMetrics(
            fraction(m, "precision"),
            fraction(m, "recall"),
            fraction(m, "f1"),
            m.get("support").integer(),
        )
        for name, m in node.get("per_class").entries()
    }
    baseline = node.get("baseline_class")
    return Evaluation(
        classes=classes,
        n_images=node.get("n_images").integer(),
        accuracy=fraction(node, "accuracy"),
        balanced_accuracy=fraction(node, "balanced_accuracy"),
        per_class=per_class,
        confusion_matrix=matrix,
        misclassified=(),
        baseline_accuracy=fraction(node, "baseline_accuracy"),
        baseline_class=baseline.choice(classes),
    )


def _novelty(node: Node | None) -> NoveltyInfo | None:
    """Optional: files saved before novelty existed have no such key, or an empty one."""
    if node is None or not node.object():
        return None
    method = node.get("method").text(64)
    if method not in KNOWN_METHODS:
        return None  # a newer Sortscope's description: classify without novelty
    return NoveltyInfo(
        method=method,
        components=node.get("components").integer(1, MAX_COMPONENTS),
        training_images=node.get("training_images").integer(0),
    )


def _fine_tune(node: Node) -> FineTuneInfo:
    return FineTuneInfo(
        blocks=node.get("blocks").integer(0, 10_000),
        trainable_weights=node.get("trainable_weights", 0).integer(),
        best_epoch=node.get("best_epoch", 0).integer(),
        stopped_early=node.get("stopped_early", False).boolean(),
    )
