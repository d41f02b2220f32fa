"""The runs of this session side by side: what each trained, how it scored, where it was saved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from classifier.model_info import model_title
from classifier.train import TrainOutcome
from classifier.types import TrainConfig
from ui.widgets import two_lines

COLUMNS = (
    "#",
    "Dataset",
    "Model",
    "Epochs",
    "Learning rate",
    "Optimizer",
    "Hidden",
    "Balance, augmentation, schedule",
    "Test accuracy (baseline)",
    "Saved as",
)
WRAPPED = ("Model", "Balance, augmentation, schedule")  # share the width left, text wrapped


@dataclass(frozen=True)
class Run:
    """One finished training run of this session."""

    config: TrainConfig
    outcome: TrainOutcome
    dataset: Path  # the folder it was trained on
    saved: Path | None = None  # the model file, once saved


def run_summary(c: TrainConfig) -> str:
    """The balance, augmentation and schedule of a run, in a few words (for the runs table)."""
    parts = []
    if c.oversample:
        parts.append("oversampled")
    elif c.class_weights:
        parts.append("class weights")
    if c.variants is not None:
        parts.append(f"{c.augment_copies}x augmented ({c.augmentation.summary()})")
    if c.lr_schedule != "constant":
        parts.append(f"{c.lr_schedule} schedule")
    return ", ".join(parts) or "-"


class RunsTable(QTableWidget):
    """One row per run; clicking a row asks for that run's results."""

    run_chosen = Signal(int)  # row, the run's index in the session

    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS))
        self.setHorizontalHeaderLabels([two_lines(c) for c in COLUMNS])
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Every column fits the page: the two wordy ones share the room left and wrap their
        # text; the rows grow to show it.
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for name in WRAPPED:
            header.setSectionResizeMode(COLUMNS.index(name), QHeaderView.ResizeMode.Stretch)
        self.setWordWrap(True)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.cellClicked.connect(lambda row, _c: self.run_chosen.emit(row))

    def show_run(self, index: int, run: Run) -> None:
        """Fill row `index` (added when it is new) with `run`."""
        config, ev = run.config, run.outcome.evaluation
        self.setRowCount(max(self.rowCount(), index + 1))
        # Folder and file names fit the table; their full paths are one hover away.
        tooltips = {1: str(run.dataset), len(COLUMNS) - 1: str(run.saved or "")}
        values = [
            str(index + 1),
            run.dataset.name,
            model_title(config),
            f"{len(run.outcome.history)}/{config.max_epochs}",
            f"{config.learning_rate:g}",
            config.optimizer,
            str(config.hidden_units) if config.hidden_units else "no",
            run_summary(config),
            f"{ev.accuracy:.1%} ({ev.baseline_accuracy:.1%})",
            run.saved.name if run.saved else "not saved",
        ]
        for column, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setToolTip(tooltips.get(column, ""))
            self.setItem(index, column, item)
