"""Saving the Train area's runs: the shown run's model saved off the GUI thread (and made the
model for Classify, its history record linked to the file), exported or described in a report.
Mixed into `train_view.TrainView`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from classifier import run_history
from classifier.modelfile import save_model
from ui import settings as keys
from ui.errors import ErrorInfo, show_error
from ui.runs_table import Run


class RunSaving:
    """Needs the view's state, runner, settings, runs, shown run, results and history."""

    def suggested_name(self) -> str:
        scan = self.state.scan
        stem = scan.root.name if scan is not None else "model"
        return f"{stem}-{date.today().isoformat()}.sortscope"

    @property
    def unsaved_run(self) -> int | None:
        """The newest run of this session if it was never saved: quitting now would lose its
        model (earlier sessions' runs have no model left to lose)."""
        if self.runs and self.runs[-1].outcome is not None and self.runs[-1].saved is None:
            return len(self.runs) - 1
        return None

    def save(self, on_saved: Callable[[Path], None] | None = None) -> None:
        if self.shown is None:
            return
        folder = str(self.settings.value(keys.LAST_MODEL_FOLDER, str(Path.home())))
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save model",
            str(Path(folder) / self.suggested_name()),
            "Sortscope models (*.sortscope);;All files (*)",
        )
        if path:
            self.save_to(Path(path), on_saved)

    def save_to(self, path: Path, on_saved: Callable[[Path], None] | None = None) -> None:
        """Save the shown run's model off the GUI thread and make it the current model."""
        index = self.shown
        if index is None:
            return
        run = self.runs[index]
        outcome = run.outcome
        save_button = self.results.save_button
        save_button.setEnabled(False)
        self.state.status.emit(f"Saving {path.name}…")

        def saved(record):
            save_button.setEnabled(True)
            now = self.history.index_of(record.id)  # runs may have been deleted meanwhile
            if now is not None:
                self.history.replace(now, Run(record, outcome))
            self.settings.setValue(keys.LAST_MODEL_FOLDER, str(path.parent))
            self.settings.setValue(keys.LAST_MODEL, str(path))
            self.state.set_model(outcome.model, path)
            self.state.status.emit(f"Model saved to {path}; it is now the model for Classify.")
            if on_saved is not None:
                on_saved(path)

        def failed(info: ErrorInfo) -> None:
            save_button.setEnabled(True)
            show_error(self, info)

        self.runner.start(
            "save", lambda ctx: save_and_link(run, path), finished=saved, failed=failed
        )

    def _shown_model_action(self, ask) -> None:
        """Export… or Save report… for the shown run's model, saved or not."""
        if self.shown is None:
            return
        run = self.runs[self.shown]
        folder = Path(str(self.settings.value(keys.LAST_MODEL_FOLDER, str(Path.home()))))
        ask(self, self.runner, run.outcome.model, run.saved, folder, self.state.status.emit)


def save_and_link(run: Run, path: Path):
    """The save task: the model file, then the run's history record linked to it."""
    save_model(run.outcome.model, path)
    try:
        return run_history.mark_saved(run.record, path)
    except OSError:  # the model is saved; only the history could not say so
        return replace(run.record, saved=path.absolute())
