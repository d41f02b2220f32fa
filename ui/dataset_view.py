"""The Dataset area: open a folder, see classes, counts, splits, thumbnails and problems.

All work happens in the core (scan, split, loader); this view only starts tasks and shows
their results (the class table's split columns: `dataset_splits`).
`python -m ui.dataset_view [FOLDER]` opens the view alone.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from classifier.preprocessing import Preprocessing
from classifier.scan import scan_dataset
from classifier.split import split_key
from classifier.types import ImageRecord, ProblemKind, ScanResult, Split, SplitConfig
from ui.class_chart import ClassChart
from ui.dataset_quality import DatasetQuality
from ui.dataset_splits import SplitColumns, splits_of
from ui.errors import show_error
from ui.image_preview import ImagePreview
from ui.problems_panel import ProblemsPanel
from ui.state import AppState
from ui.stretch_controls import StretchControls
from ui.tasks import TaskRunner
from ui.thumbnails import ThumbnailDelegate, ThumbnailLoader, ThumbnailModel
from ui.widgets import TaskProgress

ALL_CLASSES = "All classes"
EXAMPLE_NOTE = (
    "<b>Example dataset: synthetic images.</b> Sortscope drew these star clusters and galaxies "
    "itself; they are not real telescope data. Press <i>Start training</i> in the Train area "
    "(Ctrl+T), then classify its <i>unsorted_night</i> folder."
)
PREVIEW_SIZE = 480


class DatasetView(SplitColumns, QWidget):
    open_requested = Signal()
    example_requested = Signal()

    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.runner = runner
        self.folder: Path | None = None
        self.loader = ThumbnailLoader(parent=self)
        self.thumbnail_model = ThumbnailModel(self.loader)
        self._splits: dict[tuple[str, str], Split] = {}
        self._split_cache: tuple = (None, None, None)  # scan, split config, splits_of(...)
        self._scanned_hdu: str | int | None = None
        self._file_note = ""  # what a problem action did, until the rescan it asked for ends
        self._build()
        state.scan_changed.connect(self._show_scan)
        state.split_changed.connect(self._split_changed)
        state.dataset_requested.connect(self.open_folder)
        state.preprocessing_changed.connect(self._preprocessing_changed)

    # --- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        self.pages = QStackedWidget()
        self.pages.addWidget(self._build_empty_page())
        self.pages.addWidget(self._build_content_page())
        self.scanning_label = QLabel()
        self.scanning_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pages.addWidget(self.scanning_label)  # shown while the first scan runs

        self.folder_label = QLabel("No dataset open")
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open folder…")
        self.open_button.clicked.connect(self.open_requested)
        self.rescan_button = QPushButton("Rescan")
        self.rescan_button.setEnabled(False)
        self.rescan_button.clicked.connect(lambda: self.folder and self.open_folder(self.folder))
        self.progress = TaskProgress()
        self.progress.cancel_requested.connect(lambda: self.runner.cancel("scan"))
        bar = QHBoxLayout()
        bar.addWidget(self.folder_label, 1)
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.rescan_button)
        bar.addWidget(self.open_button)

        # The example's README.txt says it is synthetic; the window must say so too.
        self.example_note = QLabel(EXAMPLE_NOTE)
        self.example_note.setObjectName("example-note")
        self.example_note.setWordWrap(True)
        self.example_note.setStyleSheet(
            "QLabel#example-note { background: rgba(255, 196, 0, 45); border-radius: 4px; "
            "padding: 4px 8px; }"
        )
        self.example_note.setVisible(False)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.example_note)
        layout.addWidget(self.pages, 1)

    def _build_empty_page(self) -> QWidget:
        page = QWidget()
        title = QLabel("<h2>Open a folder of images to start</h2>")
        text = QLabel(
            "Put each class in its own sub-folder, for example <i>clusters/globular</i> and "
            "<i>clusters/open</i>, then open the parent folder here or drop it on this window."
            "<br>New to Sortscope? The example dataset has synthetic telescope images of star "
            "clusters and galaxies, ready to train on."
        )
        text.setWordWrap(True)
        text.setFixedWidth(560)  # a wrapped label needs a definite width to size its height
        open_button = QPushButton("Open dataset folder…")
        open_button.clicked.connect(self.open_requested)
        example_button = QPushButton("Open example dataset")
        example_button.clicked.connect(self.example_requested)
        buttons = QHBoxLayout()
        buttons.addStretch()
        buttons.addWidget(open_button)
        buttons.addWidget(example_button)
        buttons.addStretch()
        layout = QVBoxLayout(page)
        layout.addStretch()
        for widget in (title, text):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(buttons)
        layout.addStretch()
        return page

    def _build_content_page(self) -> QWidget:
        self.class_table = QTableWidget(0, 6)
        self.class_table.setHorizontalHeaderLabels(
            ["Class", "Images", "Train", "Validation", "Test", "Notes"]
        )
        self.class_table.verticalHeader().setVisible(False)
        self.class_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.class_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.class_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.class_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        # Rows grow to show a wrapped note whole, also after the table is made narrower.
        self.class_table.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.class_table.itemSelectionChanged.connect(self._class_selected)
        self.chart = ClassChart()
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.class_table)
        left.addWidget(self.chart)
        left.setSizes([260, 160])

        self.grid = QListView()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setUniformItemSizes(True)
        self.grid.setLayoutMode(QListView.LayoutMode.Batched)
        self.grid.setBatchSize(200)
        size = self.loader.size
        self.grid.setIconSize(QSize(size, size))
        self.grid.setGridSize(QSize(size + 40, size + 28))
        self.grid.setItemDelegate(ThumbnailDelegate(self.grid.gridSize(), self.grid))
        self.grid.setModel(self.thumbnail_model)
        self.grid.selectionModel().currentChanged.connect(self._thumbnail_selected)
        self.stretch = StretchControls()
        self.stretch.changed.connect(self.state.set_preprocessing)
        self.stretch.setVisible(False)

        self.preview = ImagePreview(
            self.runner,
            "preview",
            size=PREVIEW_SIZE,
            minimum=240,
            placeholder="Select an image to see it here.",
        )
        self.problems = ProblemsPanel(self.runner)
        self.problems.problem_clicked.connect(self._problem_clicked)
        self.problems.files_changed.connect(self._files_changed)

        side = QStackedWidget()  # the preview, or a suspected label error (DatasetQuality)
        side.addWidget(self.preview)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(left)
        top.addWidget(self.grid)
        top.addWidget(side)
        top.setSizes([380, 520, 300])
        top.setStretchFactor(1, 1)
        self.lower = QTabWidget()
        self.lower.addTab(self.problems, "Problems")
        self.quality = DatasetQuality(self, side)  # check labels, suspects, the Map tab
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.lower)
        splitter.setSizes([520, 180])
        page = QWidget()
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.addWidget(self.stretch)
        page_layout.addWidget(splitter, 1)
        return page

    # --- scanning -------------------------------------------------------------------------

    def open_folder(self, folder: Path) -> None:
        """Scan `folder` off the GUI thread; a scan already running is cancelled and ignored."""
        self.folder = Path(folder)
        self.folder_label.setText(str(self.folder))
        self.rescan_button.setEnabled(True)
        self.progress.start("Listing files…")
        if self.state.scan is None:
            self.scanning_label.setText(
                f"<h3>Scanning {self.folder.name}…</h3>Every image is checked once; "
                "you can cancel at any time."
            )
            self.pages.setCurrentIndex(2)
        self.state.status.emit(f"Scanning {self.folder}…")
        folder = self.folder
        split = self.state.split
        hdu = self.state.preprocessing.hdu
        self._scanned_hdu = hdu

        def job(ctx):
            scan = scan_dataset(folder, progress=ctx.progress, cancel=ctx.cancel, hdu=hdu)
            return scan, split, splits_of(scan, split)  # hashing stays off the GUI

        self.runner.start(
            "scan",
            job,
            progressed=self.progress.update_progress,
            finished=self._scan_finished,
            failed=self._scan_failed,
            cancelled=self._scan_cancelled,
        )

    def _scan_done(self) -> None:
        self.progress.finish()
        if self.state.scan is None:
            self.pages.setCurrentIndex(0)

    def _scan_finished(self, outcome: tuple[ScanResult, SplitConfig, tuple]) -> None:
        result, split, splits = outcome
        self._scan_done()
        self._split_cache = (result, split, splits)
        self.state.set_scan(result)
        problems = len(result.problems)
        note, self._file_note = self._file_note, ""
        self.state.status.emit(
            (f"{note} Now " if note else "")
            + f"{len(result.images)} images in {len(result.classes)} classes"
            + (f", {problems} problem{'s' if problems != 1 else ''}" if problems else "")
        )

    def _scan_failed(self, info) -> None:
        self._scan_done()
        self.state.status.emit("Scan failed")
        show_error(self, info)

    def _scan_cancelled(self) -> None:
        self._scan_done()
        self.state.status.emit("Scan cancelled")

    # --- showing a scan -------------------------------------------------------------------

    def _show_scan(self, scan: ScanResult | None) -> None:
        self.preview.clear()  # the grid is refilled, nothing is selected in it any more
        example = self.state.example
        self.example_note.setVisible(
            scan is not None and example is not None and scan.root == example.training
        )
        if scan is None:
            self.pages.setCurrentIndex(0)
            return
        self.folder = scan.root
        self.folder_label.setText(str(scan.root))
        self.pages.setCurrentIndex(1)
        counts = scan.counts()
        notes: dict[str, list[str]] = {}
        for p in scan.problems:
            if p.class_name and p.kind == ProblemKind.SMALL_CLASS:
                notes.setdefault(p.class_name, []).append(f"only {counts[p.class_name]} images")
            elif p.class_name and p.kind == ProblemKind.IMBALANCE:
                notes.setdefault(p.class_name, []).append("far smaller than the largest class")
        self.class_table.blockSignals(True)
        self.class_table.setRowCount(len(scan.classes) + 1)
        self._set_class_row(0, ALL_CLASSES, len(scan.images), "")
        for row, name in enumerate(scan.classes, start=1):
            self._set_class_row(row, name, counts[name], "; ".join(notes.get(name, [])))
        self.class_table.selectRow(0)
        self.class_table.blockSignals(False)
        self._show_splits(scan)
        self._class_selected()
        self.chart.show_counts(counts)
        self.problems.show_problems(scan.problems, self.folder, scan.classes)
        self._show_stretch(scan)

    def _show_stretch(self, scan: ScanResult) -> None:
        """The stretch selector appears for datasets with FITS or 16-bit/float images."""
        count = scan.high_range_images
        prep = self.state.preprocessing
        self.stretch.setVisible(bool(count) or not prep.is_default)
        self.stretch.summary.setText(
            f"<b>{count}</b> FITS or 16-bit image{'s' if count != 1 else ''}:"
        )
        self.stretch.set_preprocessing(prep)

    def _preprocessing_changed(self, prep: Preprocessing) -> None:
        self.stretch.set_preprocessing(prep)
        self.loader.set_preprocessing(prep)
        self.thumbnail_model.refresh_pixmaps()
        self._thumbnail_selected(self.grid.currentIndex())
        if self.folder is not None and prep.hdu != self._scanned_hdu:
            self.open_folder(self.folder)  # another extension: the images must be checked again

    def _class_selected(self) -> None:
        scan = self.state.scan
        if scan is None:
            return
        rows = self.class_table.selectionModel().selectedRows()
        row = rows[0].row() if rows else 0
        records = list(scan.images) if row == 0 else scan.images_of(scan.classes[row - 1])
        self.thumbnail_model.set_records(records)

    # --- selection and preview ------------------------------------------------------------

    def _problem_clicked(self, row: int) -> None:
        scan = self.state.scan
        if scan is None or row >= len(scan.problems):
            return
        problem = scan.problems[row]
        if problem.path is None:
            return
        if self.class_table.currentRow() != 0:
            self.class_table.selectRow(0)
        grid_row = self.thumbnail_model.row_of(problem.path)
        if grid_row is not None:
            index = self.thumbnail_model.index(grid_row)
            self.grid.setCurrentIndex(index)
            self.grid.scrollTo(index)
        else:
            self.preview.show_message(
                "This file is not used, so there is nothing to show.",
                f"<b>{problem.path.name}</b><br>{problem.message}",
            )

    def _files_changed(self, what: str) -> None:
        """A problem's file was moved or deleted: the scan must see the folder as it is now."""
        self._file_note = what  # said again with the new counts
        if self.folder is not None:
            self.open_folder(self.folder)
        self.state.status.emit(f"{what} Scanning the dataset again…")

    def _show_path(self, path: Path) -> None:
        """Select an image in the grid (all classes) so the preview shows it."""
        if self.class_table.currentRow() != 0:
            self.class_table.selectRow(0)
        grid_row = self.thumbnail_model.row_of(path)
        if grid_row is not None:
            index = self.thumbnail_model.index(grid_row)
            self.grid.setCurrentIndex(index)
            self.grid.scrollTo(index)

    def _thumbnail_selected(self, current: QModelIndex, _previous=None) -> None:
        record: ImageRecord | None = current.data(Qt.ItemDataRole.UserRole)
        if record is None:
            return
        split = self._splits.get(split_key(record))
        info = (
            f"<b>{record.path.name}</b><br>class <b>{record.class_name}</b> · "
            f"{split.value if split else '?'} split<br>"
            f"{record.width}×{record.height} px · {record.mode} · {record.format} · "
            f"{record.size_bytes / 1024:.0f} KB<br>"
            f"<small>{record.class_name}/{record.rel_path}</small>"
        )
        self.preview.show_image(record.path, self.state.preprocessing, info)

    def shutdown(self) -> None:
        self.loader.shutdown()
        self.quality.shutdown()


def _open_argument(view: DatasetView, _state, args: list[str]) -> None:
    if args:
        view.open_folder(Path(args[0]))


if __name__ == "__main__":
    from ui.standalone import run_view

    run_view(lambda state, runner, _settings: DatasetView(state, runner), _open_argument)
