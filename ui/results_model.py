"""Batch results as a Qt table model: virtualised, sortable, filterable, relabelled live.

Rows arrive in chunks while a run goes on and are kept in that order (`rows`), with their
sortable values as NumPy columns (`ui.results_columns`). The table shows `shown`: row numbers in
the current sort order, less the rows the filters hide. A sort or a filter change computes the
new `order` and `shown` arrays off the GUI thread for big tables (`BACKGROUND_FROM` rows and
more; smaller ones at once, the same code) and swaps them in with one layout change, so a
million rows never stall the window; a newer request makes an older result stale. Labels are
computed from the probabilities with the current confidence threshold, so moving the threshold
never needs a re-run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal

from classifier.predict import UNCERTAIN, label_for, novelty_label
from classifier.types import Prediction
from ui import style
from ui.results_columns import (
    Filters,
    Growing,
    ResultColumns,
    Snapshot,
    filter_mask,
    sort_keys,
    sorted_order,
)
from ui.results_worker import LatestOnly
from ui.thumbnails import ThumbnailLoader

ROW_ROLE = Qt.ItemDataRole.UserRole
FIXED_COLUMNS = ["", "File", "Label", "Confidence", "Reviewed"]
REVIEWED_COLUMN = 4  # the label a person gave, beside the prediction
MAX_WAITING = 5000  # thumbnail requests remembered; shown rows ask again when drawn
BACKGROUND_FROM = 20_000  # rows from which sorting and filtering run off the GUI thread


def _arrange(
    snapshot: Snapshot, current: np.ndarray, sorts: tuple, filters: Filters
) -> tuple[np.ndarray, np.ndarray, int]:
    """The sort order after `sorts` ((column, kind, descending) in turn, each stable on the
    last) and the rows of it the filters show; for the snapshot's rows."""
    order = current
    for column, kind, descending in sorts:
        keys, missing = sort_keys(snapshot, column, kind)
        order = sorted_order(keys, missing, order, descending)
    shown = order[filter_mask(snapshot, filters)[order]]
    return order, shown, snapshot.size


class ResultsModel(QAbstractTableModel):
    labels_changed = Signal()  # a new threshold's labels arrived: summaries count again

    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self.loader = loader
        self.class_names: tuple[str, ...] = ()
        self.extra_columns: tuple[str, ...] = ()  # requested FITS header keywords
        self.rows: list[Prediction] = []  # in the order they arrived
        self.columns = ResultColumns()
        self.order = Growing(np.int64)  # every row number, in the sort order
        self.shown = Growing(np.int64)  # the row numbers the table shows, in order
        self.filters = Filters()
        self._sorts: list[tuple[int, str, bool]] = []  # asked for, not yet in `order`
        self.background_from = BACKGROUND_FROM
        self.worker = LatestOnly("sortscope-results-order", self)
        self.worker.done.connect(lambda _generation, result: self._swap(result))
        self.relabeller = LatestOnly("sortscope-results-labels", self)
        self.relabeller.done.connect(lambda _generation, result: self._relabelled(result))
        self.threshold = 0.0
        self.novelty = False  # a Novelty column after Error (the model describes its training)
        self.novelty_threshold: float | None = None  # above it a row is "unfamiliar"
        # Thumbnails being decoded: path -> the shown row that asked. Only shown rows ask, so
        # this stays small; rows that move ask again when drawn. Text keys: str hashes are
        # cached, pathlib's are recomputed every time.
        self._waiting: dict[str, int] = {}
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
        self.worker.invalidate()  # a sort of the old rows must not arrive
        self.relabeller.invalidate()
        self.novelty = novelty
        self.class_names = tuple(class_names)
        self.extra_columns = tuple(extra_columns)
        self.rows = []
        self.columns = ResultColumns(self.class_names)
        self.order, self.shown = Growing(np.int64), Growing(np.int64)
        self._sorts = []
        self._waiting = {}
        self.loader.new_generation()
        self.endResetModel()

    def append(self, rows: list[Prediction]) -> None:
        """New rows go after the others (a sort that comes later places them)."""
        if not rows:
            return
        start = len(self.rows)
        self.rows.extend(rows)
        self.columns.extend(rows, self.threshold, self.novelty_threshold)
        self._add_shown(start)

    def _add_shown(self, start: int) -> None:
        """Rows from `start` on, not in `order` yet: at its end, and shown if they pass."""
        new = np.arange(start, len(self.rows))
        self.order.extend(new)
        passing = new[filter_mask(self._snapshot(start), self.filters)]
        if len(passing):
            first = self.shown.size
            self.beginInsertRows(QModelIndex(), first, first + len(passing) - 1)
            self.shown.extend(passing)
            self.endInsertRows()

    @property
    def labels(self) -> list[str]:
        """Each row's label at the current threshold, in `rows` order (a new list each time:
        loops over rows read `columns` instead)."""
        return self.columns.label_texts()

    def set_novelty_threshold(self, threshold: float | None) -> None:
        """Rows above `threshold` become "unfamiliar" (None: no row does)."""
        self.novelty_threshold = threshold
        self.set_threshold(self.threshold)

    def set_threshold(self, threshold: float) -> None:
        """Relabel every row (NumPy, off the GUI thread for a big table); rows arriving
        meanwhile get labels at the new threshold. Label filters look again."""
        self.threshold = threshold
        job = self.columns.relabelling(threshold, self.novelty_threshold)
        if len(self.rows) < self.background_from:
            self.relabeller.invalidate()
            self._relabelled(job())
        else:
            self.relabeller.submit(job)

    def _relabelled(self, result: tuple[np.ndarray, np.ndarray]) -> None:
        self.columns.set_codes(result)
        self.labels_changed.emit()
        if self.shown.size:
            self.dataChanged.emit(self.index(0, 2), self.index(self.shown.size - 1, 2))
        if self.filters.label is not None or self.filters.uncertain:
            self.refilter()

    def set_reviewed(self, reviewed: Callable[[Prediction], str] | None) -> None:
        """Where the Reviewed column reads each row's reviewed label ("" when not reviewed)."""
        self.reviewed = reviewed
        self.reviewed_changed()

    def reviewed_changed(self) -> None:
        if self.shown.size:
            column = REVIEWED_COLUMN
            self.dataChanged.emit(self.index(0, column), self.index(self.shown.size - 1, column))

    def label(self, row: Prediction) -> str:
        """A row's label at the current threshold ("" for an unreadable file)."""
        if row.error or row.probabilities is None:
            return ""
        label = label_for(row.probabilities, self.class_names, self.threshold)
        return novelty_label(label, row.novelty, self.novelty_threshold)

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
            if self.shown.size:
                last = self.index(self.shown.size - 1, self.columnCount() - 1)
                self.dataChanged.emit(self.index(0, 0), last)
        return changed

    def relabelled(self) -> list[Prediction]:
        """The rows in the table's sort order (filters aside) with labels at the current
        threshold, as the CSV and sorting need them."""
        vocabulary, codes, rows = self.columns.vocabulary, self.columns.codes.values, self.rows
        return [replace(rows[i], label=vocabulary[codes[i]]) for i in self.order.values.tolist()]

    def shown_rows(self) -> list[Prediction]:
        """The rows as the table shows them: its sort order, its filters."""
        rows = self.rows
        return [rows[i] for i in self.shown.values.tolist()]

    def summary(self) -> tuple[Counter, int]:
        """Images per label at the current threshold, and unreadable files."""
        counts, errors = self.columns.counts()
        return Counter(counts), errors

    # --- sorting and filtering ------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A sort, filter or relabelling is being computed: the table shows the last one."""
        return self.worker.busy or self.relabeller.busy

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the rows by a column, stably on the order shown; rows without a value last."""
        if column <= 0:
            return
        self._sorts.append((column, self._sort_kind(column), order == Qt.SortOrder.DescendingOrder))
        self._arrange()

    def set_filters(self, label: str | None, uncertain: bool, errors: bool, text: str) -> None:
        self.filters = replace(
            self.filters, label=label, uncertain=uncertain, errors=errors, text=text.lower()
        )
        self._arrange()

    def set_hide_reviewed(self, hide: bool) -> None:
        self.filters = replace(self.filters, hide_reviewed=hide)
        self._arrange()

    @property
    def only_files(self) -> frozenset[str] | None:
        return self.filters.only_files

    def set_only_files(self, files: frozenset[str] | None) -> None:
        """Only these rows (by `file`), or every row (None)."""
        self.filters = replace(self.filters, only_files=files)
        self._arrange()

    def shown_index(self, row: int, column: int = 1) -> QModelIndex:
        """Where `rows[row]` is in the table (invalid when the filters hide it)."""
        where = np.flatnonzero(self.shown.values == row)
        return self.index(int(where[0]), column) if where.size else QModelIndex()

    def refilter(self) -> None:
        """Labels or reviews changed: rows may now pass or fail the filters."""
        if self.filters.active:
            self._arrange()

    def _arrange(self) -> None:
        """Compute the sort order and shown rows for the current requests: at once for a small
        table, else off the GUI thread (the newest request wins)."""
        snapshot = self._snapshot(0)
        job = (snapshot, self.order.values, tuple(self._sorts), self.filters)
        if snapshot.size < self.background_from:
            self.worker.invalidate()
            self._swap(_arrange(*job))
        else:
            self.worker.submit(lambda: _arrange(*job))

    def _snapshot(self, start: int) -> Snapshot:
        rows = self.rows
        reviewed = self.reviewed
        review = (lambda i: reviewed(rows[i])) if reviewed is not None else None
        return self.columns.snapshot(self._value, review, start)

    def _sort_kind(self, column: int) -> str:
        fixed = len(FIXED_COLUMNS)
        if column in (1, 2, 3):
            return ("file", "label", "confidence")[column - 1]
        if 0 <= column - fixed < len(self.class_names):
            return f"p{column - fixed}"
        if self.novelty and column == self.error_column + 1:
            return "novelty"
        return "value"

    def _swap(self, result: tuple[np.ndarray, np.ndarray, int]) -> None:
        """Show a computed order: rows that arrived meanwhile go after it; the selection and
        the current row stay on their rows (or go, when their row is filtered out)."""
        order, shown, size = result
        self._sorts = []
        self.layoutAboutToBeChanged.emit()
        old = self.shown.values
        before = self.persistentIndexList()
        moved: dict[int, int] = {}
        for index in before:
            if index.row() < len(old) and (row := int(old[index.row()])) not in moved:
                found = np.flatnonzero(shown == row)
                moved[row] = int(found[0]) if len(found) else -1
        after = []
        for index in before:
            new = moved.get(int(old[index.row()]), -1) if index.row() < len(old) else -1
            after.append(self.index(new, index.column()) if new >= 0 else QModelIndex())
        self.order, self.shown = Growing.of(order), Growing.of(shown)
        self._waiting = {}  # rows moved: shown rows ask again as they are drawn
        if before:
            self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()
        if size < len(self.rows):
            self._add_shown(size)

    # --- Qt model -------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.shown.size

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
        if not index.isValid() or index.row() >= self.shown.size:
            return None
        number = int(self.shown.data[index.row()])
        row = self.rows[number]
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
        value = self._value(number, column)
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

    def _value(self, number: int, column: int):
        """Row `number`'s (in `rows`) value in a column."""
        row = self.rows[number]
        if column == 1:
            return row.file
        if column == 2:
            return self.columns.vocabulary[self.columns.codes.data[number]]
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
        shown = self._waiting.pop(str(path), None)
        if (
            shown is not None
            and shown < self.shown.size
            and self.rows[int(self.shown.data[shown])].path == path
        ):
            cell = self.index(shown, 0)
            self.dataChanged.emit(cell, cell, [Qt.ItemDataRole.DecorationRole])
