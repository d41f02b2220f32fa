"""Plain data passed between the stages of the core and to the command line and GUI."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import numpy as np

from classifier.augment import Augmentation, Variants
from classifier.errors import ImageError
from classifier.memory import DEFAULT_MAX_PIXELS, out_of_memory
from classifier.preprocessing import (
    DEFAULT_HIGH_PERCENT,
    DEFAULT_LOW_PERCENT,
    Preprocessing,
    is_high_range,
)
from classifier.progress import FitStage


class Severity(StrEnum):
    ERROR = "error"  # the dataset cannot be trained on as it is
    WARNING = "warning"  # a file is skipped, or results may suffer
    INFO = "info"


class ProblemKind(StrEnum):
    # One per ImageErrorKind (a test keeps them in step), then the scan's own.
    EMPTY_FILE = "empty_file"
    UNREADABLE = "unreadable"
    NOT_A_FILE = "not_a_file"
    CORRUPT = "corrupt"
    TRUNCATED = "truncated"
    TOO_LARGE = "too_large"
    OUT_OF_MEMORY = "out_of_memory"
    NO_DATA = "no_data"  # e.g. a FITS file without an image, or with only NaN pixels
    DATA_CUBE = "data_cube"  # a FITS cube: its first plane is used
    DUPLICATE = "duplicate"
    DUPLICATE_ACROSS_CLASSES = "duplicate_across_classes"
    STRAY_FILE = "stray_file"
    EMPTY_CLASS = "empty_class"
    SMALL_CLASS = "small_class"
    IMBALANCE = "imbalance"
    TOO_FEW_CLASSES = "too_few_classes"
    BAD_CLASS_NAME = "bad_class_name"  # a folder name that cannot be a class (see names.py)


# Problems that mean "this file could not be read": the file is skipped.
FILE_FAILURES = frozenset(
    {
        ProblemKind.EMPTY_FILE,
        ProblemKind.UNREADABLE,
        ProblemKind.NOT_A_FILE,
        ProblemKind.CORRUPT,
        ProblemKind.TRUNCATED,
        ProblemKind.TOO_LARGE,
        ProblemKind.OUT_OF_MEMORY,
        ProblemKind.NO_DATA,
    }
)


@dataclass(frozen=True)
class Problem:
    """Something wrong with a file or the dataset: what, why, and what to do."""

    kind: ProblemKind
    message: str
    advice: str
    path: Path | None = None
    class_name: str | None = None
    severity: Severity = Severity.WARNING
    related: tuple[Path, ...] = ()

    @classmethod
    def of_file(
        cls, exc: ImageError | MemoryError, path: Path, class_name: str | None = None
    ) -> Problem:
        """The problem of one file that could not be read (running out of memory included)."""
        if isinstance(exc, MemoryError):
            exc = out_of_memory()
        return cls(ProblemKind(exc.kind), exc.what, exc.todo, path=path, class_name=class_name)


@dataclass(frozen=True)
class ImageRecord:
    """One readable image of a dataset."""

    path: Path
    class_name: str
    rel_path: str  # relative to its class folder, '/' separators: decides the split
    digest: str  # content hash: keys the feature cache and finds duplicates
    size_bytes: int
    width: int
    height: int
    mode: str
    format: str


@dataclass(frozen=True)
class ScanResult:
    root: Path
    classes: tuple[str, ...]
    images: tuple[ImageRecord, ...]
    problems: tuple[Problem, ...]
    ignored_files: int = 0  # files with extensions Sortscope does not read
    files_seen: int = 0
    max_pixels: int = DEFAULT_MAX_PIXELS  # the pixel limit the images were checked with

    def counts(self) -> dict[str, int]:
        counter = Counter(r.class_name for r in self.images)
        return {c: counter.get(c, 0) for c in self.classes}

    @property
    def high_range_images(self) -> int:
        """FITS, 16-bit and float images: those a stretch applies to."""
        return sum(1 for r in self.images if is_high_range(r.mode, r.format))

    def images_of(self, class_name: str) -> list[ImageRecord]:
        return [r for r in self.images if r.class_name == class_name]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == Severity.ERROR]

    @property
    def usable(self) -> bool:
        return not self.errors


class Split(StrEnum):
    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"


# Shares of each class held out by default, for every front end.
DEFAULT_VALIDATION_PERCENT = 10.0
DEFAULT_TEST_PERCENT = 10.0


@dataclass(frozen=True)
class SplitConfig:
    validation_percent: float = DEFAULT_VALIDATION_PERCENT
    test_percent: float = DEFAULT_TEST_PERCENT


@dataclass(frozen=True)
class ExtractionStats:
    total: int = 0
    from_cache: int = 0
    computed: int = 0
    failed: int = 0
    seconds: float = 0.0
    decode_seconds: float = 0.0  # summed over worker threads, like read and inference
    inference_seconds: float = 0.0
    engine: str = ""  # "tflite", "tflite-int8" or "keras"; empty when nothing was computed
    read_seconds: float = 0.0  # reading and hashing files (I/O)
    startup_seconds: float = 0.0  # loading the engine (and converting it, the first time)
    workers: int = 1
    engine_fallback: str = ""  # why the fast engine could not be used, when Keras ran instead
    cache_warning: str = ""  # why new features could not be cached, if they could not

    def engine_text(self) -> str:
        """The engine named for people, with the reason when the fast one fell back to Keras."""
        if not self.engine:
            return ""
        why = f" (the fast engine could not be used: {self.engine_fallback})"
        return f"{self.engine} engine{why if self.engine_fallback else ''}"

    def breakdown(self) -> str:
        """Where the time went, per image, in a line for people: what limits this run."""
        parts = [f"{self.seconds:.1f} s for {self.total} images"]
        if self.startup_seconds >= 0.05:
            parts.append(f"start-up {self.startup_seconds:.1f} s")
        computed = self.computed + self.failed
        if computed:
            costs = {
                "reading files": self.read_seconds,
                "decoding": self.decode_seconds,
                "inference": self.inference_seconds,
            }
            each = ", ".join(f"{k} {1000 * v / computed:.1f} ms" for k, v in costs.items())
            limit = max(costs, key=costs.get)
            parts.append(
                f"per new image on each of {self.workers} workers: {each} (limited by {limit})"
            )
        if self.from_cache:
            parts.append(f"{self.from_cache} from the cache")
        return "; ".join(parts)


@dataclass(frozen=True)
class FeatureSet:
    """Features for a list of files, in the same order; rows of failed files are zero."""

    features: np.ndarray  # (n, dim) float32
    ok: np.ndarray  # (n,) bool
    digests: tuple[str | None, ...]
    errors: dict[int, Problem] = field(default_factory=dict)
    stats: ExtractionStats = ExtractionStats()


OPTIMIZERS = ("adam", "sgd", "rmsprop")
# transfer: a pretrained backbone's cached features and a small head (optionally fine-tuned);
# mlp and small_cnn are trained from scratch, to show what transfer learning buys.
MODEL_TYPES = ("transfer", "mlp", "small_cnn")
LR_SCHEDULES = ("constant", "cosine", "plateau")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run can be told; recorded in the model file."""

    backbone: str = "efficientnet_lite0"
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 0.001
    optimizer: str = "adam"  # one of OPTIMIZERS; sgd uses momentum 0.9
    validation_percent: float = DEFAULT_VALIDATION_PERCENT
    test_percent: float = DEFAULT_TEST_PERCENT
    hidden_units: int = 0  # 0: a softmax layer straight on the features
    dropout: float = 0.2  # before the hidden layer's output, when there is one
    early_stopping: bool = True
    patience: int = 5  # epochs without validation-loss improvement before stopping
    class_weights: bool = True
    seed: int = 42
    # How FITS and 16-bit/float images become 8-bit pixels (see classifier.preprocessing).
    stretch: str = "auto"
    stretch_low: float = DEFAULT_LOW_PERCENT  # percentiles for the percentile and asinh stretches
    stretch_high: float = DEFAULT_HIGH_PERCENT
    fits_hdu: str | int | None = None  # None: the first extension that holds an image
    model_type: str = "transfer"  # one of MODEL_TYPES
    oversample: bool = False  # repeat small classes' images instead of weighting classes
    # Augmented copies per training image, computed once into the feature cache (0: off).
    augment_copies: int = 0
    augment_flips: bool = False
    augment_rotate90: bool = False
    augment_rotation: float = 0.0  # degrees
    augment_zoom: float = 0.0  # fraction of each side
    augment_brightness: float = 0.0
    augment_contrast: float = 0.0
    # After the head: train the last N blocks of the backbone too, end to end (0: off).
    fine_tune_blocks: int = 0
    fine_tune_epochs: int = 10
    fine_tune_learning_rate: float = 0.0001
    lr_schedule: str = "constant"  # one of LR_SCHEDULES
    tensorboard_dir: str = ""  # log each run's curves here for TensorBoard ("" : off)
    # Speed: fast. The backbone runs as its int8 copy fed by a cheaper JPEG draft (backbones.fast;
    # about twice the images per second, transfer learning without fine-tuning only).
    int8: bool = False

    @property
    def augmentation(self) -> Augmentation:
        return Augmentation(
            self.augment_flips,
            self.augment_rotate90,
            self.augment_rotation,
            self.augment_zoom,
            self.augment_brightness,
            self.augment_contrast,
        )

    @property
    def variants(self) -> Variants | None:
        """The augmented copies to add to the training split, or None."""
        if self.augment_copies <= 0 or not self.augmentation.enabled:
            return None
        return Variants(self.augmentation, self.augment_copies)

    @property
    def fine_tunes(self) -> bool:
        """Whether the backbone's last blocks train after the head (transfer learning only)."""
        return self.model_type == "transfer" and self.fine_tune_blocks > 0

    @property
    def max_epochs(self) -> int:
        """Epochs of a run that never stops early: the head's, then fine-tuning's."""
        return self.epochs + (self.fine_tune_epochs if self.fine_tunes else 0)

    @property
    def split(self) -> SplitConfig:
        return SplitConfig(self.validation_percent, self.test_percent)

    @property
    def preprocessing(self) -> Preprocessing:
        return Preprocessing(self.stretch, self.stretch_low, self.stretch_high, self.fits_hdu)

    def with_preprocessing(self, prep: Preprocessing) -> TrainConfig:
        return replace(
            self,
            stretch=prep.stretch,
            stretch_low=prep.low_percent,
            stretch_high=prep.high_percent,
            fits_hdu=prep.hdu,
        )


@dataclass(frozen=True)
class EpochStats:
    epoch: int  # 1-based
    epochs: int
    loss: float
    accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    seconds: float
    stage: str = FitStage.HEAD  # a FitStage (plain text once read back from a model file)
    learning_rate: float | None = None


@dataclass(frozen=True)
class ClassMetrics:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class ScoredImage:
    """A held-out image with the model's answer."""

    path: Path
    true_label: str
    predicted_label: str
    confidence: float


@dataclass(frozen=True)
class Evaluation:
    """Scores on held-out images; confusion rows are true classes, columns predicted."""

    classes: tuple[str, ...]
    n_images: int
    accuracy: float
    balanced_accuracy: float
    per_class: dict[str, ClassMetrics]
    confusion_matrix: tuple[tuple[int, ...], ...]
    misclassified: tuple[ScoredImage, ...]  # most confident mistakes first
    baseline_accuracy: float  # always answering the largest training class
    baseline_class: str
    images: tuple[ScoredImage, ...] = ()  # every scored image, for clicking through the matrix

    def cell(self, true_label: str, predicted_label: str) -> list[ScoredImage]:
        """The images behind one confusion-matrix cell."""
        return [
            i
            for i in self.images
            if i.true_label == true_label and i.predicted_label == predicted_label
        ]

    def to_json(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "n_images": self.n_images,
            "classes": list(self.classes),
            "per_class": {
                name: {
                    "precision": m.precision,
                    "recall": m.recall,
                    "f1": m.f1,
                    "support": m.support,
                }
                for name, m in self.per_class.items()
            },
            "confusion_matrix": [list(row) for row in self.confusion_matrix],
            "baseline_accuracy": self.baseline_accuracy,
            "baseline_class": self.baseline_class,
        }


# Below this confidence a prediction is labelled "uncertain": the one default of the window, the
# command line and classify_files(). With 2-5 classes a best class under 60% is close to a coin
# toss between two, and those are the images to look at rather than sort blindly.
DEFAULT_THRESHOLD = 0.6


@dataclass(frozen=True)
class Prediction:
    """One classified file: `file` is relative to the classified folder, with '/' separators."""

    file: str
    label: str  # a class name, "uncertain" below the threshold, or "" on error
    confidence: float | None
    probabilities: tuple[float, ...] | None
    error: str = ""
    path: Path | None = None
    extra: tuple[str, ...] = ()  # requested FITS header values, in the order asked for
    digest: str = ""  # the file's content digest: keys the feature cache and review decisions
    novelty: float | None = None  # 0..1 (1 = unlike every training image); None: not scored
