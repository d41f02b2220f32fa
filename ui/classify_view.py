"""The Classify area: run a saved model over a folder, review the results, export and sort.

Classification is the core's `classify_files()` in a background task, exactly as
`sortscope classify` runs it; CSV export and sorting call the same core functions as the CLI.
`python -m ui.classify_view MODEL FOLDER` opens the view alone.
"""

from __future__ import annotations

import html
from datetime import date
from pathlib import Path

from PySide6.QtCore import QModelIndex, QSettings, QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from classifier import images
from classifier.export import write_csv
from classifier.fits_reader import parse_keys
from classifier.modelfile import SortscopeModel, load_model
from classifier.predict import UNCERTAIN, ClassifyResult, classify_files, list_image_files
from classifier.progress import Progress
from classifier.sorting import SortMode, SortPlan, execute_sort, plan_sort, undo_sort
from ui.errors import show_error
from ui.results_model import ROW_ROLE, ResultsFilter, ResultsModel
from ui.state import AppState
from ui.tasks import ErrorInfo, TaskRunner
from ui.thumbnails import ThumbnailLoader, pil_to_qimage
from ui.widgets import TaskProgress, hint

PREVIEW_SIZE = 420
MAX_RECENT_MODELS = 8


def network_title(meta: dict, model: SortscopeModel) -> str:
    kind = meta.get("model_type", "transfer")
    if kind == "mlp":
        return "MLP on 32x32 pixels"
    if kind == "small_cnn":
        return "Small CNN trained from scratch"
    blocks = (meta.get("fine_tune") or {}).get("blocks")
    tuned = f" (last {blocks} block(s) fine-tuned)" if blocks else ""
    return model.backbone.title + tuned


def model_card(model: SortscopeModel, path: Path | None) -> str:
    meta = model.metadata
    metrics = meta.get("test_metrics", {})
    accuracy = metrics.get("accuracy")
    created = str(meta.get("created", ""))[:10]
    baseline = metrics.get("baseline_accuracy")
    score = f"test accuracy {accuracy:.1%}" if accuracy is not None else "no test score"
    if accuracy is not None and baseline is not None:
        score += f" (baseline {baseline:.1%})"
    t = meta.get("training", {})
    settings = (
        f"{len(meta.get('history', []))}/{t.get('epochs')} epochs, {t.get('optimizer')} "
        f"lr {t.get('learning_rate')}, {'hidden layer, ' if t.get('hidden_units') else ''}"
        f"class weights {'on' if t.get('class_weights') else 'off'}, seed {t.get('seed')}"
        if t
        else ""
    )
    prep = model.preprocessing
    if meta.get("dataset", {}).get("high_range_images") or not prep.is_default:
        settings += f"<br>FITS and 16-bit images stretched with {prep.summary()}"
    return (
        f"<b>{path.name if path else 'Model from this session'}</b> · "
        f"{len(model.class_names)} classes: {', '.join(model.class_names)}<br>"
        f"{network_title(meta, model)} · {score} · {created}<br><small>{settings}</small>"
    )


class SortDialog(QDialog):
    """Choose an output folder and a mode, see the dry run, then confirm."""

    def __init__(self, rows, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sort files into folders")
        self.rows = rows
        self.settings = settings
        self.output = QLineEdit(str(settings.value("last_sort_folder", "")))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        self.modes = QButtonGroup(self)
        mode_box = QHBoxLayout()
        for mode, text in [
            (SortMode.COPY, "Copy (originals stay)"),
            (SortMode.MOVE, "Move"),
            (SortMode.LINK, "Link (shortcuts)"),
        ]:
            button = QRadioButton(text)
            button.setProperty("mode", mode.value)
            self.modes.addButton(button)
            mode_box.addWidget(button)
            button.setChecked(mode == SortMode.COPY)
        self.modes.buttonToggled.connect(lambda *_: self.refresh())
        self.output.textChanged.connect(lambda *_: self.refresh())
        self.preview = QTableWidget(0, 2)
        self.preview.setHorizontalHeaderLabels(["File", "Goes to"])
        self.preview.verticalHeader().setVisible(False)
        self.preview.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.go = self.buttons.addButton("Sort files", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        out_row = QHBoxLayout()
        out_row.addWidget(self.output, 1)
        out_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Output folder", out_row)
        form.addRow("How", mode_box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(
            hint(
                "Each image goes to OUTPUT/<label>/; images below the confidence "
                "threshold go to OUTPUT/uncertain/. Nothing is ever overwritten: "
                "clashing names get (1), (2)… An undo log is written."
            )
        )
        layout.addWidget(QLabel("<b>Dry run</b>: what will happen"))
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)
        self.resize(720, 520)
        self.plan: SortPlan | None = None
        self.refresh()

    def mode(self) -> SortMode:
        return SortMode(self.modes.checkedButton().property("mode"))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.output.text())
        if folder:
            self.output.setText(folder)

    def refresh(self) -> None:
        text = self.output.text().strip()
        self.plan = plan_sort(self.rows, text, self.mode()) if text else None
        self.go.setEnabled(bool(self.plan and self.plan.actions))
        if self.plan is None:
            self.preview.setRowCount(0)
            self.summary.setText("Choose an output folder.")
            return
        shown = self.plan.actions[:500]
        self.preview.setRowCount(len(shown))
        for i, action in enumerate(shown):
            self.preview.setItem(i, 0, QTableWidgetItem(action.source.name))
            target = action.target.relative_to(self.plan.output).as_posix()
            self.preview.setItem(i, 1, QTableWidgetItem(target))
        folders = ", ".join(f"{name}: {n}" for name, n in sorted(self.plan.per_folder().items()))
        more = (
            f" (first 500 of {len(self.plan.actions)} shown)"
            if len(self.plan.actions) > 500
            else ""
        )
        self.summary.setText(
            f"{self.mode().value.capitalize()} {len(self.plan.actions)} files "
            f"into {folders}{more}. {self.plan.skipped} unreadable file(s) "
            "stay where they are."
        )


class ClassifyView(QWidget):
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
        self.table_loader = ThumbnailLoader(size=40, parent=self)
        self.results = ResultsModel(self.table_loader)
        self.proxy = ResultsFilter(self.results)
        self._build()
        state.model_changed.connect(self._model_changed)
        self._model_changed(state.model)
        self._load_last_model()

    # --- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.model_choice = QComboBox()
        self.model_choice.setMinimumWidth(260)
        self.model_choice.activated.connect(self._recent_model_chosen)
        open_model = QPushButton("Open model…")
        open_model.clicked.connect(self.choose_model)
        self.card = QLabel("No model yet: train one in the Train area, or open a saved model.")
        self.card.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("Folder of images to classify")
        browse = QPushButton("Choose folder…")
        browse.clicked.connect(self.choose_folder)
        self.recursive = QCheckBox("Include sub-folders")
        self.fits_keys = QLineEdit(str(self.settings.value("fits_keys", "")))
        self.fits_keys.setPlaceholderText("optional, e.g. DATE-OBS, FILTER, EXPTIME, OBJECT")
        self.fits_keys.setToolTip(
            "FITS header keywords to show and export as extra columns after 'error'. "
            "Files without them (or not FITS) get empty cells."
        )
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(float(self.settings.value("threshold", 0.6)))
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
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_choice, 1)
        model_row.addWidget(open_model)
        top.addRow("Model", model_row)
        top.addRow("", self.card)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        folder_row.addWidget(self.recursive)
        top.addRow("Folder", folder_row)
        top.addRow("FITS header columns", self.fits_keys)
        run_row = QHBoxLayout()
        run_row.addWidget(QLabel("Uncertain below"))
        run_row.addWidget(self.threshold)
        run_row.addWidget(self.progress, 1)
        run_row.addStretch()
        run_row.addWidget(self.start_button)
        top.addRow("", run_row)

        self.label_filter = QComboBox()
        self.uncertain_only = QCheckBox("Uncertain only")
        self.errors_only = QCheckBox("Errors only")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by file name")
        for signal in (
            self.label_filter.currentIndexChanged,
            self.uncertain_only.toggled,
            self.errors_only.toggled,
            self.search.textChanged,
        ):
            signal.connect(self._apply_filters)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Show"))
        filters.addWidget(self.label_filter)
        filters.addWidget(self.uncertain_only)
        filters.addWidget(self.errors_only)
        filters.addWidget(self.search, 1)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(44)
        self.table.setIconSize(QSize(40, 40))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setDefaultSectionSize(110)
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        self.table.selectionModel().currentRowChanged.connect(self._row_selected)
        self.summary = QLabel("No results yet.")
        self.summary.setWordWrap(True)

        self.preview = QLabel("Select a row, or check a single image.")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(260, 260)
        self.preview_info = QLabel()
        self.preview_info.setWordWrap(True)
        self.preview_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        single = QPushButton("Check one image…")
        single.setToolTip("Pick (or drop on the window) one image to see its top predictions.")
        single.clicked.connect(self.choose_single_image)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.preview, 1)
        side_layout.addWidget(self.preview_info)
        side_layout.addWidget(single)

        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self.export_csv)
        self.sort_button = QPushButton("Sort into folders…")
        self.sort_button.clicked.connect(self.sort_files)
        self.undo_button = QPushButton("Undo last sort")
        self.undo_button.clicked.connect(self.undo_last_sort)
        for button in (self.export_button, self.sort_button, self.undo_button):
            button.setEnabled(False)
        actions = QHBoxLayout()
        actions.addWidget(self.summary, 1)
        actions.addWidget(self.undo_button)
        actions.addWidget(self.sort_button)
        actions.addWidget(self.export_button)

        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addLayout(filters)
        middle_layout.addWidget(self.table, 1)
        middle_layout.addLayout(actions)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(middle)
        splitter.addWidget(side)
        splitter.setSizes([900, 360])
        splitter.setStretchFactor(0, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self._refresh_recent_models()

    # --- model ----------------------------------------------------------------------------

    def _recent_models(self) -> list[str]:
        value = self.settings.value("recent_models", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def _refresh_recent_models(self) -> None:
        self.model_choice.blockSignals(True)
        self.model_choice.clear()
        if self.state.model is not None and self.state.model_path is None:
            self.model_choice.addItem("Model trained in this session (not saved)", "")
        for path in self._recent_models():
            self.model_choice.addItem(Path(path).name, path)
            self.model_choice.setItemData(
                self.model_choice.count() - 1, path, Qt.ItemDataRole.ToolTipRole
            )
        current = str(self.state.model_path) if self.state.model_path else ""
        index = self.model_choice.findData(current)
        self.model_choice.setCurrentIndex(max(index, 0))
        self.model_choice.blockSignals(False)

    def _model_changed(self, model: SortscopeModel | None) -> None:
        path = self.state.model_path
        if path is not None:
            recent = [str(path)] + [p for p in self._recent_models() if p != str(path)]
            self.settings.setValue("recent_models", recent[:MAX_RECENT_MODELS])
            self.settings.setValue("last_model", str(path))
        self.card.setText(
            model_card(model, path)
            if model is not None
            else "No model yet: train one in the Train area, or open a saved model."
        )
        if model is not None:  # thumbnails and previews look as the model sees images
            self.table_loader.set_preprocessing(model.preprocessing)
        self._refresh_recent_models()
        self._update_buttons()
        if self.state.example is not None and not self.folder_edit.text():
            self.folder_edit.setText(str(self.state.example.unsorted))

    def _load_last_model(self) -> None:
        last = self.settings.value("last_model")
        if last and Path(str(last)).is_file():
            self.open_model(Path(str(last)), quiet=True)

    def choose_model(self) -> None:
        start = str(self.settings.value("last_model_folder", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(
            self, "Open model", start, "Sortscope models (*.sortscope);;All files (*)"
        )
        if path:
            self.open_model(Path(path))

    def _recent_model_chosen(self, index: int) -> None:
        path = self.model_choice.itemData(index)
        if path:
            self.open_model(Path(path))

    def open_model(self, path: Path, quiet: bool = False) -> None:
        """Load a model file off the GUI thread; it becomes the current model."""
        self.card.setText(f"Loading {path.name}…")

        def failed(info: ErrorInfo) -> None:
            self._model_changed(self.state.model)
            if not quiet:
                show_error(self, info)

        self.runner.start(
            "load-model",
            lambda ctx: load_model(path),
            finished=lambda model: self.state.set_model(model, path),
            failed=failed,
        )

    # --- running --------------------------------------------------------------------------

    def choose_folder(self) -> None:
        start = self.folder_edit.text() or str(self.settings.value("last_classify_folder", ""))
        folder = QFileDialog.getExistingDirectory(self, "Folder to classify", start)
        if folder:
            self.folder_edit.setText(folder)

    def _update_buttons(self) -> None:
        busy = self.runner.is_running("classify")
        self.start_button.setEnabled(self.state.model is not None and not busy)
        has_rows = bool(self.results.rows) and not busy
        self.export_button.setEnabled(has_rows)
        self.sort_button.setEnabled(has_rows)
        self.undo_button.setEnabled(self.last_log is not None and not busy)

    def start(self) -> None:
        model = self.state.model
        folder = Path(self.folder_edit.text().strip()).expanduser()
        if model is None:
            return
        if not folder.is_dir():
            show_error(
                self,
                ErrorInfo(
                    f"The folder '{folder}' does not exist.",
                    "Choose the folder that holds the images to classify.",
                ),
            )
            return
        self.folder = folder
        self.settings.setValue("last_classify_folder", str(folder))
        keys = parse_keys(self.fits_keys.text())
        self.settings.setValue("fits_keys", ", ".join(keys))
        self.results.reset(model.class_names, tuple(keys))
        self._reset_label_filter(model.class_names)
        self.progress.start("Listing images…")
        recursive = self.recursive.isChecked()

        def job(ctx):
            files = list_image_files(folder, recursive)
            return classify_files(
                files,
                folder,
                model,
                progress=ctx.progress,
                cancel=ctx.cancel,
                on_rows=ctx.partial,
                fits_keys=keys,
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
        first = not self.results.rows
        for chunk in chunks:
            self.results.append(chunk)
        if first:  # size the columns to the first rows once, then leave them to the user
            self.table.resizeColumnsToContents()
            self.table.setColumnWidth(0, 52)
            self.table.setColumnWidth(1, max(self.table.columnWidth(1), 200))
        self._show_summary()

    def _finished(self, result: ClassifyResult) -> None:
        self.progress.finish()
        header = self.table.horizontalHeader()  # rows streamed in unsorted: sort them now
        self.proxy.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self.state.set_results(result)
        s = result.stats
        engine = f", {s.engine} engine" if s.engine else ""
        self._show_summary(f"<br><small>Run details: {html.escape(s.breakdown())}{engine}</small>")
        self._update_buttons()
        self.state.status.emit(f"Classified {len(result.rows)} images in {self.folder}")

    def _failed(self, info: ErrorInfo) -> None:
        self.progress.finish()
        self._update_buttons()
        show_error(self, info)

    def _cancelled(self) -> None:
        self.progress.finish()
        self._update_buttons()
        self._show_summary(" · cancelled: run again to finish; done images come from the cache")

    # --- reviewing ------------------------------------------------------------------------

    def _reset_label_filter(self, class_names) -> None:
        self.label_filter.blockSignals(True)
        self.label_filter.clear()
        self.label_filter.addItem("All labels", None)
        for name in [*class_names, UNCERTAIN]:
            self.label_filter.addItem(name, name)
        self.label_filter.blockSignals(False)

    def _apply_filters(self) -> None:
        self.proxy.set_filters(
            self.label_filter.currentData(),
            self.uncertain_only.isChecked(),
            self.errors_only.isChecked(),
            self.search.text(),
        )

    def _threshold_changed(self, value: float) -> None:
        self.settings.setValue("threshold", value)
        self.results.set_threshold(value)
        self.proxy.refilter()
        self._show_summary()

    def _show_summary(self, extra: str = "") -> None:
        labels, errors = self.results.summary()
        if not self.results.rows:
            self.summary.setText("No results yet.")
            return
        parts = [f"{name}: <b>{labels.get(name, 0)}</b>" for name in self.results.class_names]
        parts.append(f"uncertain: <b>{labels.get(UNCERTAIN, 0)}</b>")
        if errors:
            parts.append(f"unreadable: <b>{errors}</b>")
        self.summary.setText(f"{len(self.results.rows)} images · " + " · ".join(parts) + extra)

    def _row_selected(self, current: QModelIndex, _previous=None) -> None:
        row = current.data(ROW_ROLE) if current.isValid() else None
        if row is not None:
            self.show_prediction(row)

    def show_prediction(self, row) -> None:
        if row.error:
            self.preview.setPixmap(QPixmap())
            self.preview.setText("This file could not be read.")
            self.preview_info.setText(f"<b>{row.file}</b><br>{row.error}")
            return
        names = self.results.class_names or (
            self.state.model.class_names if self.state.model else ()
        )
        ranked = sorted(zip(names, row.probabilities, strict=True), key=lambda t: -t[1])[:5]
        lines = "".join(
            f"<tr><td>{n}</td><td align='right'>&nbsp;{p:.1%}</td></tr>" for n, p in ranked
        )
        label = self.results.label(row) if self.results.class_names else ranked[0][0]
        self.preview_info.setText(f"<b>{row.file}</b> → <b>{label}</b><table>{lines}</table>")
        self.preview.setText("Loading…")
        path = row.path
        prep = self.table_loader.preprocessing  # the model's stretch
        self.runner.start(
            "classify-preview",
            lambda ctx: pil_to_qimage(images.load_thumbnail(path, PREVIEW_SIZE, prep=prep)),
            finished=self._show_preview,
            failed=lambda info: self.preview.setText(info.what),
        )

    def _show_preview(self, image: QImage) -> None:
        self.preview.setPixmap(
            QPixmap.fromImage(image).scaled(
                self.preview.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

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
            self.open_model(path)
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

    # --- output ---------------------------------------------------------------------------

    def suggested_csv_name(self) -> str:
        model_name = Path(self.state.model_path).stem if self.state.model_path else "model"
        folder = self.folder.name if self.folder else "results"
        return f"{folder}-{model_name}-{date.today().isoformat()}.csv"

    def export_csv(self) -> None:
        start = Path(str(self.settings.value("last_export_folder", str(Path.home()))))
        path, _ = QFileDialog.getSaveFileName(
            self, "Export CSV", str(start / self.suggested_csv_name()), "CSV files (*.csv)"
        )
        if path:
            self.export_csv_to(Path(path))

    def export_csv_to(self, path: Path) -> None:
        rows = self.results.relabelled()
        names = self.results.class_names
        extra = self.results.extra_columns

        def done(_):
            self.settings.setValue("last_export_folder", str(path.parent))
            self.state.status.emit(f"Exported {len(rows)} rows to {path}")

        self.runner.start(
            "export",
            lambda ctx: write_csv(rows, names, path, extra),
            finished=done,
            failed=lambda info: show_error(self, info),
        )

    def sort_files(self) -> None:
        dialog = SortDialog(self.results.relabelled(), self.settings, self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.plan is not None:
            self.settings.setValue("last_sort_folder", str(dialog.plan.output))
            self.run_sort(dialog.plan)

    def run_sort(self, plan: SortPlan) -> None:
        self.progress.start("Sorting…")

        def done(report) -> None:
            self.progress.finish()
            self.last_log = report.log
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
        log = self.last_log
        if log is None:
            return
        self.progress.start("Undoing…")

        def done(count: int) -> None:
            self.progress.finish()
            self.last_log = None
            self._update_buttons()
            self.state.status.emit(f"Undid the sort of {count} files")

        self.runner.start(
            "classify",
            lambda ctx: undo_sort(log, progress=ctx.progress, cancel=ctx.cancel),
            progressed=self.progress.update_progress,
            finished=done,
            failed=self._failed,
        )

    def shutdown(self) -> None:
        self.table_loader.shutdown()


def _model_and_folder_arguments(view: ClassifyView, state: AppState, args: list[str]) -> None:
    if len(args) >= 2:
        state.set_model(load_model(args[0]), Path(args[0]))
        view.folder_edit.setText(args[1])
        view.start()


if __name__ == "__main__":
    from ui.standalone import run_view

    run_view(ClassifyView, _model_and_folder_arguments)
