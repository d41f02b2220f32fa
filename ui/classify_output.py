"""The Classify area's output: the shown results exported as CSV or an HTML summary, and the
files sorted into class folders (and the last sort undone), all off the GUI thread with the same
core functions as the CLI. Mixed into `classify_view.ClassifyView`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog

from classifier.export import write_csv
from classifier.sorting import SortMode, SortPlan, SortReport, UndoReport, execute_sort, undo_sort
from ui import settings as keys
from ui.errors import show_error
from ui.sort_dialog import SortDialog, confirm_undo


class ClassifyOutput:
    """Needs the view's state, runner, settings, results, review, progress, folder, threshold,
    last sort and `_update_buttons`/`_failed`."""

    def suggested_csv_name(self) -> str:
        model_name = Path(self.state.model_path).stem if self.state.model_path else "model"
        folder = self.folder.name if self.folder else "results"
        return f"{folder}-{model_name}-{date.today().isoformat()}.csv"

    def export_csv(self) -> None:
        start = Path(str(self.settings.value(keys.EXPORT_FOLDER, str(Path.home()))))
        path, _ = QFileDialog.getSaveFileName(
            self, "Export CSV", str(start / self.suggested_csv_name()), "CSV files (*.csv)"
        )
        if path:
            self.export_csv_to(Path(path))

    def export_csv_to(self, path: Path) -> None:
        rows = self.results.relabelled()
        names = self.results.class_names
        extra = self.results.extra_columns
        # As on the command line: the column is written when novelty was used (a threshold).
        novelty = self.results.novelty and self.results.novelty_threshold is not None
        protected = [self.state.model_path] if self.state.model_path else []

        def done(_):
            self.settings.setValue(keys.EXPORT_FOLDER, str(path.parent))
            self.state.status.emit(f"Exported {len(rows)} rows to {path}")

        self.runner.start(
            "export",
            lambda ctx: write_csv(
                rows,
                names,
                path,
                extra,
                reviewed=self.review.reviewed_labels(rows),
                protected=protected,
                novelty=novelty,
            ),
            finished=done,
            failed=lambda info: show_error(self, info),
        )

    def save_summary(self) -> None:
        from classifier.report import batch_details
        from ui.export_actions import ask_batch_summary

        model, rows = self.state.model, self.results.relabelled()
        if model is None or not rows:
            return
        result = self.state.results
        stats = result.stats if result is not None else None
        details = batch_details(
            self.folder, self.state.model_path, rows, self.threshold.value(), stats
        )
        start = Path(str(self.settings.value(keys.EXPORT_FOLDER, str(Path.home()))))
        suggested = start / self.suggested_csv_name().replace(".csv", "-summary.html")
        protected = [self.state.model_path] if self.state.model_path else []
        ask_batch_summary(
            self, self.runner, model, rows, details, suggested, self.state.status.emit, protected
        )

    def sort_files(self) -> None:
        rows = self.results.relabelled()
        reviewed = self.review.reviewed_labels(rows)
        dialog = SortDialog(rows, self.settings, self.runner, self, reviewed=reviewed)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.plan is not None:
            self.settings.setValue(keys.SORT_FOLDER, str(dialog.plan.output))
            self.run_sort(dialog.plan)

    def run_sort(self, plan: SortPlan) -> None:
        self.progress.start("Sorting…")

        def done(report: SortReport) -> None:
            self.progress.finish()
            self.last_log, self.last_sort = report.log, report
            if report.mode == SortMode.MOVE:  # the rows point where the files are now
                self.results.move_paths(report.placed)
            self._update_buttons()
            state = "stopped after" if report.cancelled else "done:"
            self.state.status.emit(f"Sorting {state} {report.done} files into {plan.output}")

        self.runner.start(
            "classify",
            lambda ctx: execute_sort(plan, progress=ctx.progress, cancel=ctx.cancel),
            progressed=self.progress.update_progress,
            finished=done,
            failed=self._failed,
        )
        self._update_buttons()

    def undo_last_sort(self) -> None:
        """Ask first (how many files go back where), then undo off the GUI thread."""
        report = self.last_sort
        if report is not None:
            confirm_undo(self, report, lambda: self._undo(report.log))

    def _undo(self, log: Path) -> None:
        self.progress.start("Undoing…")

        def done(undo: UndoReport) -> None:
            self.progress.finish()
            self.last_log = self.last_sort = None
            self.results.move_paths(undo.restored)
            self._update_buttons()
            folders = len(undo.removed_folders)
            removed = f"; removed {folders} empty folder{'s' if folders != 1 else ''}"
            self.state.status.emit(
                f"Undid the sort of {undo.undone} files" + (removed if folders else "")
            )

        self.runner.start(
            "classify",
            lambda ctx: undo_sort(log, progress=ctx.progress, cancel=ctx.cancel),
            progressed=self.progress.update_progress,
            finished=done,
            failed=self._failed,
        )
