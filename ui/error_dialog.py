"""The error dialog: what happened and what to do in words; technical details folded below.

Instead of Qt's "Show Details…" with a raw traceback: a details section that holds a bug
report (the words, the versions, then the cause, or the traceback for unexpected errors only),
and a Copy details button that puts it on the clipboard without closing the dialog.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ui.errors import ErrorInfo


class ErrorDialog(QDialog):
    """Found by tests and callers as the dialog named "sortscope-error"."""

    def __init__(self, parent: QWidget | None, info: ErrorInfo, title: str = "Sortscope") -> None:
        super().__init__(parent)
        self.info = info
        self.setObjectName("sortscope-error")
        self.setWindowTitle(title)
        icon = QLabel()
        kind = QStyle.StandardPixmap
        pixmap = kind.SP_MessageBoxCritical if info.unexpected else kind.SP_MessageBoxWarning
        icon.setPixmap(self.style().standardIcon(pixmap).pixmap(48, 48))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.what = QLabel(f"<b>{html.escape(info.what)}</b>")
        self.todo = QLabel(html.escape(info.todo))
        for label in (self.what, self.todo):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setMinimumWidth(420)
        self.todo.setVisible(bool(info.todo))
        words = QVBoxLayout()
        words.addWidget(self.what)
        words.addWidget(self.todo)
        words.addStretch()
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addLayout(words, 1)

        self.details = QPlainTextEdit(info.report())
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setMinimumSize(600, 240)
        self.details.setVisible(False)
        self.details_button = QPushButton("Show technical details")
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self._show_details)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setToolTip("Copy a bug report: these words and the technical details.")
        self.copy_button.clicked.connect(self.copy_details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.addButton(self.details_button, QDialogButtonBox.ButtonRole.ResetRole)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.HelpRole)
        buttons.accepted.connect(self.accept)

        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QVBoxLayout.SizeConstraint.SetFixedSize)  # grows with details
        layout.addLayout(top)
        layout.addWidget(buttons)
        layout.addWidget(self.details)

    def text(self) -> str:
        return self.info.what

    def informativeText(self) -> str:  # the QMessageBox names, which callers and tests know
        return self.info.todo

    def _show_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.details_button.setText("Hide technical details" if shown else "Show technical details")

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.info.report())
        self.copy_button.setText("Copied")
