"""The error dialog: what happened and what to do in words; technical details folded below.

A message box (tests and callers find it as one, named "sortscope-error"), with its own
details section instead of Qt's "Show Details…": the traceback appears only for unexpected
errors, and a Copy details button puts a ready bug report on the clipboard without closing it.
"""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.errors import ErrorInfo


class ErrorDialog(QMessageBox):
    def __init__(self, parent: QWidget | None, info: ErrorInfo, title: str = "Sortscope") -> None:
        super().__init__(parent)
        self.info = info
        self.setObjectName("sortscope-error")
        self.setIcon(QMessageBox.Icon.Critical if info.unexpected else QMessageBox.Icon.Warning)
        self.setWindowTitle(title)
        self.setText(info.what)
        if info.todo:
            self.setInformativeText(info.todo)
        self.setStandardButtons(QMessageBox.StandardButton.Ok)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setToolTip("Copy a bug report (these words and the technical details).")
        self.copy_button.clicked.connect(self.copy_details)
        self.details_button = QPushButton("Show technical details")
        self.details_button.setCheckable(True)
        self.details = QPlainTextEdit(info.report())
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setMinimumSize(560, 220)
        self.details.setVisible(False)
        self.details_button.toggled.connect(self._show_details)
        buttons = QHBoxLayout()
        buttons.addWidget(self.details_button)
        buttons.addStretch()
        buttons.addWidget(self.copy_button)
        section = QWidget()
        column = QVBoxLayout(section)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(buttons)
        column.addWidget(self.details)
        grid = self.layout()  # QMessageBox's grid: the section goes below everything
        grid.addWidget(section, grid.rowCount(), 0, 1, grid.columnCount())
        # Expected errors (a bad file, a missing folder) need no technical part to act on.
        self.details_button.setVisible(bool(info.details))

    def _show_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.details_button.setText("Hide technical details" if shown else "Show technical details")
        self.adjustSize()

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.info.report())
        self.copy_button.setText("Copied")
