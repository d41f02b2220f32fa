"""The typed description of a model: what `sortscope.json` in a model file holds.

`ModelInfo.from_json` reads the description once, when a file is opened, and checks every value
(the file may come from anywhere: names against the registry, numbers as numbers in range, text
without control characters); `to_json` writes the same keys back. Training builds a ModelInfo
directly, so what is saved and what is read are one structure. `model_title` names a model in a
few words, the same way before training (from its TrainConfig) and after (from its ModelInfo).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from types import MappingProxyType

from classifier import __version__
from classifier.backbones import BACKBONES
from classifier.checked_json import Invalid
from classifier.int8_engine import FP32, INT8
from classifier.names import class_name_problem, is_reserved
from classifier.novelty import NoveltyInfo
from classifier.preprocessing import DEFAULT_DECODE, Preprocessing
from classifier.types import (
    EpochStats,
    Evaluation,
    TrainConfig,
)

FORMAT = "sortscope-model"
SCHEMA_VERSION = 2  # 2: input.preprocessing (the stretch); files of version 1 read fine
MAX_CLASSES = 100_000


@dataclass(frozen=True)
class BackboneInfo:
    """The network in front of the head; `name`-v`version`-`input_size`px keys the caches."""

    name: str
    version: int | str
    input_size: int
    feature_dim: int
    layer: str  # the nested model's name inside model.keras
    # "fp32", or "int8": classify with the full-integer copy (classifier/int8_engine.py).
    # Written only when not fp32, so files from before it existed read and write unchanged.
    engine: str = FP32

    def to_json(self) -> dict:
        data = asdict(self)
        if self.engine == FP32:
            del data["engine"]
        return data


@dataclass(frozen=True)
class InputInfo:
    size: int
    preprocessing: Preprocessing
    pixels: str = "RGB 0..255"
    resize: str = "bilinear"
    decode: str = DEFAULT_DECODE  # the JPEG draft rule (preprocessing.DECODES)


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

    def to_json(self) -> dict:
        """The run's keys of sortscope.json (the run history stores the same)."""
        return {
            "model_type": self.model_type,
            "training": _training_json(self.config),
            "dataset": asdict(self.dataset) if self.dataset else {},
            "history": [asdict(h) for h in self.history],
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "test_metrics": self.test_metrics.to_json() if self.test_metrics else {},
            "tensorboard_run": self.tensorboard_run,
            "created": self.created,
            "fine_tune": asdict(self.fine_tune) if self.fine_tune else {},
        }


def _training_json(config: TrainConfig) -> dict:
    """The options as stored; `int8` only when set, so float runs' records stay as they were."""
    data = asdict(config)
    if not config.int8:
        del data["int8"]
    return data


@dataclass(frozen=True)
class ModelInfo:
    class_names: tuple[str, ...]
    backbone: BackboneInfo
    input: InputInfo
    head_activations: tuple[str, ...] | None  # None: a file without head.npz
    run: RunSummary
    app_version: str = __version__
    schema_version: int = SCHEMA_VERSION
    # How unusual new images are (arrays in novelty.npz); None: a model saved before novelty
    # existed, or one whose classifying features are not the training features (fine-tuned).
    novelty: NoveltyInfo | None = None

    def __post_init__(self) -> None:
        _check_consistency(self)

    @property
    def preprocessing(self) -> Preprocessing:
        return self.input.preprocessing

    def to_json(self) -> dict:
        """The description as sortscope.json stores it (the keys `sortscope info` prints)."""
        data = {
            "format": FORMAT,
            "schema_version": self.schema_version,
            "app_version": self.app_version,
            "class_names": list(self.class_names),
            "backbone": self.backbone.to_json(),
            "input": {
                "size": self.input.size,
                "pixels": self.input.pixels,
                "resize": self.input.resize,
                "preprocessing": self.input.preprocessing.to_json(),
            },
        }
        if self.input.decode != DEFAULT_DECODE:  # older files have none: "draft"
            data["input"]["decode"] = self.input.decode
        if self.head_activations is not None:
            data["head"] = {"activations": list(self.head_activations)}
        data |= self.run.to_json()
        if self.novelty is not None:
            data["novelty"] = asdict(self.novelty)
        return data

    def as_mapping(self) -> MappingProxyType:
        """to_json() behind a read-only view, for code that still reads the raw keys."""
        return MappingProxyType(self.to_json())

    @classmethod
    def from_json(cls, data: object) -> ModelInfo:
        """Check and read a parsed sortscope.json; raises Invalid (saying where) or
        NewerFormat. The format name is checked by the caller (a foreign file is no damage)."""
        from classifier.model_info_json import parse_model_info  # it builds this class

        return parse_model_info(data)


class ReservedClassName(Invalid):
    """A class named like one of Sortscope's own buckets (a file from before they were refused):
    not damage, but its results would mix with below-threshold ones."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a class is named {name!r}, a label Sortscope gives its own results")
        self.name = name


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
        int8 = source.backbone.engine == INT8
    else:
        kind, backbone, blocks = source.model_type, source.backbone, source.fine_tune_blocks
        int8 = source.int8 and kind == "transfer"
    if kind == "mlp":
        return "MLP on 32x32 pixels"
    if kind == "small_cnn":
        return "Small CNN from scratch"
    known = BACKBONES.get(backbone)
    title = known.title if known else backbone
    if blocks:
        title += f" + last {blocks} block(s) fine-tuned"
    return title + (", fast (int8)" if int8 else "")


def _check_consistency(info: ModelInfo) -> None:
    """Rules between values: a file that breaks one would classify wrongly or not at all."""
    names = info.class_names
    for name in names:
        if is_reserved(name):
            raise ReservedClassName(name)
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
