"""Suspected label errors in the dataset browser: the "Check labels" control, and a suspect
shown beside typical images of its folder's class and of the class the network suggests.

The check is the core's `check_labels` (classifier/quality.py) run as a task with progress and
cancel; its suspects become rows of the problems panel (ui/problems_panel.py). "Typical" images
of a class are those the out-of-fold model was surest belong to it: the highest out-of-fold
probability of their own class, read from the same check (no second pass over the features).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from classifier.backbones import DEFAULT_BACKBONE, get_backbone
from classifier.quality import KeptLabels, LabelCheck, LabelIssue, check_labels
from classifier.types import ScanResult
from ui.errors import show_error
from ui.image_preview import ImagePreview
from ui.state import AppState
from ui.tasks import TaskRunner
from ui.thumbnails import ThumbnailLoader
from ui.widgets import TaskProgress, ThumbnailStrip

TASK = "check-labels"
TYPICAL = 4  # typical images shown per class
TYPICAL_SIZE = 60
SUSPECT_SIZE = 240


def typical_images(
    scan: ScanResult, check: LabelCheck, class_name: str, n: int = TYPICAL, exclude=()
) -> list[Path]:
    """Up to `n` images in `class_name`'s folder that the out-of-fold model put there most
    surely, best first; `exclude` (paths) and files gone since the check are skipped."""
    if class_name not in scan.classes or not len(check.checked):
        return []
    column = scan.classes.index(class_name)
    records = [scan.images[i] for i in check.checked]
    rows = np.array([i for i, r in enumerate(records) if r.class_name == class_name], dtype=int)
    if not len(rows):
        return []
    order = rows[np.argsort(-check.probabilities[rows, column], kind="stable")]
    skip = set(exclude)
    out: list[Path] = []
    for row in order:
        path = records[row].path
        if path not in skip and path.exists():
            out.append(path)
            if len(out) == n:
                break
    return out


class LabelCheckControl(QWidget):
    """The "Check labels" button and its progress; `checked` carries the scan it checked and
    the outcome (a LabelCheck); suspects in `kept` (the data folder's store) are left out."""

    checked = Signal(object, object)  # ScanResult, LabelCheck

    def __init__(
        self,
        state: AppState,
        runner: TaskRunner,
        kept: KeptLabels,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.kept = kept  # shared with whoever records "Keep as is"
        self.backbone_name = DEFAULT_BACKBONE  # whose cached features are compared
        self.button = QPushButton("Check labels")
        self.button.setToolTip(
            "Look for images that seem to be in the wrong class folder; they are listed here "
            "as problems (uses the cached features; the first check computes them)."
        )
        self.button.clicked.connect(self.start)
        self.progress = TaskProgress()
        self.progress.cancel_requested.connect(lambda: self.runner.cancel(TASK))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.progress)
        layout.addWidget(self.button)
        state.scan_changed.connect(self._scan_changed)
        self._root: Path | None = None
        self._scan_changed(state.scan)

    def _scan_changed(self, scan: ScanResult | None) -> None:
        self.button.setEnabled(scan is not None and scan.usable and not self.busy())
        root = scan.root if scan is not None else None
        if root != self._root:  # another dataset: a check of the old one means nothing
            self.runner.cancel(TASK)
            self._root = root

    def busy(self) -> bool:
        return self.runner.is_running(TASK)

    def start(self) -> None:
        scan = self.state.scan
        if scan is None or not scan.usable:
            return
        prep, kept, name = self.state.preprocessing, self.kept, self.backbone_name
        self.button.setEnabled(False)
        self.progress.start("Checking labels")

        def job(ctx):
            return check_labels(
                scan,
                get_backbone(name),
                prep=prep,
                progress=ctx.progress,
                cancel=ctx.cancel,
                kept=kept,
            )

        self.runner.start(
            TASK,
            job,
            progressed=self.progress.update_progress,
            finished=lambda check: self._ended(check=(scan, check)),
            failed=lambda info: self._ended(info=info),
            cancelled=self._ended,
        )

    def _ended(self, check=None, info=None) -> None:
        self.progress.finish()
        self.button.setEnabled(self.state.scan is not None and self.state.scan.usable)
        if info is not None:
            show_error(self, info)
        if check is not None and check[0].root == self._root:
            self.checked.emit(*check)

    def shutdown(self) -> None:
        self.runner.cancel(TASK)


class SuspectCompare(QWidget):
    """One suspect, large, above typical images of its folder's class and of the suggested
    class, with "Move to <suggested>" and "Keep as is" where the eye already is."""

    move_requested = Signal()
    keep_requested = Signal()

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.issue: LabelIssue | None = None
        self.image = ImagePreview(
            runner, "suspect-preview", size=SUSPECT_SIZE, minimum=160, placeholder=""
        )
        self.loaders = [ThumbnailLoader(TYPICAL_SIZE, threads=1, parent=self) for _ in range(2)]
        self.captions = [QLabel(), QLabel()]
        self.strips = [ThumbnailStrip(loader) for loader in self.loaders]
        for strip in self.strips:  # one row each; a thumbnail's tooltip names its file
            strip.setFlow(ThumbnailStrip.Flow.LeftToRight)
            strip.setWrapping(False)
            strip.setGridSize(QSize(TYPICAL_SIZE + 10, TYPICAL_SIZE + 10))
            strip.setFixedHeight(TYPICAL_SIZE + 24)
        self.move_button = QPushButton("Move to …")
        self.move_button.clicked.connect(self.move_requested)
        self.keep_button = QPushButton("Keep as is")
        self.keep_button.setToolTip("The folder is right: do not flag this image again.")
        self.keep_button.clicked.connect(self.keep_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.move_button)
        buttons.addWidget(self.keep_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.image, 1)
        layout.addLayout(buttons)
        for caption, strip in zip(self.captions, self.strips, strict=True):
            caption.setWordWrap(True)
            layout.addWidget(caption)
            layout.addWidget(strip)

    def show_suspect(self, issue: LabelIssue, scan: ScanResult, check: LabelCheck, prep) -> None:
        self.issue = issue
        info = (
            f"<b>{escape(issue.file)}</b><br>in <b>{escape(issue.class_name)}</b> · looks like "
            f"<b>{escape(issue.suggested)}</b> ({issue.suggested_probability:.0%} sure)"
        )
        self.image.show_image(issue.path, prep, info)
        self.move_button.setText(f"Move to {issue.suggested}")
        for loader in self.loaders:
            loader.set_preprocessing(prep)
        sides = (
            (issue.class_name, "the folder it is in"),
            (issue.suggested, "the class the network suggests"),
        )
        for (name, role), caption, strip in zip(sides, self.captions, self.strips, strict=True):
            paths = typical_images(scan, check, name, exclude=(issue.path,))
            caption.setText(
                f"Typical <b>{escape(name)}</b> ({role})" if paths else f"No other {name} images"
            )
            strip.show_items([(p, "", str(p)) for p in paths])

    def typical_shown(self) -> list[list[Path]]:
        """The typical images on show, per strip (for tests and screenshots)."""
        return [list(strip._items) for strip in self.strips]

    def shutdown(self) -> None:
        for loader in self.loaders:
            loader.shutdown()
