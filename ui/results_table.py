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
    QTableView,
    QVBoxLayout,
    QWidget,
)

from classifier.predict import UNCERTAIN
from classifier.types import Prediction
from ui.results_model import ROW_ROLE, ResultsFilter, ResultsModel
from ui.thumbnails import ThumbnailLoader


class ResultsTable(QWidget):
    """Show by label, uncertain only, errors only or file name; rows stream in during a run."""

    row_selected = Signal(object)  # Prediction

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.results = ResultsModel(loader)
        self.proxy = ResultsFilter(self.results)
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)

    def reset(self, class_names: tuple[str, ...], extra_columns: tuple[str, ...]) -> None:
        """Empty the table for a new run with these classes and FITS header columns."""
        self.results.reset(class_names, extra_columns)
        self.label_filter.blockSignals(True)
        self.label_filter.clear()
        self.label_filter.addItem("All labels", None)
        for name in [*class_names, UNCERTAIN]:
            self.label_filter.addItem(name, name)
        self.label_filter.blockSignals(False)

    def append(self, chunks: list[list[Prediction]]) -> None:
        first = not self.results.rows
        for chunk in chunks:
            self.results.append(chunk)
        if first:  # size the columns to the first rows once, then leave them to the user
            self.table.resizeColumnsToContents()
            self.table.setColumnWidth(0, 52)
            self.table.setColumnWidth(1, max(self.table.columnWidth(1), 200))

    def sort_as_shown(self) -> None:
        """Rows streamed in unsorted: sort them by the column the header shows."""
        header = self.table.horizontalHeader()
        self.proxy.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())

    def set_threshold(self, value: float) -> None:
        self.results.set_threshold(value)
        self.proxy.refilter()

    def _apply_filters(self) -> None:
        self.proxy.set_filters(
            self.label_filter.currentData(),
            self.uncertain_only.isChecked(),
            self.errors_only.isChecked(),
            self.search.text(),
        )

    def _row_selected(self, current: QModelIndex, _previous=None) -> None:
        row = current.data(ROW_ROLE) if current.isValid() else None
        if row is not None:
            self.row_selected.emit(row)
