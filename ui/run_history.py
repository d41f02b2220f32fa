"""The Runs page of the Train area: every run, this session's and earlier ones', newest first,
with what can be done with them: open one as it was, compare two, reuse one's options, open its
saved model in Classify, delete. It adapts `classifier.run_history`; the records are read off the
GUI thread when the window opens.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from classifier import run_history
from classifier.run_history import History
from ui.errors import ErrorInfo, show_error
from ui.run_dialogs import CompareDialog, RunDialog
from ui.runs_table import Run, RunsTable
from ui.tasks import TaskRunner
from ui.thumbnails import ThumbnailLoader
from ui.widgets import hint


class RunHistoryPanel(QWidget):
    """The runs table and its buttons; `runs` is oldest first (the table shows newest first)."""

    session_run_chosen = Signal(int)  # a run of this session clicked: show it on Results
    options_chosen = Signal(object)  # TrainConfig: fill the training form with it
    model_chosen = Signal(object)  # Path of a saved model: open it in Classify
    # Runs were inserted or deleted: old index -> new index, or None for a deleted run.
    reindexed = Signal(object)

    def __init__(
        self, runner: TaskRunner, loader: ThumbnailLoader, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.loader = loader
        self.runs: list[Run] = []
        self.dialogs: list[QWidget] = []  # open run and comparison windows
        self.table = RunsTable()
        self.table.run_chosen.connect(self._chosen)
        self.table.run_opened.connect(self.open_run)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.open_button = self._button("Open", "See the run's curves and results as they were")
        self.open_button.clicked.connect(lambda: self.open_run(self._one()))
        self.compare_button = self._button(
            "Compare", "Select two runs (Ctrl+click) to see them side by side"
        )
        self.compare_button.clicked.connect(self.compare_selected)
        self.options_button = self._button(
            "Use these options", "Fill the training form with this run's options"
        )
        self.options_button.clicked.connect(
            lambda: self.options_chosen.emit(self.runs[self._one()].config)
        )
        self.model_button = self._button(
            "Open model in Classify", "Classify images with the model this run was saved as"
        )
        self.model_button.clicked.connect(self._open_model)
        self.delete_button = self._button("Delete…", "Remove the selected runs from the history")
        self.delete_button.clicked.connect(self.delete_selected)
        self.notes = hint("")
        self.notes.setVisible(False)
        # Two rows, so the page stays narrow enough for the Train area's splitter.
        first, second = QHBoxLayout(), QHBoxLayout()
        for button in (self.open_button, self.compare_button, self.options_button):
            first.addWidget(button)
        first.addStretch()
        second.addWidget(self.model_button)
        second.addStretch()
        second.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(first)
        layout.addLayout(second)
        layout.addWidget(
            hint(
                "Every finished run is kept in the run history, also after Sortscope closes. "
                "A model is kept only when it was saved; the others can be looked at, compared "
                "and trained again with the same options."
            )
        )
        layout.addWidget(self.notes)
        self._update_buttons()

    def _button(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        return button

    # --- the list ---------------------------------------------------------------------

    def load(self) -> None:
        """Read the history off the GUI thread; earlier runs join this session's."""
        self.runner.start(
            "run-history",
            lambda ctx: run_history.load(),
            finished=self.set_history,
            failed=lambda info: self._note(f"The run history could not be read: {info.what}"),
        )

    def set_history(self, history: History) -> None:
        known = {run.record.id for run in self.runs}
        earlier = [Run(r) for r in reversed(history.runs) if r.id not in known]  # oldest first
        self.runs[:0] = earlier
        self.table.show_runs(self.runs)
        if earlier:
            self.reindexed.emit(lambda old: old + len(earlier))
        if history.notes:
            self._note(
                f"{len(history.notes)} file(s) of the run history could not be read and were "
                "skipped: " + " ".join(history.notes)
            )

    def add(self, run: Run) -> int:
        """Append a run of this session; returns its index."""
        self.runs.append(run)
        self.table.show_runs(self.runs)
        return len(self.runs) - 1

    def index_of(self, record_id: str) -> int | None:
        for index, run in enumerate(self.runs):
            if run.record.id == record_id:
                return index
        return None

    def replace(self, index: int, run: Run) -> None:
        self.runs[index] = run
        self.table.show_runs(self.runs)

    def _note(self, text: str) -> None:
        self.notes.setText(text)
        self.notes.setVisible(True)

    # --- actions ----------------------------------------------------------------------

    def _one(self) -> int:
        selected = self.table.selected_indices()
        return selected[0] if len(selected) == 1 else -1

    def _update_buttons(self) -> None:
        selected = self.table.selected_indices()
        one = len(selected) == 1
        self.open_button.setEnabled(one)
        self.options_button.setEnabled(one)
        self.compare_button.setEnabled(len(selected) == 2)
        self.delete_button.setEnabled(bool(selected))
        saved = one and run_history.saved_model(self.runs[selected[0]].record) is not None
        self.model_button.setEnabled(saved)

    def _chosen(self, index: int) -> None:
        if self.runs[index].outcome is not None:
            self.session_run_chosen.emit(index)

    def open_run(self, index: int) -> None:
        """This session's run on the Results page; an earlier one in a window of its own."""
        if not 0 <= index < len(self.runs):
            return
        run = self.runs[index]
        if run.outcome is not None:
            self.session_run_chosen.emit(index)
            return
        self._show(RunDialog(run.record, self.loader, self))

    def compare_selected(self) -> CompareDialog | None:
        selected = self.table.selected_indices()
        if len(selected) != 2:
            return None
        older, newer = (self.runs[i].record for i in selected)
        dialog = CompareDialog(older, newer, self)
        self._show(dialog)
        return dialog

    def _show(self, dialog: QWidget) -> None:
        self.dialogs = [d for d in self.dialogs if d.isVisible()] + [dialog]
        dialog.show()

    def _open_model(self) -> None:
        index = self._one()
        model = run_history.saved_model(self.runs[index].record) if index >= 0 else None
        if model is not None:
            self.model_chosen.emit(Path(model))

    def delete_selected(self, ask: bool = True) -> None:
        selected = self.table.selected_indices()
        if not selected:
            return
        unsaved = [
            i for i in selected if self.runs[i].outcome is not None and not self.runs[i].saved
        ]
        text = f"Remove {len(selected)} run(s) from the run history? Saved model files are kept."
        if unsaved:
            text += " The model of a run of this session that was not saved is lost."
        if ask and (
            QMessageBox.question(self, "Delete runs", text) != QMessageBox.StandardButton.Yes
        ):
            return
        try:
            for index in selected:
                run_history.delete(self.runs[index].record)
        except OSError as exc:
            show_error(
                self,
                ErrorInfo(
                    f"A run could not be removed from the history ({exc}).",
                    "Check that the data folder (Help ▸ About) can be written to.",
                ),
            )
        kept = [i for i in range(len(self.runs)) if i not in selected]
        self.runs = [self.runs[i] for i in kept]
        self.table.show_runs(self.runs)
        new_index = {old: new for new, old in enumerate(kept)}
        self.reindexed.emit(new_index.get)
