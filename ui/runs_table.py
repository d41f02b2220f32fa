"""The runs side by side, newest first, this session's and earlier ones' (the run history): what
each trained, on which dataset, how it scored, and where its model was saved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from classifier.model_info import model_title
from classifier.run_history import RunRecord
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
    """A finished run: its history record, and this session's outcome while the run's model is
    still in memory (runs of earlier sessions have only the record: their model was not kept,
    unless it was saved)."""

    record: RunRecord
    outcome: TrainOutcome | None = None

    @property
    def config(self) -> TrainConfig:
        return self.record.config

    @property
    def dataset(self) -> Path | None:
        return self.record.dataset

    @property
    def saved(self) -> Path | None:
        return self.record.saved

    @property
    def evaluation(self):
        return self.outcome.evaluation if self.outcome is not None else self.record.evaluation


def saved_text(run: Run) -> str:
    if run.saved is not None:
        return run.saved.name  # the full path is the cell's tooltip
    if run.outcome is None:
        return "not saved (the model was not kept)"
    return "not saved"


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
    """One row per run, newest first; clicking a row asks for that run's results."""

    run_chosen = Signal(int)  # the run's index in the list shown (oldest first)
    run_opened = Signal(int)  # double-click: the same index

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
        self.cellClicked.connect(lambda row, _c: self.run_chosen.emit(self.index_of_row(row)))
        self.cellDoubleClicked.connect(lambda row, _c: self.run_opened.emit(self.index_of_row(row)))

    def index_of_row(self, row: int) -> int:
        return self.rowCount() - 1 - row  # the newest run is the top row

    def selected_indices(self) -> list[int]:
        rows = {index.row() for index in self.selectionModel().selectedRows()}
        return sorted(self.index_of_row(row) for row in rows)

    def show_runs(self, runs: list[Run]) -> None:
        """Show `runs` (oldest first) newest first."""
        self.setRowCount(len(runs))
        for index, run in enumerate(runs):
            self._fill(self.rowCount() - 1 - index, index, run)

    def _fill(self, row: int, index: int, run: Run) -> None:
        config, ev = run.config, run.evaluation
        # Folder and file names fit the table; their full paths are one hover away.
        tooltips = {1: str(run.dataset or ""), len(COLUMNS) - 1: str(run.saved or "")}
        values = [
            str(index + 1),
            run.dataset.name if run.dataset else "?",
            model_title(config),
            f"{len(run.record.run.history)}/{config.max_epochs}",
            f"{config.learning_rate:g}",
            config.optimizer,
            str(config.hidden_units) if config.hidden_units else "no",
            run_summary(config),
            f"{ev.accuracy:.1%} ({ev.baseline_accuracy:.1%})",
            saved_text(run),
        ]
        for column, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setToolTip(tooltips.get(column, ""))
            self.setItem(row, column, item)
