"""Retrain with corrections: the head fitted again in a task, both scores side by side.

`classifier.retrain.retrain_with_corrections` does the work off the GUI thread (progress and
Cancel here). The new model is a new run: it joins the run history and the Train area's runs
(`AppState.run_recorded`), and it is never written over a model file; "Save new model…" saves
it under a new name and links the run to that file. When it is done the Classify area switches
to it (the batch re-scored from cached features, the review queue reordered, the decisions
carried over), and "Keep the old model" switches back the same way.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from classifier import run_history
from classifier.modelfile import SortscopeModel
from classifier.retrain import RetrainResult, retrain_with_corrections
from ui import settings as keys
from ui.errors import ErrorInfo, show_error
from ui.runs_table import Run
from ui.state import AppState
from ui.tasks import TaskRunner
from ui.train_saving import save_and_link
from ui.widgets import TaskProgress

ApplyModel = Callable[[SortscopeModel, Path | None], None]


class RetrainDialog(QDialog):
    """Runs at once when opened; then says what changed and offers to save the new model."""

    def __init__(
        self,
        old: SortscopeModel,
        old_path: Path | None,
        corrections: dict[str, str],
        dataset: Path | None,
        runner: TaskRunner,
        state: AppState,
        settings: QSettings,
        apply_model: ApplyModel,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Retrain with corrections")
        self.old, self.old_path = old, old_path
        self.corrections = corrections
        self.dataset = dataset
        self.runner, self.state, self.settings = runner, state, settings
        self.apply_model = apply_model
        self.outcome: RetrainResult | None = None
        self.run: Run | None = None  # the new run, as the run history keeps it
        self.saved: Path | None = None
        self.text = QLabel(
            f"Training again on <b>{html.escape(str(dataset or 'the model’s dataset'))}</b> "
            f"with the previous run’s options; {len(corrections)} reviewed image(s) named a "
            "class. Images already in the feature cache are not decoded again."
        )
        self.text.setWordWrap(True)
        self.scores = QLabel()
        self.scores.setWordWrap(True)
        self.progress = TaskProgress()
        self.progress.cancel_requested.connect(lambda: self.runner.cancel("retrain"))
        self.buttons = QDialogButtonBox()
        self.save_button = QPushButton("Save new model…")
        self.save_button.clicked.connect(self.choose_save_path)
        self.keep_old = QPushButton("Keep the old model")
        self.keep_old.setToolTip("Classify and review with the model you had before.")
        self.keep_old.clicked.connect(self._keep_old)
        close = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.close)
        self.buttons.addButton(self.keep_old, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        for button in (self.save_button, self.keep_old):
            button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.progress)
        layout.addWidget(self.scores)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.resize(620, 220)

    def start(self) -> None:
        old, corrections, dataset = self.old, self.corrections, self.dataset
        self.progress.start("Retraining…")
        self.scores.setText("")
        self.runner.start(
            "retrain",
            lambda ctx: _retrain_and_remember(old, corrections, dataset, ctx),
            progressed=self.progress.update_progress,
            finished=lambda done: self._finished(*done),
            failed=self._failed,
            cancelled=self._cancelled,
        )

    def _finished(self, result: RetrainResult, run: Run, history_warning: str) -> None:
        self.progress.finish()
        self.outcome, self.run = result, run
        old, new = result.old_score, result.new_score
        lines = [
            f"<b>Test accuracy: {old.accuracy:.1%} before → {new.accuracy:.1%} after</b>, "
            f"on the same {new.n_images} test images.",
        ]
        if result.corrected:
            lines.append(
                f"Reviewed images the old model got wrong: {result.corrected}; the new model "
                f"gets {result.corrected_right} of them right "
                f"({result.corrected_accuracy:.0%})."
            )
        lines.append(
            "The new model is now the model for Classify: the batch was re-scored from the "
            "feature cache and the review queue reordered. It is not saved yet; it is listed "
            "with your runs in the Train area."
        )
        if history_warning:
            lines.append(html.escape(history_warning))
        self.scores.setText("<br>".join(lines))
        self.save_button.setEnabled(True)
        self.keep_old.setEnabled(True)
        self.state.run_recorded.emit(run)
        self.apply_model(result.outcome.model, None)

    def _failed(self, info: ErrorInfo) -> None:
        self.progress.finish()
        self.scores.setText(f"Retraining failed: {html.escape(info.what)}")
        show_error(self, info)

    def _cancelled(self) -> None:
        self.progress.finish()
        self.scores.setText("Cancelled. The model you had is unchanged.")

    def _keep_old(self) -> None:
        self.apply_model(self.old, self.old_path)
        self.keep_old.setEnabled(False)
        self.scores.setText(self.scores.text() + "<br>Back to the old model.")

    def suggested_path(self) -> Path:
        folder = Path(str(self.settings.value(keys.LAST_MODEL_FOLDER, str(Path.home()))))
        stem = self.old_path.stem if self.old_path else "model"
        base = folder / f"{stem}-retrained-{date.today().isoformat()}"
        path, n = base.with_suffix(".sortscope"), 1
        while path.exists():  # a new name: never over a saved model
            n += 1
            path = Path(f"{base}-{n}.sortscope")
        return path

    def choose_save_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save new model",
            str(self.suggested_path()),
            "Sortscope models (*.sortscope);;All files (*)",
        )
        if path:
            self.save_to(Path(path))

    def save_to(self, path: Path) -> None:
        if self.outcome is None or self.run is None:
            return
        if self.old_path is not None and path.resolve() == self.old_path.resolve():
            show_error(
                self,
                ErrorInfo(
                    "The new model would replace the model it was retrained from.",
                    "Choose another file name; the old model stays as it is.",
                ),
            )
            return
        run = self.run
        model = run.outcome.model
        self.save_button.setEnabled(False)

        def saved(record) -> None:
            self.saved = path
            self.run = Run(record, run.outcome)
            self.state.run_recorded.emit(self.run)  # the Train area's row says where it is
            self.settings.setValue(keys.LAST_MODEL_FOLDER, str(path.parent))
            self.state.set_model(model, path)  # the same model, now with its file
            self.state.status.emit(f"New model saved to {path}; it is the model for Classify.")

        def failed(info: ErrorInfo) -> None:
            self.save_button.setEnabled(True)
            show_error(self, info)

        self.runner.start(
            "save", lambda ctx: save_and_link(run, path), finished=saved, failed=failed
        )

    def closeEvent(self, event) -> None:
        self.runner.cancel("retrain")
        super().closeEvent(event)


def _retrain_and_remember(old, corrections, dataset, ctx) -> tuple[RetrainResult, Run, str]:
    """The retrain task: retrain, then keep the new run in the history (off the GUI thread)."""
    result = retrain_with_corrections(
        old, corrections, dataset=dataset, progress=ctx.progress, cancel=ctx.cancel
    )
    record, warning = run_history.remember(result.outcome)
    return result, Run(record, result.outcome), warning
