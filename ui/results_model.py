"""Batch results as a Qt table model: virtualised, sortable, filterable, relabelled live.

Rows arrive in chunks while a run goes on. Labels are computed from the probabilities with the
current confidence threshold, so moving the threshold never needs a re-run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from operator import itemgetter

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

from classifier.predict import UNCERTAIN
from classifier.types import Prediction
from ui.thumbnails import ThumbnailLoader

ROW_ROLE = Qt.ItemDataRole.UserRole
FIXED_COLUMNS = ["", "File", "Label", "Confidence"]


class ResultsModel(QAbstractTableModel):
    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self.loader = loader
        self.class_names: tuple[str, ...] = ()
        self.extra_columns: tuple[str, ...] = ()  # requested FITS header keywords
        self.rows: list[Prediction] = []
        self.threshold = 0.0
        # Text keys: str hashes are cached, pathlib's are recomputed in Python every time.
        # None after a sort: rebuilt when a thumbnail first needs it, not in the sort's pause.
        self._rows_by_path: dict[str, int] | None = {}
        self._labels: Counter = Counter()  # kept up to date so summaries never rescan all rows
        self._errors = 0
        loader.loaded.connect(self._thumbnail_loaded)

    # --- content --------------------------------------------------------------------------

    def reset(self, class_names: tuple[str, ...], extra_columns: tuple[str, ...] = ()) -> None:
        self.beginResetModel()
        self.class_names = tuple(class_names)
        self.extra_columns = tuple(extra_columns)
        self.rows = []
        self._rows_by_path = {}
        self._labels = Counter()
        self._errors = 0
        self.loader.new_generation()
        self.endResetModel()

    def append(self, rows: list[Prediction]) -> None:
        if not rows:
            return
        start = len(self.rows)
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        for offset, row in enumerate(rows):
            if self._rows_by_path is not None:
                self._rows_by_path[str(row.path)] = start + offset
            self._count(row)
        self.rows.extend(rows)
        self.endInsertRows()

    def _count(self, row: Prediction) -> None:
        if row.error:
            self._errors += 1
        else:
            self._labels[self.label(row)] += 1

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        self._labels = Counter()
        self._errors = 0
        for row in self.rows:
            self._count(row)
        if self.rows:
            self.dataChanged.emit(self.index(0, 2), self.index(len(self.rows) - 1, 2))

    def label(self, row: Prediction) -> str:
        # Pure Python on purpose: called per row by the filter, a NumPy call would be slower.
        probabilities = row.probabilities
        if row.error or probabilities is None:
            return ""
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        return self.class_names[best] if probabilities[best] >= self.threshold else UNCERTAIN

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the rows themselves: one key per row, not a Python call per comparison."""
        if column <= 0:
            return

        keyed = [(self._value(r, column), r) for r in self.rows]  # one key per row, once
        filled = [pair for pair in keyed if pair[0] is not None]
        empty = [r for k, r in keyed if k is None]  # rows without a value stay last
        filled.sort(key=itemgetter(0), reverse=order == Qt.SortOrder.DescendingOrder)
        self.beginResetModel()
        self.rows = [r for _, r in filled] + empty
        self._rows_by_path = None
        self.endResetModel()

    def relabelled(self) -> list[Prediction]:
        """The rows with labels at the current threshold, as the CSV and sorting need them."""
        return [replace(r, label=self.label(r)) for r in self.rows]

    def summary(self) -> tuple[Counter, int]:
        """Images per label at the current threshold, and unreadable files."""
        return Counter(self._labels), self._errors

    # --- Qt model -------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        return len(FIXED_COLUMNS) + len(self.class_names) + 1 + len(self.extra_columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        names = [
            *FIXED_COLUMNS,
            *(f"P({c})" for c in self.class_names),
            "Error",
            *self.extra_columns,
        ]
        return names[section] if section < len(names) else None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = index.column()
        if role == ROW_ROLE:
            return row
        if column == 0:
            if role == Qt.ItemDataRole.DecorationRole and row.path is not None:
                known, pixmap = self.loader.cached(row.path)
                if not known:
                    self.loader.request(row.path)
                return pixmap
            return None
        value = self._value(row, column)
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(value, float):
                return f"{value:.3f}"
            return value
        if role == Qt.ItemDataRole.ForegroundRole and (
            (column == 2 and value == UNCERTAIN) or (row.error and column != 0)
        ):
            return QColor("#d9822b") if value == UNCERTAIN else QColor("#d64545")
        if role == Qt.ItemDataRole.ToolTipRole and column in (
            1,
            len(FIXED_COLUMNS) + len(self.class_names),
        ):
            return str(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= 3 and not isinstance(value, str):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _value(self, row: Prediction, column: int):
        if column == 1:
            return row.file
        if column == 2:
            return self.label(row)
        if column == 3:
            return row.confidence
        prob_index = column - len(FIXED_COLUMNS)
        if prob_index < len(self.class_names):
            return row.probabilities[prob_index] if row.probabilities else None
        extra_index = prob_index - len(self.class_names) - 1
        if extra_index < 0:
            return row.error
        return row.extra[extra_index] if extra_index < len(row.extra) else ""

    def _thumbnail_loaded(self, path, _pixmap) -> None:
        if self._rows_by_path is None:
            self._rows_by_path = {str(r.path): i for i, r in enumerate(self.rows)}
        index = self._rows_by_path.get(str(path))
        if index is not None:
            cell = self.index(index, 0)
            self.dataChanged.emit(cell, cell, [Qt.ItemDataRole.DecorationRole])


class ResultsFilter(QSortFilterProxyModel):
    """Filter by label, uncertain-only, errors-only and file-name text."""

    def __init__(self, source: ResultsModel) -> None:
        super().__init__()
        self.results = source
        self.setSourceModel(source)
        self.label_filter: str | None = None
        self.uncertain_only = False
        self.errors_only = False
        self.text = ""

    def set_filters(self, label: str | None, uncertain: bool, errors: bool, text: str) -> None:
        self.beginFilterChange()
        self.label_filter, self.uncertain_only, self.errors_only = label, uncertain, errors
        self.text = text.lower()
        self.endFilterChange()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        # The source sorts far faster than per-comparison lessThan calls; the proxy only filters.
        self.results.sort(column, order)

    def refilter(self) -> None:
        """Labels changed (a new threshold): rows may now pass or fail the filters."""
        self.beginFilterChange()
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, _parent: QModelIndex) -> bool:
        # Called for every row after each sort or reset: no filter must mean no work.
        if not (self.errors_only or self.uncertain_only or self.text) and self.label_filter is None:
            return True
        row = self.results.rows[source_row]
        if self.errors_only and not row.error:
            return False
        label = self.results.label(row)
        if self.uncertain_only and label != UNCERTAIN:
            return False
        if self.label_filter is not None and label != self.label_filter:
            return False
        return not self.text or self.text in row.file.lower()
