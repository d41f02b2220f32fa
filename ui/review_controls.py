"""The Classify area's review actions: review mode, add reviewed images, retrain with them.

One object the Classify area holds: it opens the batch's review journal when a run finishes,
feeds the results table its Reviewed column, and owns the buttons of the labelling loop.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from classifier.dataset_add import AddPlan, execute_add, reviewed_items, undo_add
from classifier.errors import SortscopeError
from classifier.modelfile import SortscopeModel
from classifier.rescore import relabel, rescore
from classifier.retrain import trained_on
from classifier.types import Prediction
from ui.add_to_dataset_dialog import AddToDatasetDialog
from ui.errors import ErrorInfo, show_error
from ui.results_table import ResultsTable
from ui.retrain_panel import RetrainDialog
from ui.review_session import ReviewSession
from ui.review_view import ReviewView
from ui.state import AppState
from ui.tasks import TaskRunner
from ui.widgets import TaskProgress


class ReviewControls(QWidget):
    enter_requested = Signal()  # show the review mode
    rescored = Signal()  # the batch was re-scored by another model (after a retrain)

    def __init__(
        self,
        state: AppState,
        runner: TaskRunner,
        settings: QSettings,
        table: ResultsTable,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.runner = runner
        self.settings = settings
        self.table = table
        self.session = ReviewSession(self)
        self.view = ReviewView(self.session, table.shown_rows, runner)
        table.results.set_reviewed(self.session.label_text)
        self.session.changed.connect(self._changed)
        self.review_button = QPushButton("Review…")
        self.review_button.setToolTip(
            "Go through the results least certain first and correct them with one key each."
        )
        self.review_button.clicked.connect(self.enter_requested)
        self.dataset: Path | None = None  # the dataset reviewed images were last added to
        self.last_add_log: Path | None = None
        self.progress = TaskProgress()
        self.progress.cancel_requested.connect(lambda: self.runner.cancel("review-files"))
        self.add_button = QPushButton("Add reviewed images to dataset…")
        self.add_button.setToolTip(
            "Copy or move the reviewed images into the dataset's class folders, for training."
        )
        self.add_button.clicked.connect(self.add_to_dataset)
        self.undo_add_button = QPushButton("Undo add")
        self.undo_add_button.clicked.connect(self.undo_last_add)
        self.retrain_button = QPushButton("Retrain with corrections…")
        self.retrain_button.setToolTip(
            "Train the model again on its dataset, with the images you added, in seconds "
            "(cached features), and compare the scores."
        )
        self.retrain_button.clicked.connect(self.retrain)
        self.retrain_dialog: RetrainDialog | None = None
        self.view_add = self.view.add_action("Add to dataset…", self.add_to_dataset)
        self.view_retrain = self.view.add_action("Retrain…", self.retrain)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.counter = QLabel()  # reviewed 37 of 1,204 · 5 corrected
        layout.addWidget(self.progress)
        layout.addWidget(self.counter)
        layout.addWidget(self.review_button)
        layout.addWidget(self.add_button)
        layout.addWidget(self.undo_add_button)
        layout.addWidget(self.retrain_button)
        self._changed()

    def batch_finished(self, folder: Path, model: SortscopeModel, rows: list[Prediction]) -> None:
        """A run finished: review its rows; decisions made earlier for them come back."""
        try:
            self.session.open(folder, model, rows)
        except SortscopeError as error:
            show_error(self, ErrorInfo(error.what, error.todo))

    def batch_started(self) -> None:
        self.session.close()

    def reviewed_labels(self, rows: list[Prediction]) -> dict[str, str]:
        return self.session.reviewed_labels(rows)

    def _changed(self) -> None:
        # The table's Reviewed column is refreshed when the table shows again (leave_review):
        # a change signal over a million rows per key press would cost the proxy seconds.
        counts = self.session.counts
        self.counter.setText(counts.text() if self.session.active and counts.reviewed else "")
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.runner.is_running("review-files")
        active = self.session.active
        self.review_button.setEnabled(active)
        self.add_button.setEnabled(active and self.session.counts.reviewed > 0 and not busy)
        self.undo_add_button.setEnabled(self.last_add_log is not None and not busy)
        self.retrain_button.setEnabled(active and not self.runner.is_running("retrain"))
        self.view_add.setEnabled(self.add_button.isEnabled())
        self.view_retrain.setEnabled(self.retrain_button.isEnabled())

    # --- adding to the dataset --------------------------------------------------------------

    def default_dataset(self) -> Path | None:
        """The dataset last added to, else the one the batch's model was trained on."""
        model = self.session.model
        return self.dataset or (trained_on(model.info) if model is not None else None)

    def add_to_dataset(self) -> None:
        dialog = self.add_dialog()
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.plan is not None:
            self.run_add(dialog.plan)

    def add_dialog(self) -> AddToDatasetDialog:
        rows, journal = list(self.session.rows), self.session.journal
        return AddToDatasetDialog(
            lambda: reviewed_items(rows, journal) if journal is not None else [],
            self.default_dataset(),
            self.runner,
            self,
        )

    def run_add(self, plan: AddPlan) -> None:
        self.progress.start("Adding to the dataset…")

        def done(report) -> None:
            self.progress.finish()
            self.dataset = plan.dataset
            self.last_add_log = report.log
            self._update_buttons()
            state = "stopped after" if report.cancelled else "added"
            self.state.status.emit(
                f"Dataset {plan.dataset.name}: {state} {report.done} images"
                f" ({plan.skipped_duplicates} already there)"
            )

        self._run_files(lambda ctx: execute_add(plan, ctx.progress, ctx.cancel), done, keep=True)

    def undo_last_add(self) -> None:
        log = self.last_add_log
        if log is None:
            return
        self.progress.start("Undoing the add…")

        def done(count: int) -> None:
            self.progress.finish()
            self.last_add_log = None
            self._update_buttons()
            self.state.status.emit(f"Undid adding {count} images to the dataset")

        self._run_files(lambda ctx: undo_add(log, ctx.progress, ctx.cancel), done)

    def _run_files(self, job, done, keep: bool = False) -> None:
        """Run file work; with `keep`, a cancelled run still hands over its report (the undo
        log of what was done before the cancel)."""
        report = []

        def run(ctx):
            report.append(job(ctx))
            return report[0]

        def failed(info: ErrorInfo) -> None:
            self.progress.finish()
            self._update_buttons()
            show_error(self, info)

        def cancelled() -> None:
            if keep and report:
                done(report[0])
                return
            self.progress.finish()
            self._update_buttons()

        self.runner.start(
            "review-files",
            run,
            progressed=self.progress.update_progress,
            finished=done,
            failed=failed,
            cancelled=cancelled,
        )
        self._update_buttons()

    def shutdown(self) -> None:
        self.view.shutdown()
        self.session.close()

    # --- retraining -------------------------------------------------------------------------

    def retrain(self) -> RetrainDialog | None:
        """Open the retrain dialog and start retraining the batch's model."""
        if self.retrain_dialog is not None and self.runner.is_running("retrain"):
            self.retrain_dialog.raise_()  # one retrain at a time
            return self.retrain_dialog
        model, journal = self.session.model, self.session.journal
        if model is None or journal is None:
            return None
        old_path = self.state.model_path if self.state.model is model else None
        self.retrain_dialog = RetrainDialog(
            model,
            old_path,
            journal.class_labels(),
            self.default_dataset(),
            self.runner,
            self.state,
            self.settings,
            self.apply_model,
            self,
        )
        self.retrain_dialog.show()
        self.retrain_dialog.start()
        return self.retrain_dialog

    def apply_model(self, model: SortscopeModel, path: Path | None) -> None:
        """Re-score the batch with `model` from cached features (no decoding), make it the
        model for Classify, and carry the review decisions over to its journal."""
        rows, threshold = list(self.session.rows), self.table.results.threshold
        names = tuple(model.class_names)

        def job(ctx):
            p, found = rescore(rows, model)
            out = relabel(rows, p, names, threshold)
            for i in np.flatnonzero(~found):  # not in the cache: no scores for the new model
                if out[i].probabilities is not None:
                    out[i] = replace(
                        out[i],
                        label="",
                        confidence=None,
                        probabilities=None,
                        error="Not re-scored (its features are not cached): classify again.",
                    )
            return out

        def done(new_rows: list[Prediction]) -> None:
            self.table.reset(names, self.table.results.extra_columns)
            self.table.append([new_rows])
            self.table.sort_as_shown()
            try:
                adopted = self.session.switch_model(model, self.table.results.rows)
            except SortscopeError as error:
                show_error(self, ErrorInfo(error.what, error.todo))
                return
            self.state.set_model(model, path)
            self.rescored.emit()
            self.state.status.emit(
                f"Re-scored {len(new_rows):,} images with the "
                f"{'new' if path is None else 'chosen'} model; {adopted} decisions carried over."
            )

        self.runner.start("rescore", job, finished=done, failed=lambda info: show_error(self, info))
