"""The Classify area: run a saved model over a folder, review the results, export and sort.

Classification is the core's `classify_files()` in a background task, exactly as
`sortscope classify` runs it, its rows saved as they come so an interrupted run can be continued
(ui/batch_resume.py), then optionally watching the folder (ui/batch_watch.py); CSV export and
sorting call the same core functions as the CLI.
`python -m ui.classify_view MODEL FOLDER` opens the view alone.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from classifier.errors import SortscopeError
from classifier.fits_reader import parse_keys
from classifier.modelfile import SortscopeModel, load_model
from classifier.predict import ClassifyResult, classify_files, image_folder
from classifier.progress import Progress
from classifier.sorting import SortReport
from classifier.types import DEFAULT_THRESHOLD
from ui import settings as keys
from ui.batch_resume import PreparedRun, ResumeActions, classify_prepared, prepare
from ui.batch_watch import WatchActions
from ui.classify_map import ResultsMap
from ui.classify_output import ClassifyOutput
from ui.errors import ErrorInfo, show_error
from ui.image_preview import ImagePreview
from ui.model_picker import ModelPicker, saw_high_range_images
from ui.results_table import ResultsTable
from ui.review_controls import ReviewControls
from ui.run_summary import RUN_DETAILS_HELP, counts_text, run_details
from ui.state import AppState
from ui.tasks import TaskRunner
from ui.thumbnails import ThumbnailLoader
from ui.widgets import TaskProgress

PREVIEW_SIZE = 420


class ClassifyView(ClassifyOutput, ResumeActions, WatchActions, QWidget):
    def __init__(
        self,
        state: AppState,
        runner: TaskRunner,
        settings: QSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.runner = runner
        self.settings = settings
        self.folder: Path | None = None
        self.last_log: Path | None = None
        self.last_sort: SortReport | None = None
        self.table_loader = ThumbnailLoader(size=40, parent=self)
        self.results_table = ResultsTable(self.table_loader)
        self.results = self.results_table.results  # the rows, read for summaries and output
        self.classified_with: SortscopeModel | None = None  # the model of the shown results
        self.review = ReviewControls(state, runner, settings, self.results_table)
        self._build()
        state.model_changed.connect(self._model_changed)
        state.model_requested.connect(lambda path: self.model_picker.open_model(Path(path)))
        self._model_changed(state.model)
        state.model_changed.connect(self.offer_interrupted_run)

    # --- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.model_picker = ModelPicker(self.state, self.runner, self.settings)
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("Folder of images to classify")
        browse = QPushButton("Choose folder…")
        browse.clicked.connect(self.choose_folder)
        self.recursive = QCheckBox("Include sub-folders")
        self.fits_keys = QLineEdit(str(self.settings.value(keys.FITS_KEYS, "")))
        self.fits_keys.setPlaceholderText("optional, e.g. DATE-OBS, FILTER, EXPTIME, OBJECT")
        self.fits_keys.setToolTip(
            "FITS header keywords to show and export as extra columns after 'error'. "
            "Files without them (or not FITS) get empty cells."
        )
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(float(self.settings.value(keys.THRESHOLD, DEFAULT_THRESHOLD)))
        self.threshold.setToolTip(
            "Images whose best probability is below this are labelled "
            "'uncertain' (the probabilities stay)."
        )
        self.threshold.valueChanged.connect(self._threshold_changed)
        self.start_button = QPushButton("Classify")
        self.start_button.clicked.connect(self.start)
        self.progress = TaskProgress()
        self.progress.cancel_requested.connect(lambda: self.runner.cancel("classify"))

        top = QFormLayout()
        top.addRow("Model", self.model_picker)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        folder_row.addWidget(self.recursive)
        top.addRow("Folder", folder_row)
        self.fits_label = QLabel("FITS header columns")
        top.addRow(self.fits_label, self.fits_keys)
        run_row = QHBoxLayout()
        run_row.addWidget(QLabel("Uncertain below"))
        run_row.addWidget(self.threshold)
        run_row.addWidget(self.progress, 1)
        run_row.addStretch()
        run_row.addWidget(self._build_watch_box())
        run_row.addWidget(self.start_button)
        top.addRow("", run_row)

        self.results_table.row_selected.connect(self.show_prediction)
        self.results_table.shown_changed.connect(self._show_summary)
        self.summary = QLabel("No results yet.")
        self.summary.setWordWrap(True)
        self._run_note = ""  # run details or "cancelled", after the counts

        self.preview = ImagePreview(
            self.runner,
            "classify-preview",
            size=PREVIEW_SIZE,
            minimum=260,
            placeholder="Select a row, or check a single image.",
        )
        single = QPushButton("Check one image…")
        single.setToolTip("Pick (or drop on the window) one image to see its top predictions.")
        single.clicked.connect(self.choose_single_image)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.preview, 1)
        side_layout.addWidget(single)

        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self.export_csv)
        self.sort_button = QPushButton("Sort into folders…")
        self.sort_button.clicked.connect(self.sort_files)
        self.undo_button = QPushButton("Undo last sort")
        self.undo_button.clicked.connect(self.undo_last_sort)
        self.summary_button = QPushButton("Save summary…")
        self.summary_button.setToolTip("One HTML file: counts, confidences, the run, the model")
        self.summary_button.clicked.connect(self.save_summary)
        buttons = (self.export_button, self.sort_button, self.undo_button, self.summary_button)
        for button in buttons:
            button.setEnabled(False)
        # The summary and the review controls have full-width rows of their own: beside the
        # buttons they squeezed, and together the row was wider than the default window.
        actions = QHBoxLayout()
        actions.addStretch()
        actions.addWidget(self.undo_button)
        actions.addWidget(self.sort_button)
        actions.addWidget(self.summary_button)
        actions.addWidget(self.export_button)

        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        self.results_map = ResultsMap(self)  # tabs: the table, and its Map
        middle_layout.addWidget(self.results_map, 1)
        middle_layout.addWidget(self.summary)
        middle_layout.addWidget(self.review)
        middle_layout.addLayout(actions)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(middle)
        splitter.addWidget(side)
        splitter.setSizes([900, 360])
        splitter.setStretchFactor(0, 1)
        self.pages = QStackedWidget()  # the table, or the review mode over the same results
        self.pages.addWidget(splitter)
        self.pages.addWidget(self.review.view)
        self.review.enter_requested.connect(self.enter_review)
        self.review.view.leave_requested.connect(self.leave_review)
        self.review.rescored.connect(self._rescored)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self._build_resume_offer())
        layout.addWidget(self.pages, 1)

    # --- model ----------------------------------------------------------------------------

    def _model_changed(self, model: SortscopeModel | None) -> None:
        if model is not None:  # thumbnails and previews look as the model sees images
            self.table_loader.set_preprocessing(model.preprocessing)
        # Header columns only for models trained on FITS (or 16-bit) images.
        fits = model is not None and saw_high_range_images(model)
        self.fits_label.setVisible(fits)
        self.fits_keys.setVisible(fits)
        self._update_buttons()
        if self.state.example is not None and not self.folder_edit.text():
            self.folder_edit.setText(str(self.state.example.unsorted))

    # --- running --------------------------------------------------------------------------

    def choose_folder(self) -> None:
        start = self.folder_edit.text() or str(self.settings.value(keys.CLASSIFY_FOLDER, ""))
        folder = QFileDialog.getExistingDirectory(self, "Folder to classify", start)
        if folder:
            self.folder_edit.setText(folder)

    def _update_buttons(self) -> None:
        busy = self.runner.is_running("classify")
        self.start_button.setEnabled(self.state.model is not None and not busy)
        has_rows = bool(self.results.rows) and not busy
        self.export_button.setEnabled(has_rows)
        self.summary_button.setEnabled(has_rows and self.state.model is not None)
        self.sort_button.setEnabled(has_rows)
        self.undo_button.setEnabled(self.last_log is not None and not busy)

    def start(self, offer_only: bool = False) -> None:
        """List the folder and classify it, first offering to continue an interrupted run of
        it (`offer_only`: just the offer, at start-up)."""
        model = self.state.model
        if model is None:
            return
        try:
            folder = image_folder(Path(self.folder_edit.text().strip()).expanduser())
        except SortscopeError as error:  # the core's words, without a traceback to unfold
            show_error(self, ErrorInfo(error.what, error.todo))
            return
        self.settings.setValue(keys.CLASSIFY_FOLDER, str(folder))
        header_keys = []
        if self.fits_keys.isVisibleTo(self):  # hidden for a model that never saw FITS images
            header_keys = parse_keys(self.fits_keys.text())
            self.settings.setValue(keys.FITS_KEYS, ", ".join(header_keys))
        recursive = self.recursive.isChecked()
        model_path = self.state.model_path
        self.stop_watching()
        self.resume_offer.setVisible(False)
        self.preview.clear()  # the previous run's image
        self.progress.start("Listing images…")
        # Listed before the run starts: a folder without images is explained in words (what is
        # there and what to do), and the last run's results stay instead of an empty table.
        self.runner.start(
            "classify",
            lambda ctx: prepare(folder, recursive, model, model_path, header_keys),
            finished=lambda prepared: self._listed(prepared, offer_only),
            failed=self._failed,
            cancelled=lambda: (self.progress.finish(), self._update_buttons()),
        )
        self._update_buttons()

    def _classify(self, prepared: PreparedRun) -> None:
        self.folder = prepared.folder
        self._prepared = prepared
        self._run_note = ""
        self.summary.setToolTip("")
        model = prepared.model
        has_novelty = model.novelty is not None
        self.results_table.reset(model.class_names, tuple(prepared.fits_keys), has_novelty)
        self.results_map.clear()
        if prepared.kept:  # the interrupted run's rows, then the rest as they come
            self.results_table.append([sorted(prepared.kept.values(), key=lambda r: r.file)])
        self.classified_with = model
        self.leave_review()
        self.review.batch_started()
        keep = self.watch_box.isChecked()  # the parts stay for the watch to add to

        def job(ctx):
            return classify_prepared(
                prepared,
                progress=ctx.progress,
                cancel=ctx.cancel,
                on_rows=ctx.partial,
                keep_parts=keep,
            )

        self.runner.start(
            "classify",
            job,
            progressed=self._progressed,
            partial=self._rows_arrived,
            finished=self._finished,
            failed=self._failed,
            cancelled=self._cancelled,
        )
        self._update_buttons()

    def _progressed(self, p: Progress) -> None:
        self.progress.update_progress(p)
        if p.total:
            self.state.status.emit(f"Classifying: {p.done}/{p.total}")

    def _rows_arrived(self, chunks: list[list]) -> None:
        self.results_table.append(chunks)  # the summary follows (shown_changed)

    def _finished(self, result: ClassifyResult) -> None:
        self.progress.finish()
        self.results_table.sort_as_shown()
        self.state.set_results(result)
        self.review.batch_finished(self.folder, self.classified_with, self.results.rows)
        self._show_summary(run_details(result.stats) + self._continued_note())
        self.summary.setToolTip(RUN_DETAILS_HELP)
        self._update_buttons()
        self.state.status.emit(f"Classified {len(result.rows)} images in {self.folder}")
        if self.watch_box.isChecked():
            self._start_watching(self._prepared, result)

    def _failed(self, info: ErrorInfo) -> None:
        self.progress.finish()
        self._update_buttons()
        show_error(self, info)

    def _cancelled(self) -> None:
        self.progress.finish()
        if self.results.rows:  # the images classified before the cancel can be reviewed
            self.review.batch_finished(self.folder, self.classified_with, self.results.rows)
        self._update_buttons()
        self._show_summary(" · cancelled: classify again to continue where it stopped")
        self.summary.setToolTip("")

    # --- reviewing ------------------------------------------------------------------------

    def _threshold_changed(self, value: float) -> None:
        self.settings.setValue(keys.THRESHOLD, value)
        self.results_table.set_threshold(value)
        self._show_summary()

    def _show_summary(self, run_note: str | None = None) -> None:
        """Counts of the rows (and of those shown, while filtered), then the run's note."""
        if run_note is not None:
            self._run_note = run_note
        table = self.results_table
        counts = counts_text(self.results, table.shown_count() if table.filtering() else None)
        self.summary.setText(counts + (self._run_note if self.results.rows else ""))

    def enter_review(self) -> None:
        self.pages.setCurrentWidget(self.review.view)
        self.review.view.rebuild_queue()
        self.review.view.setFocus()

    def _rescored(self) -> None:
        self.classified_with = self.review.session.model  # the batch is now that model's
        self._show_summary()

    def leave_review(self) -> None:
        self.pages.setCurrentIndex(0)
        self.results.reviewed_changed()  # the Reviewed column as decided in review mode
        self.results_table.proxy.refilter()  # reviewed rows may now be hidden

    def show_prediction(self, row) -> None:
        if row.error:
            self.preview.show_message(
                "This file could not be read.", f"<b>{row.file}</b><br>{row.error}"
            )
            return
        names = self.results.class_names or (
            self.state.model.class_names if self.state.model else ()
        )
        ranked = sorted(zip(names, row.probabilities, strict=True), key=lambda t: -t[1])[:5]
        lines = "".join(
            f"<tr><td>{n}</td><td align='right'>&nbsp;{p:.1%}</td></tr>" for n, p in ranked
        )
        label = self.results.label(row) if self.results.class_names else ranked[0][0]
        info = f"<b>{row.file}</b> → <b>{label}</b><table>{lines}</table>"
        # Shown with the model's stretch, as the model saw it.
        self.preview.show_image(row.path, self.table_loader.preprocessing, info)

    def choose_single_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Check one image",
            "",
            "Images (*.jpg *.jpeg *.png *.bmp *.gif *.tif *.tiff *.webp *.fits *.fit *.fts "
            "*.fz *.gz);;All files (*)",
        )
        if path:
            self.check_image(Path(path))

    def open_dropped_file(self, path: Path) -> None:
        if path.suffix.lower() == ".sortscope":
            self.model_picker.open_model(path)
        else:
            self.check_image(path)

    def check_image(self, path: Path) -> None:
        """retrain.py's label_image without a terminal: one image's top predictions."""
        model = self.state.model
        if model is None:
            show_error(
                self,
                ErrorInfo(
                    "There is no model to classify with yet.",
                    "Train a model or open a saved one first.",
                ),
            )
            return
        self.runner.start(
            "single",
            lambda ctx: classify_files([path], path.parent, model, cancel=ctx.cancel).rows[0],
            finished=self.show_prediction,
            failed=lambda info: show_error(self, info),
        )

    def shutdown(self) -> None:
        self.table_loader.shutdown()
        self.review.shutdown()
        self.results_map.shutdown()


def _model_and_folder_arguments(view: ClassifyView, state: AppState, args: list[str]) -> None:
    if len(args) >= 2:
        state.set_model(load_model(args[0]), Path(args[0]))
        view.folder_edit.setText(args[1])
        view.start()


if __name__ == "__main__":
    from ui.standalone import run_view

    run_view(ClassifyView, _model_and_folder_arguments)
