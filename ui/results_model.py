"""Batch results as a Qt table model: virtualised, sortable, filterable, relabelled live.

Rows arrive in chunks while a run goes on. Labels are computed from the probabilities with the
current confidence threshold, so moving the threshold never needs a re-run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt

from classifier.predict import UNCERTAIN, label_for, novelty_label
from classifier.types import Prediction
from ui import style
from ui.thumbnails import ThumbnailLoader

ROW_ROLE = Qt.ItemDataRole.UserRole
FIXED_COLUMNS = ["", "File", "Label", "Confidence", "Reviewed"]
REVIEWED_COLUMN = 4  # the label a person gave, beside the prediction
MAX_WAITING = 5000  # thumbnail requests remembered; shown rows ask again when drawn


class ResultsModel(QAbstractTableModel):
    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self.loader = loader
        self.class_names: tuple[str, ...] = ()
        self.extra_columns: tuple[str, ...] = ()  # requested FITS header keywords
        self.rows: list[Prediction] = []
        self.threshold = 0.0
        self.novelty = False  # a Novelty column after Error (the model describes its training)
        self.novelty_threshold: float | None = None  # above it a row is "unfamiliar"
        # Thumbnails being decoded: path -> the row that asked. Only shown rows ask, so this
        # stays small; an index of all rows would cost seconds to rebuild after each sort of a
        # million rows. Text keys: str hashes are cached, pathlib's are recomputed every time.
        self._waiting: dict[str, int] = {}
        # Each row's label at the current threshold, in row order: filtering and sorting a
        # million rows read it instead of working out a label per row each time.
        self.labels: list[str] = []
        self._label_counts: Counter = Counter()  # so summaries never rescan all rows
        self._errors = 0
        self.reviewed: Callable[[Prediction], str] | None = None  # a row's reviewed label
        loader.loaded.connect(self._thumbnail_loaded)

    # --- content --------------------------------------------------------------------------

    def reset(
        self,
        class_names: tuple[str, ...],
        extra_columns: tuple[str, ...] = (),
        novelty: bool = False,
    ) -> None:
        self.beginResetModel()
        self.novelty = novelty
        self.class_names = tuple(class_names)
        self.extra_columns = tuple(extra_columns)
        self.rows = []
        self.labels = []
        self._waiting = {}
        self._label_counts = Counter()
        self._errors = 0
        self.loader.new_generation()
        self.endResetModel()

    def append(self, rows: list[Prediction]) -> None:
        if not rows:
            return
        start = len(self.rows)
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        labels = [self.label(row) for row in rows]
        self._count(rows, labels)
        self.rows.extend(rows)
        self.labels.extend(labels)
        self.endInsertRows()

    def _count(self, rows: list[Prediction], labels: list[str]) -> None:
        for row, label in zip(rows, labels, strict=True):
            if row.error:
                self._errors += 1
            else:
                self._label_counts[label] += 1

    def set_novelty_threshold(self, threshold: float | None) -> None:
        """Rows above `threshold` become "unfamiliar" (None: no row does)."""
        self.novelty_threshold = threshold
        self.set_threshold(self.threshold)

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        self.labels = [self.label(row) for row in self.rows]
        self._label_counts = Counter()
        self._errors = 0
        self._count(self.rows, self.labels)
        if self.rows:
            self.dataChanged.emit(self.index(0, 2), self.index(len(self.rows) - 1, 2))

    def set_reviewed(self, reviewed: Callable[[Prediction], str] | None) -> None:
        """Where the Reviewed column reads each row's reviewed label ("" when not reviewed)."""
        self.reviewed = reviewed
        self.reviewed_changed()

    def reviewed_changed(self) -> None:
        if self.rows:
            column = REVIEWED_COLUMN
            self.dataChanged.emit(self.index(0, column), self.index(len(self.rows) - 1, column))

    def label(self, row: Prediction) -> str:
        """A row's label at the current threshold ("" for an unreadable file)."""
        if row.error or row.probabilities is None:
            return ""
        label = label_for(row.probabilities, self.class_names, self.threshold)
        return novelty_label(label, row.novelty, self.novelty_threshold)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the rows themselves: one key per row, not a Python call per comparison."""
        if column <= 0:
            return
        keys = self._sort_keys(column)
        present = [i for i, key in enumerate(keys) if key is not None]
        missing = [i for i, key in enumerate(keys) if key is None]  # rows without a value: last
        present.sort(key=keys.__getitem__, reverse=order == Qt.SortOrder.DescendingOrder)
        order = present + missing
        rows, labels = self.rows, self.labels
        self.beginResetModel()
        self.rows = [rows[i] for i in order]
        self.labels = [labels[i] for i in order]
        self._waiting = {}  # rows moved: shown rows ask again as they are drawn
        self.endResetModel()

    def _sort_keys(self, column: int) -> list:
        """The column's value of every row; the common columns without a call per row."""
        if column == 1:
            return [r.file for r in self.rows]
        if column == 2:
            return list(self.labels)
        if column == 3:
            return [r.confidence for r in self.rows]
        return [self._value(i, column) for i in range(len(self.rows))]

    def move_paths(self, moves: Iterable[tuple[Path, Path]]) -> int:
        """Files moved on disk (by a sort, or back by its undo): their rows follow them."""
        new_paths = {str(old): new for old, new in moves}
        changed = 0
        for i, row in enumerate(self.rows):
            new = new_paths.get(str(row.path)) if row.path is not None else None
            if new is not None:
                self.rows[i] = replace(row, path=new)
                changed += 1
        if changed:
            self._waiting = {}  # shown rows ask again, by their new paths
            last = self.index(len(self.rows) - 1, self.columnCount() - 1)
            self.dataChanged.emit(self.index(0, 0), last)
        return changed

    def relabelled(self) -> list[Prediction]:
        """The rows with labels at the current threshold, as the CSV and sorting need them."""
        return [replace(r, label=label) for r, label in zip(self.rows, self.labels, strict=True)]

    def summary(self) -> tuple[Counter, int]:
        """Images per label at the current threshold, and unreadable files."""
        return Counter(self._label_counts), self._errors

    # --- Qt model -------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        novelty = 1 if self.novelty else 0
        return len(FIXED_COLUMNS) + len(self.class_names) + 1 + novelty + len(self.extra_columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        names = [
            *FIXED_COLUMNS,
            *(f"P({c})" for c in self.class_names),
            "Error",
            *(["Novelty"] if self.novelty else []),
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
                    if len(self._waiting) > MAX_WAITING:  # long scrolls: forget old requests
                        self._waiting.clear()
                    self._waiting[str(row.path)] = index.row()
                    self.loader.request(row.path)
                return pixmap
            return None
        value = self._value(index.row(), column)
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(value, float):
                return f"{value:.3f}"
            return value
        if role == Qt.ItemDataRole.ForegroundRole and (
            (column == 2 and value == UNCERTAIN) or (row.error and column != 0)
        ):
            return style.qcolor("warning" if value == UNCERTAIN else "error")
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 1:
                return str(row.path) if row.path is not None else row.file  # where it is now
            if column == self.error_column:
                return str(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= 3 and not isinstance(value, str):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @property
    def error_column(self) -> int:
        return len(FIXED_COLUMNS) + len(self.class_names)

    def _value(self, index: int, column: int):
        row = self.rows[index]
        if column == 1:
            return row.file
        if column == 2:
            return self.labels[index]
        if column == 3:
            return row.confidence
        if column == REVIEWED_COLUMN:
            return self.reviewed(row) if self.reviewed is not None else ""
        prob_index = column - len(FIXED_COLUMNS)
        if prob_index < len(self.class_names):
            return row.probabilities[prob_index] if row.probabilities else None
        extra_index = prob_index - len(self.class_names) - 1
        if extra_index < 0:
            return row.error
        if self.novelty:
            if extra_index == 0:
                return row.novelty
            extra_index -= 1
        return row.extra[extra_index] if extra_index < len(row.extra) else ""

    def _thumbnail_loaded(self, path, _pixmap) -> None:
        index = self._waiting.pop(str(path), None)
        if index is not None and index < len(self.rows) and self.rows[index].path == path:
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
        self.hide_reviewed = False
        self.only_files: frozenset[str] | None = None  # an area of the map (ui/classify_map)

    def set_filters(self, label: str | None, uncertain: bool, errors: bool, text: str) -> None:
        self.beginFilterChange()
        self.label_filter, self.uncertain_only, self.errors_only = label, uncertain, errors
        self.text = text.lower()
        self.endFilterChange()

    def set_only_files(self, files: frozenset[str] | None) -> None:
        """Only these rows (by `file`), or every row (None)."""
        self.beginFilterChange()
        self.only_files = files
        self.endFilterChange()

    def set_hide_reviewed(self, hide: bool) -> None:
        self.beginFilterChange()
        self.hide_reviewed = hide
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
        if (
            not (self.errors_only or self.uncertain_only or self.text or self.hide_reviewed)
            and self.label_filter is None
            and self.only_files is None
        ):
            return True
        row = self.results.rows[source_row]
        if self.only_files is not None and row.file not in self.only_files:
            return False
        if self.hide_reviewed and self.results.reviewed and self.results.reviewed(row):
            return False
        if self.errors_only and not row.error:
            return False
        label = self.results.labels[source_row]
        if self.uncertain_only and label != UNCERTAIN:
            return False
        if self.label_filter is not None and label != self.label_filter:
            return False
        return not self.text or self.text in row.file.lower()
