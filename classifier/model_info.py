"""The typed description of a model: what `sortscope.json` in a model file holds.

`ModelInfo.from_json` reads the description once, when a file is opened, and checks every value
(the file may come from anywhere: names against the registry, numbers as numbers in range, text
without control characters); `to_json` writes the same keys back. Training builds a ModelInfo
directly, so what is saved and what is read are one structure. `model_title` names a model in a
few words, the same way before training (from its TrainConfig) and after (from its ModelInfo).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from types import MappingProxyType

from classifier import __version__
from classifier.backbones import BACKBONES, TRAINED_HERE
from classifier.checked_json import Invalid, Node, shown
from classifier.errors import SortscopeError
from classifier.names import class_name_problem
from classifier.preprocessing import STRETCHES, Preprocessing
from classifier.types import (
    LR_SCHEDULES,
    MODEL_TYPES,
    OPTIMIZERS,
    ClassMetrics,
    EpochStats,
    Evaluation,
    TrainConfig,
)

FORMAT = "sortscope-model"
SCHEMA_VERSION = 2  # 2: input.preprocessing (the stretch); files of version 1 read fine
MAX_CLASSES = 100_000
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


@dataclass(frozen=True)
class BackboneInfo:
    """The network in front of the head; `name`-v`version`-`input_size`px keys the caches."""

    name: str
    version: int | str
    input_size: int
    feature_dim: int
    layer: str  # the nested model's name inside model.keras


@dataclass(frozen=True)
class InputInfo:
    size: int
    preprocessing: Preprocessing
    pixels: str = "RGB 0..255"
    resize: str = "bilinear"


@dataclass(frozen=True)
class DatasetSummary:
    root: str
    classes: dict[str, int]  # images found per class
    splits: dict[str, dict[str, int]]  # images used per class and split
    images_used: int
    images_skipped: int
    training_rows: int | None  # per epoch: with augmented copies, oversampled
    high_range_images: int  # FITS, 16-bit: the stretch matters


@dataclass(frozen=True)
class FineTuneInfo:
    blocks: int
    trainable_weights: int
    best_epoch: int
    stopped_early: bool


@dataclass(frozen=True)
class RunSummary:
    """How the model was trained and how it scored (top-level keys of sortscope.json)."""

    model_type: str
    config: TrainConfig  # "training"
    dataset: DatasetSummary | None
    history: tuple[EpochStats, ...]
    best_epoch: int
    stopped_early: bool
    test_metrics: Evaluation | None
    created: str
    tensorboard_run: str | None = None
    fine_tune: FineTuneInfo | None = None

    @property
    def fine_tuned_blocks(self) -> int:
        return self.fine_tune.blocks if self.fine_tune else 0


@dataclass(frozen=True)
class ModelInfo:
    class_names: tuple[str, ...]
    backbone: BackboneInfo
    input: InputInfo
    head_activations: tuple[str, ...] | None  # None: a file without head.npz
    run: RunSummary
    app_version: str = __version__
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        _check_consistency(self)

    @property
    def preprocessing(self) -> Preprocessing:
        return self.input.preprocessing

    def to_json(self) -> dict:
        """The description as sortscope.json stores it (the keys `sortscope info` prints)."""
        run = self.run
        data = {
            "format": FORMAT,
            "schema_version": self.schema_version,
            "app_version": self.app_version,
            "class_names": list(self.class_names),
            "backbone": asdict(self.backbone),
            "input": {
                "size": self.input.size,
                "pixels": self.input.pixels,
                "resize": self.input.resize,
                "preprocessing": self.input.preprocessing.to_json(),
            },
        }
        if self.head_activations is not None:
            data["head"] = {"activations": list(self.head_activations)}
        data |= {
            "model_type": run.model_type,
            "training": asdict(run.config),
            "dataset": asdict(run.dataset) if run.dataset else {},
            "history": [asdict(h) for h in run.history],
            "best_epoch": run.best_epoch,
            "stopped_early": run.stopped_early,
            "test_metrics": run.test_metrics.to_json() if run.test_metrics else {},
            "tensorboard_run": run.tensorboard_run,
            "created": run.created,
            "fine_tune": asdict(run.fine_tune) if run.fine_tune else {},
        }
        return data

    def as_mapping(self) -> MappingProxyType:
        """to_json() behind a read-only view, for code that still reads the raw keys."""
        return MappingProxyType(self.to_json())

    @classmethod
    def from_json(cls, data: object) -> ModelInfo:
        """Check and read a parsed sortscope.json; raises Invalid (saying where) or
        NewerFormat. The format name is checked by the caller (a foreign file is no damage)."""
        root = Node(data, "")
        version = root.get("schema_version").integer(1, 10**6)
        if version > SCHEMA_VERSION:
            raise NewerFormat(version)
        try:
            return cls(
                class_names=_class_names(root.get("class_names")),
                backbone=_backbone(root.get("backbone")),
                input=_input(root.get("input"), version),
                head_activations=_activations(root.optional("head")),
                run=_run(root),
                app_version=root.get("app_version", "").text(64),
                schema_version=version,
            )
        except SortscopeError as exc:  # a value the core's own types refuse
            raise Invalid(exc.what) from exc


class NewerFormat(Exception):
    """The file was written by a newer Sortscope, in a format this one does not know."""

    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def model_title(source: TrainConfig | ModelInfo) -> str:
    """What a model is, in a few words ('EfficientNet-Lite0 + last 2 block(s) fine-tuned',
    'Small CNN from scratch'), from its settings before training or its file after."""
    if isinstance(source, ModelInfo):
        kind, backbone, blocks = (
            source.run.model_type,
            source.backbone.name,
            source.run.fine_tuned_blocks,
        )
    else:
        kind, backbone, blocks = source.model_type, source.backbone, source.fine_tune_blocks
    if kind == "mlp":
        return "MLP on 32x32 pixels"
    if kind == "small_cnn":
        return "Small CNN from scratch"
    known = BACKBONES.get(backbone)
    title = known.title if known else backbone
    if blocks:
        title += f" + last {blocks} block(s) fine-tuned"
    return title


# --- reading -------------------------------------------------------------------------------


def _class_names(node: Node) -> tuple[str, ...]:
    items = node.items(MAX_CLASSES)
    if len(items) < 2:
        raise Invalid(f"class_names lists {len(items)} class(es); a model has at least two")
    names = []
    for item in items:
        problem = class_name_problem(item.value)
        if problem:
            raise Invalid(f"{item.where} ({shown(item.value)}) {problem}")
        names.append(item.value)
    return tuple(names)


def _backbone(node: Node) -> BackboneInfo:
    name = node.get("name")
    if name.value not in BACKBONES and name.value not in TRAINED_HERE:
        raise Invalid(f"backbone.name is {name.value!r}, not a network Sortscope knows")
    version = node.get("version")
    if isinstance(version.value, str):
        number: int | str = version.text(128, _VERSION_TEXT)
    else:
        number = version.integer(0, 10**6)
    return BackboneInfo(
        name=name.value,
        version=number,
        input_size=node.get("input_size").integer(1, MAX_INPUT_SIZE),
        feature_dim=node.get("feature_dim").integer(1, MAX_FEATURES),
        layer=node.get("layer").text(128, _LAYER_NAME),
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
    )


def _preprocessing(node: Node) -> Preprocessing:
    return Preprocessing(
        stretch=node.get("stretch", "auto").choice(STRETCHES),
        low_percent=node.get("low_percent", 0.5).number(0, 100),
        high_percent=node.get("high_percent", 99.5).number(0, 100),
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
        stage=node.get("stage", "head").text(32),
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


def _fine_tune(node: Node) -> FineTuneInfo:
    return FineTuneInfo(
        blocks=node.get("blocks").integer(0, 10_000),
        trainable_weights=node.get("trainable_weights", 0).integer(),
        best_epoch=node.get("best_epoch", 0).integer(),
        stopped_early=node.get("stopped_early", False).boolean(),
    )


def _check_consistency(info: ModelInfo) -> None:
    """Rules between values: a file that breaks one would classify wrongly or not at all."""
    names = info.class_names
    for name in names:
        problem = class_name_problem(name)
        if problem:
            raise Invalid(f"the class name {name!r} {problem}")
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise Invalid(f"class_names lists {twice!r} more than once")
    backbone = info.backbone
    if info.input.size != backbone.input_size:
        raise Invalid(
            f"input.size ({info.input.size}) differs from backbone.input_size "
            f"({backbone.input_size})"
        )
    known = BACKBONES.get(backbone.name)
    if known and (backbone.input_size, backbone.feature_dim) != (
        known.input_size,
        known.feature_dim,
    ):
        raise Invalid(
            f"backbone {backbone.name} takes {known.input_size}px images and gives "
            f"{known.feature_dim} features, not {backbone.input_size}px and "
            f"{backbone.feature_dim} as the file says"
        )
    metrics = info.run.test_metrics
    if metrics is not None and metrics.classes != names:
        raise Invalid("test_metrics.classes differ from class_names")
