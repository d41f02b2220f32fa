"""Plain data passed between the stages of the core and to the command line and GUI."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np


class Severity(StrEnum):
    ERROR = "error"  # the dataset cannot be trained on as it is
    WARNING = "warning"  # a file is skipped, or results may suffer
    INFO = "info"


class ProblemKind(StrEnum):
    EMPTY_FILE = "empty_file"
    UNREADABLE = "unreadable"
    CORRUPT = "corrupt"
    TRUNCATED = "truncated"
    TOO_LARGE = "too_large"
    DUPLICATE = "duplicate"
    DUPLICATE_ACROSS_CLASSES = "duplicate_across_classes"
    STRAY_FILE = "stray_file"
    EMPTY_CLASS = "empty_class"
    SMALL_CLASS = "small_class"
    IMBALANCE = "imbalance"
    TOO_FEW_CLASSES = "too_few_classes"


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

    def counts(self) -> dict[str, int]:
        counter = Counter(r.class_name for r in self.images)
        return {c: counter.get(c, 0) for c in self.classes}

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


@dataclass(frozen=True)
class SplitConfig:
    validation_percent: float = 10.0
    test_percent: float = 10.0


@dataclass(frozen=True)
class ExtractionStats:
    total: int = 0
    from_cache: int = 0
    computed: int = 0
    failed: int = 0
    seconds: float = 0.0
    decode_seconds: float = 0.0  # summed over worker threads
    inference_seconds: float = 0.0


@dataclass(frozen=True)
class FeatureSet:
    """Features for a list of files, in the same order; rows of failed files are zero."""

    features: np.ndarray  # (n, dim) float32
    ok: np.ndarray  # (n,) bool
    digests: tuple[str | None, ...]
    errors: dict[int, Problem] = field(default_factory=dict)
    stats: ExtractionStats = ExtractionStats()
