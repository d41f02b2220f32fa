"""The Classify area's results: filters above a virtual, sortable table of predictions."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from classifier.names import UNFAMILIAR
from classifier.predict import UNCERTAIN
from classifier.types import Prediction
from ui.novelty_controls import novelty_controls
from ui.results_model import ROW_ROLE, ResultsModel
from ui.thumbnails import ThumbnailLoader

LONG_LABELS = (UNCERTAIN, UNFAMILIAR)
ERROR_WIDTH = 220  # px: the start of an error message, enough to recognise it
FILE_WIDTH = 280  # px at most at first: longer names are cut in the middle (tooltip: all)


class ResultsTable(QWidget):
    """Show by label, uncertain only, errors only or file name; rows stream in during a run."""

    row_selected = Signal(object)  # Prediction
    shown_changed = Signal()  # the filters or the rows changed: shown_count() may differ

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.results = ResultsModel(loader)
        # The model the table shows: sorted and filtered by the model itself (no proxy model:
        # its Python call per row stalled the window at a million rows); the old name stays.
        self.proxy = self.results
        self.results.labels_changed.connect(self._shown_changed)  # the counts, after a threshold
        self.label_filter = QComboBox()
        # Wide enough for its longest label: a class name is never cut under the arrow.
        self.label_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.uncertain_only = QCheckBox("Uncertain only")
        self.errors_only = QCheckBox("Errors only")
        self.hide_reviewed = QCheckBox("Hide reviewed")
        self.hide_reviewed.toggled.connect(self.proxy.set_hide_reviewed)
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
        filters.addWidget(self.hide_reviewed)
        self.novelty_box = novelty_controls(self.results, self._novelty_filter)
        filters.addWidget(self.novelty_box)
        filters.addWidget(self.search, 1)

        # Filters that together match nothing would leave a blank table: say so, and undo them.
        self.no_match = QWidget()
        self.no_match_text = QLabel("No rows match these filters.")
        clear = QPushButton("Clear filters")
        clear.clicked.connect(self.clear_filters)
        no_match_layout = QHBoxLayout(self.no_match)
        no_match_layout.setContentsMargins(0, 0, 0, 0)
        no_match_layout.addWidget(self.no_match_text)
        no_match_layout.addWidget(clear)
        no_match_layout.addStretch()
        self.no_match.setVisible(False)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)  # long errors end in "…" on one line; the tooltip has all
        # File names often differ only at the end (…_001.png): cut them in the middle.
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.verticalHeader().setDefaultSectionSize(44)
        self.table.setIconSize(QSize(40, 40))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setDefaultSectionSize(110)
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        self.table.selectionModel().currentRowChanged.connect(self._row_selected)
        for signal in (
            self.proxy.rowsInserted,
            self.proxy.rowsRemoved,
            self.proxy.modelReset,
            self.proxy.layoutChanged,
        ):
            signal.connect(self._shown_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.no_match)
        layout.addWidget(self.table, 1)

    def reset(
        self, class_names: tuple[str, ...], extra_columns: tuple[str, ...], novelty: bool = False
    ) -> None:
        """Empty the table for a new run with these classes and FITS header columns (and a
        Novelty column when the model can score it)."""
        self.results.reset(class_names, extra_columns, novelty)
        self.novelty_box.setVisible(novelty)
        self.label_filter.blockSignals(True)
        self.label_filter.clear()
        self.label_filter.addItem("All labels", None)
        for name in [*class_names, UNCERTAIN, *([UNFAMILIAR] if novelty else [])]:
            self.label_filter.addItem(name, name)
        self.label_filter.blockSignals(False)

    def append(self, chunks: list[list[Prediction]]) -> None:
        first = not self.results.rows
        for chunk in chunks:
            self.results.append(chunk)
        if first:  # size the columns to the first rows once, then leave them to the user
            self.table.resizeColumnsToContents()
            self.table.setColumnWidth(0, 52)
            self.table.setColumnWidth(1, min(max(self.table.columnWidth(1), 200), FILE_WIDTH))
            # A label as long as "unfamiliar" (set later, by a threshold) is read whole.
            words = max(self.table.fontMetrics().horizontalAdvance(w) for w in LONG_LABELS)
            self.table.setColumnWidth(2, max(self.table.columnWidth(2), words + 20))
            error = self.results.error_column  # an error arriving later needs room to be read
            self.table.setColumnWidth(error, max(self.table.columnWidth(error), ERROR_WIDTH))
        self._shown_changed()  # also when the filters let none of these rows through

    def sort_as_shown(self) -> None:
        """Rows streamed in unsorted: sort them by the column the header shows."""
        header = self.table.horizontalHeader()
        self.proxy.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())

    def _novelty_filter(self, only: bool) -> None:
        """ "Unfamiliar only": the label filter set to the unfamiliar bucket."""
        index = self.label_filter.findData(UNFAMILIAR) if only else 0
        self.label_filter.setCurrentIndex(max(index, 0))

    def set_threshold(self, value: float) -> None:
        self.results.set_threshold(value)  # filtering by label looks again

    def shown_rows(self) -> list[Prediction]:
        """The rows as the table shows them: its sort order, its filters."""
        return self.results.shown_rows()

    def _apply_filters(self) -> None:
        self.proxy.set_filters(
            self.label_filter.currentData(),
            self.uncertain_only.isChecked(),
            self.errors_only.isChecked(),
            self.search.text(),
        )

    def filtering(self) -> bool:
        """Some filter hides rows (or could)."""
        return (
            self.label_filter.currentData() is not None
            or self.uncertain_only.isChecked()
            or self.errors_only.isChecked()
            or bool(self.search.text())
            or self.hide_reviewed.isChecked()
            or self.proxy.only_files is not None
        )

    def shown_count(self) -> int:
        return self.proxy.rowCount()

    def clear_filters(self) -> None:
        """Show every row again, in one step."""
        widgets = (
            self.label_filter,
            self.uncertain_only,
            self.errors_only,
            self.search,
            self.hide_reviewed,
        )
        for widget in widgets:
            widget.blockSignals(True)
        self.label_filter.setCurrentIndex(0)
        self.uncertain_only.setChecked(False)
        self.errors_only.setChecked(False)
        self.search.clear()
        self.hide_reviewed.setChecked(False)
        for widget in widgets:
            widget.blockSignals(False)
        self.proxy.set_hide_reviewed(False)
        self._apply_filters()

    def _shown_changed(self, *_args) -> None:
        self.no_match.setVisible(bool(self.results.rows) and self.shown_count() == 0)
        self.shown_changed.emit()

    def _row_selected(self, current: QModelIndex, _previous=None) -> None:
        row = current.data(ROW_ROLE) if current.isValid() else None
        if row is not None:
            self.row_selected.emit(row)
