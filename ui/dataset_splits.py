"""The Dataset area's class table: a row per class (images, the Train/Validation/Test columns,
notes such as "only 4 images"). The split is worked out off the GUI thread, since it hashes every
path, and kept until the scan or the split changes. Mixed into `dataset_view.DatasetView`."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidgetItem

from classifier.split import assign_splits, split_counts
from classifier.types import ScanResult, Split, SplitConfig
from ui import style
from ui.errors import show_error


class SplitColumns:
    """Needs the view's state, runner, class_table, `_split_cache` and `_splits`."""

    def _split_changed(self, _split: SplitConfig) -> None:
        if self.state.scan is not None:
            self._show_splits(self.state.scan)

    def _show_splits(self, scan: ScanResult) -> None:
        """Images per split; after a split change every path is hashed again, off the GUI."""
        cached_scan, cached_split, splits = self._split_cache
        split = self.state.split
        if cached_scan is scan and cached_split == split:
            self._set_split_cells(scan, splits)
            return
        self._set_split_cells(scan, None)
        self.runner.start(
            "split",
            lambda ctx: splits_of(scan, split),
            finished=lambda splits: self._splits_arrived(scan, split, splits),
            failed=lambda info: show_error(self, info),
        )

    def _splits_arrived(self, scan: ScanResult, split: SplitConfig, splits: tuple) -> None:
        if scan is self.state.scan and split == self.state.split:  # else the user moved on
            self._split_cache = (scan, split, splits)
            self._set_split_cells(scan, splits)

    def _set_split_cells(self, scan: ScanResult, splits: tuple | None) -> None:
        """The Train/Validation/Test columns; "…" while the split is being worked out."""
        self._splits, per_class = splits if splits is not None else ({}, {})
        totals = {s: sum(c[s] for c in per_class.values()) for s in Split}
        rows = [totals, *(per_class.get(name, {}) for name in scan.classes)]
        for row, counts in enumerate(rows):
            for column, s in enumerate(Split, start=2):
                text = str(counts.get(s, 0)) if splits is not None else "…"
                self.class_table.setItem(row, column, _number_item(text))

    def _set_class_row(self, row: int, name: str, count: int, note: str) -> None:
        self.class_table.setItem(row, 0, QTableWidgetItem(name))
        self.class_table.setItem(row, 1, _number_item(str(count)))
        item = QTableWidgetItem(note)
        if note:
            item.setForeground(style.qcolor("caution"))
            item.setToolTip(note)
        self.class_table.setItem(row, 5, item)


def splits_of(scan: ScanResult, split: SplitConfig) -> tuple[dict, dict]:
    """Each image's split and the images per split of each class (hashes every path)."""
    splits = assign_splits(scan.images, split)
    return splits, split_counts(scan.images, splits)


def _number_item(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item
