"""The sort dialog: choose an output folder and a mode, see the dry run, then confirm."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from classifier.sorting import SortMode, SortPlan, plan_sort
from ui.widgets import hint


class SortDialog(QDialog):
    """Choose an output folder and a mode, see the dry run, then confirm."""

    def __init__(self, rows, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sort files into folders")
        self.rows = rows
        self.settings = settings
        self.output = QLineEdit(str(settings.value("last_sort_folder", "")))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        self.modes = QButtonGroup(self)
        mode_box = QHBoxLayout()
        for mode, text in [
            (SortMode.COPY, "Copy (originals stay)"),
            (SortMode.MOVE, "Move"),
            (SortMode.LINK, "Link (shortcuts)"),
        ]:
            button = QRadioButton(text)
            button.setProperty("mode", mode.value)
            self.modes.addButton(button)
            mode_box.addWidget(button)
            button.setChecked(mode == SortMode.COPY)
        self.modes.buttonToggled.connect(lambda *_: self.refresh())
        self.output.textChanged.connect(lambda *_: self.refresh())
        self.preview = QTableWidget(0, 2)
        self.preview.setHorizontalHeaderLabels(["File", "Goes to"])
        self.preview.verticalHeader().setVisible(False)
        self.preview.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.go = self.buttons.addButton("Sort files", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        out_row = QHBoxLayout()
        out_row.addWidget(self.output, 1)
        out_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Output folder", out_row)
        form.addRow("How", mode_box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(
            hint(
                "Each image goes to OUTPUT/<label>/; images below the confidence "
                "threshold go to OUTPUT/uncertain/. Nothing is ever overwritten: "
                "clashing names get (1), (2)… An undo log is written."
            )
        )
        layout.addWidget(QLabel("<b>Dry run</b>: what will happen"))
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)
        self.resize(720, 520)
        self.plan: SortPlan | None = None
        self.refresh()

    def mode(self) -> SortMode:
        return SortMode(self.modes.checkedButton().property("mode"))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.output.text())
        if folder:
            self.output.setText(folder)

    def refresh(self) -> None:
        text = self.output.text().strip()
        self.plan = plan_sort(self.rows, text, self.mode()) if text else None
        self.go.setEnabled(bool(self.plan and self.plan.actions))
        if self.plan is None:
            self.preview.setRowCount(0)
            self.summary.setText("Choose an output folder.")
            return
        shown = self.plan.actions[:500]
        self.preview.setRowCount(len(shown))
        for i, action in enumerate(shown):
            self.preview.setItem(i, 0, QTableWidgetItem(action.source.name))
            target = action.target.relative_to(self.plan.output).as_posix()
            self.preview.setItem(i, 1, QTableWidgetItem(target))
        folders = ", ".join(f"{name}: {n}" for name, n in sorted(self.plan.per_folder().items()))
        more = (
            f" (first 500 of {len(self.plan.actions)} shown)"
            if len(self.plan.actions) > 500
            else ""
        )
        self.summary.setText(
            f"{self.mode().value.capitalize()} {len(self.plan.actions)} files "
            f"into {folders}{more}. {self.plan.skipped} unreadable file(s) "
            "stay where they are."
        )
