"""The scan's problems as a table: severity, what is wrong, which file, what to do."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from classifier.types import Problem, Severity

FILE_WIDTH = 260  # px
ICONS = {Severity.ERROR: "⛔", Severity.WARNING: "⚠", Severity.INFO: "ℹ"}


class ProblemsPanel(QWidget):
    """A title with the count, and one row per problem; clicking a row names its index."""

    problem_clicked = Signal(int)  # the row, which is the problem's index in the scan

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Problems")
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["", "Problem", "File", "What to do"])
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a file name keeps its end
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.cellClicked.connect(lambda row, _column: self.problem_clicked.emit(row))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table)

    def show_problems(self, problems: tuple[Problem, ...], folder: Path | None) -> None:
        """Files are shown relative to `folder` where they lie inside it."""
        count = len(problems)
        self.title.setText(
            f"<b>{count} problem{'s' if count != 1 else ''}</b>" if count else "No problems found"
        )
        self.table.setVisible(bool(count))
        self.table.setRowCount(count)
        for row, p in enumerate(problems):
            where = ""
            if p.path is not None and folder is not None:
                try:
                    where = p.path.relative_to(folder).as_posix()
                except ValueError:
                    where = str(p.path)
            cells = [ICONS[p.severity], p.message, where, p.advice]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, column, item)
        # The File column fits its paths up to a limit (the rest is cut in the middle).
        self.table.setColumnWidth(2, min(max(self.table.sizeHintForColumn(2), 80), FILE_WIDTH))
        self.table.resizeRowsToContents()
