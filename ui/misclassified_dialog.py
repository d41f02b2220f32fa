"""Every image a trained model gets wrong, training and validation images included: a training
image the model keeps getting wrong is often one filed in the wrong class folder. Selected
images can be moved to another class folder ("Move to class…", undone with "Undo move").

The images come from the run's own scores (`TrainOutcome.splits`, computed in the training
task from the cached features); moving files runs in a background task, and the dataset is
scanned again afterwards.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from classifier.dataset_add import plan_move_to_class
from classifier.errors import SortscopeError
from classifier.evaluate import misclassified_images
from classifier.sorting import SortReport, execute_sort, undo_sort
from classifier.types import Evaluation, ScoredImage, Split
from ui.errors import ErrorInfo, show_error
from ui.tasks import TaskRunner
from ui.thumbnails import ThumbnailLoader
from ui.widgets import ThumbnailStrip

SPLIT_TITLES = {Split.TRAIN: "training", Split.VALIDATION: "validation", Split.TEST: "test"}
MOVE_STAGE = "Moving to class"


def counts_text(splits: dict[Split, Evaluation]) -> str:
    """'Wrong: 1 of 161 training images, 0 of 20 validation, 2 of 19 test.'"""
    parts = [
        f"{len(splits[s].misclassified)} of {splits[s].n_images} {SPLIT_TITLES[s]}"
        for s in Split
        if s in splits
    ]
    return "Wrong: " + ", ".join(parts) + " images."


def caption(split: Split, image: ScoredImage) -> str:
    """'green → Red 87%' over '(training)': filed as, predicted, how sure, which split."""
    guess = f"{image.true_label} → {image.predicted_label} {image.confidence:.0%}"
    return f"{guess}\n({SPLIT_TITLES[split]})"


def tooltip(split: Split, image: ScoredImage) -> str:
    return (
        f"{image.path}\n{SPLIT_TITLES[split]} image\nfiled as: {image.true_label}\n"
        f"predicted: {image.predicted_label} ({image.confidence:.1%})"
    )


class MisclassifiedDialog(QDialog):
    """The wrong images of one run, filtered by split, with 'Move to class…' and undo."""

    dataset_changed = Signal(object)  # Path: files moved in this dataset; scan it again

    def __init__(
        self, loader: ThumbnailLoader, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Misclassified images")
        self.resize(820, 560)
        self.runner = runner
        self.root: Path | None = None
        self.classes: tuple[str, ...] = ()
        self.mistakes: list[tuple[Split, ScoredImage]] = []
        # One entry per move, newest last: its undo log and where each image went.
        self.undo_stack: list[tuple[Path, dict[Path, str]]] = []
        self.counts = QLabel()
        self.counts.setWordWrap(True)
        self.show_split = QComboBox()
        self.show_split.addItem("All sets", None)
        for split, title in SPLIT_TITLES.items():
            self.show_split.addItem(f"{title.capitalize()} images", split)
        self.show_split.currentIndexChanged.connect(self._refill)
        self.images = ThumbnailStrip(loader)
        self.images.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.images.itemSelectionChanged.connect(self._sync_buttons)
        self.status = QLabel(
            "Select images filed in the wrong class folder and move them to the right one."
        )
        self.status.setWordWrap(True)
        self.move_button = QPushButton("Move to class…")
        self.move_button.setToolTip(
            "Move the selected images into another class folder of the dataset (the split "
            "of each image stays the same). Can be undone."
        )
        self.move_button.clicked.connect(self.ask_move)
        self.undo_button = QPushButton("Undo move")
        self.undo_button.clicked.connect(self.undo)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        filters = QHBoxLayout()
        filters.addWidget(self.counts, 1)
        filters.addWidget(QLabel("Show"))
        filters.addWidget(self.show_split)
        buttons = QHBoxLayout()
        buttons.addWidget(self.move_button)
        buttons.addWidget(self.undo_button)
        buttons.addStretch()
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.images, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self._sync_buttons()

    def show_run(self, splits: dict[Split, Evaluation], dataset: Path) -> None:
        """Show the wrong images of a run trained on `dataset`."""
        self.root = Path(dataset)
        self.classes = next(iter(splits.values())).classes if splits else ()
        self.mistakes = misclassified_images(splits)
        self.undo_stack = []
        self.counts.setText(
            counts_text(splits) + " A training image the model gets wrong is often one "
            "filed in the wrong class folder."
        )
        self._refill()

    def shown_images(self) -> list[tuple[Split, ScoredImage]]:
        split = self.show_split.currentData()
        return [(s, i) for s, i in self.mistakes if split is None or s == split]

    def _refill(self) -> None:
        shown = self.shown_images()
        self.images.show_items([(i.path, caption(s, i), tooltip(s, i)) for s, i in shown])
        moved = {path: name for _log, targets in self.undo_stack for path, name in targets.items()}
        for row in range(self.images.count()):
            item = self.images.item(row)
            target = moved.get(item.data(Qt.ItemDataRole.UserRole))
            if target is not None:
                self._mark_moved(item, target)
        if not shown:
            self.status.setText("No misclassified images here.")
        self._sync_buttons()

    def _mark_moved(self, item, target: str) -> None:
        item.setText(f"moved to {target}\n(train again)")
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)

    def selected_paths(self) -> list[Path]:
        return [i.data(Qt.ItemDataRole.UserRole) for i in self.images.selectedItems()]

    def _sync_buttons(self) -> None:
        busy = self.runner.is_running("move-to-class")
        self.move_button.setEnabled(bool(self.selected_paths()) and not busy)
        self.undo_button.setEnabled(bool(self.undo_stack) and not busy)

    # --- moving ---------------------------------------------------------------------------

    def ask_move(self) -> None:
        paths = self.selected_paths()
        if not paths or not self.classes:
            return
        predicted = {i.path: i.predicted_label for _s, i in self.mistakes}
        suggested = self.classes.index(predicted.get(paths[0], self.classes[0]))
        name, ok = QInputDialog.getItem(
            self,
            "Move to class",
            f"Move {len(paths)} image(s) into the folder of the class:",
            list(self.classes),
            suggested,
            False,
        )
        if ok:
            self.move_to(paths, name)

    def move_to(self, paths: list[Path], class_name: str) -> None:
        """Move `paths` into the dataset's `class_name` folder in the background."""
        try:
            plan = plan_move_to_class(paths, self.root, class_name)
        except SortscopeError as exc:
            show_error(self, ErrorInfo.from_exception(exc))
            return
        targets = {a.source: class_name for a in plan.actions}

        def done(report: SortReport) -> None:
            self.undo_stack.append((report.log, targets))
            self._refill()
            self.status.setText(
                f"Moved {report.done} image(s) to '{class_name}'. The dataset is scanned again; "
                "train again to learn from the change."
            )
            self.dataset_changed.emit(self.root)

        self._run(lambda ctx: execute_sort(plan, ctx.progress, ctx.cancel, stage=MOVE_STAGE), done)

    def undo(self) -> None:
        """Put the images of the last move back where they were."""
        if not self.undo_stack:
            return
        log = self.undo_stack[-1][0]

        def done(restored: int) -> None:
            self.undo_stack.pop()
            self._refill()
            self.status.setText(f"Undone: {restored} image(s) are back where they were.")
            self.dataset_changed.emit(self.root)

        self._run(lambda ctx: undo_sort(log, ctx.progress, ctx.cancel), done)

    def _run(self, job, done) -> None:
        def failed(info: ErrorInfo) -> None:
            self._sync_buttons()
            show_error(self, info)

        def finished(result) -> None:
            done(result)
            self._sync_buttons()

        self.runner.start("move-to-class", job, finished=finished, failed=failed)
        self._sync_buttons()
