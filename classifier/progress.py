"""Progress reports and cancellation, shared by the command line and the GUI task runner."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from classifier.errors import Cancelled


class Stage(StrEnum):
    """What a long job is doing, as its progress reports and the terminal name it.

    Sorting, adding to a dataset and downloading name what they work on after the stage
    ("Sorting (copy)", "Downloading EfficientNet-B0"): compare those with `startswith`.
    """

    LISTING_FILES = "Listing files"
    CHECKING_IMAGES = "Checking images"
    EXTRACTING_FEATURES = "Extracting features"
    AUGMENTING_IMAGES = "Augmenting images"
    LOADING_IMAGES = "Loading images"
    TRAINING = "Training"
    SORTING = "Sorting"
    UNDOING_SORT = "Undoing sort"
    DOWNLOADING = "Downloading"
    CHECKING_DUPLICATES = "Checking the dataset for duplicates"
    ADDING_TO_DATASET = "Adding to the dataset"  # then the mode, as for sorting


class FitStage(StrEnum):
    """The part of a training run an epoch belongs to (EpochStats.stage)."""

    HEAD = "head"  # the classifier on cached features
    FINE_TUNE = "fine-tune"  # the backbone's last blocks and the head, from images
    END_TO_END = "end-to-end"  # a model trained from scratch, from images


@dataclass(frozen=True)
class Progress:
    """Where a long job stands. `total` is 0 while it is not yet known."""

    stage: str  # a Stage, or a Stage followed by what it works on
    done: int
    total: int = 0
    rate: float = 0.0  # items per second since the stage began
    message: str = ""

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None

    @property
    def seconds_left(self) -> float | None:
        if not self.total or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.rate)


ProgressCallback = Callable[[Progress], None]


def ignore_progress(_: Progress) -> None:
    """A progress callback for callers that do not want reports."""


class CancelToken:
    """Set from any thread; long jobs call `check()` between units of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


class StageClock:
    """Builds Progress values for one stage with a running items-per-second rate."""

    def __init__(self, stage: str, total: int = 0, callback: ProgressCallback | None = None):
        self.stage = stage
        self.total = total
        self.callback = callback or ignore_progress
        self._start = time.perf_counter()

    def report(self, done: int, message: str = "") -> None:
        elapsed = time.perf_counter() - self._start
        rate = done / elapsed if elapsed > 0 and done else 0.0
        self.callback(Progress(self.stage, done, self.total, rate, message))
