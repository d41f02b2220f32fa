"""The sort dialog: choose an output folder and a mode, see the dry run, then confirm.

The dry run checks every target name on disk (one check per row), so it is made off the GUI
thread once typing pauses; until the plan for what the dialog shows arrives, Sort stays disabled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from PySide6.QtCore import QSettings, Qt
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
    QMessageBox,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from classifier.sorting import SortMode, SortPlan, SortReport, plan_sort
from classifier.types import Prediction
from ui import settings as keys
from ui.dry_run import DryRun, dry_run_layout
from ui.errors import ErrorInfo
from ui.tasks import TaskRunner

SHOWN_ACTIONS = 500


class SortDialog(QDialog):
    """Choose an output folder and a mode, see the dry run, then confirm."""

    def __init__(
        self,
        rows: Sequence[Prediction],
        settings: QSettings,
        runner: TaskRunner,
        parent: QWidget | None = None,
        reviewed: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sort files into folders")
        self.rows = rows
        self.reviewed = reviewed or {}  # reviewed labels win over predictions
        self.settings = settings
        self.runner = runner
        self.plan: SortPlan | None = None  # the dry run for what the dialog shows, once made
        self.dry_run = DryRun(
            runner, "sort-plan", self._plan_job, self._plan_arrived, self._plan_failed, self
        )
        self.output = QLineEdit(str(settings.value(keys.SORT_FOLDER, "")))
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
        dry_run_layout(
            self,
            form,
            "Each image goes to OUTPUT/<label>/ (the reviewed label where there is "
            "one); images below the confidence threshold go to OUTPUT/uncertain/. "
            "Nothing is ever overwritten: clashing names get (1), (2)… "
            "An undo log is written.",
            self.preview,
            self.summary,
            self.buttons,
        )
        self.resize(720, 520)
        self.refresh()

    def mode(self) -> SortMode:
        return SortMode(self.modes.checkedButton().property("mode"))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.output.text())
        if folder:
            self.output.setText(folder)

    def refresh(self) -> None:
        """The input changed: the plan shown is stale until a new one arrives."""
        self.plan = None
        self.go.setEnabled(False)
        if not self.output.text().strip():
            self.dry_run.changed(plan=False)
            self.preview.setRowCount(0)
            self.summary.setText("Choose an output folder.")
            return
        self.summary.setText("Checking the output folder…")
        self.dry_run.changed()

    def _plan_job(self):
        rows, output, mode, reviewed = (
            self.rows,
            self.output.text().strip(),
            self.mode(),
            self.reviewed,
        )
        return lambda ctx: plan_sort(rows, output, mode, reviewed)

    def _plan_arrived(self, plan: SortPlan) -> None:
        self.plan = plan
        self.go.setEnabled(bool(plan.actions))
        shown = plan.actions[:SHOWN_ACTIONS]
        self.preview.setRowCount(len(shown))
        for i, action in enumerate(shown):
            self.preview.setItem(i, 0, QTableWidgetItem(action.source.name))
            target = action.target.relative_to(plan.output).as_posix()
            self.preview.setItem(i, 1, QTableWidgetItem(target))
        folders = ", ".join(f"{name}: {n}" for name, n in sorted(plan.per_folder().items()))
        more = (
            f" (first {SHOWN_ACTIONS} of {len(plan.actions)} shown)"
            if len(plan.actions) > SHOWN_ACTIONS
            else ""
        )
        self.summary.setText(
            f"{plan.mode.value.capitalize()} {len(plan.actions)} files "
            f"into {folders}{more}. {plan.skipped} unreadable file(s) "
            "stay where they are."
        )

    def _plan_failed(self, info: ErrorInfo) -> None:
        self.preview.setRowCount(0)
        self.summary.setText(f"{info.what} {info.todo}".strip())

    def done(self, result: int) -> None:
        self.dry_run.stop()
        super().done(result)


UNDO_BUTTON = "Undo the sort"


def undo_question(report: SortReport) -> str:
    """What undoing `report` will do, in a sentence: how many files go back where."""
    n = report.done
    files = f"{n:,} file{'s' if n != 1 else ''}"
    output = report.log.parent
    if report.mode == SortMode.MOVE:
        origins = sorted({source.parent for source, _ in report.placed})
        where = (
            str(origins[0])
            if len(origins) == 1
            else f"the {len(origins)} folders they came from (such as {origins[0]})"
        )
        text = f"Move {files} from {output} back to {where}?"
    elif report.mode == SortMode.COPY:
        text = f"Delete the {files} copied into {output}? The originals stay where they are."
    else:
        text = f"Delete the {files} links made in {output}? The files they point to stay."
    return text + " Class folders the sort made are removed if that leaves them empty."


def confirm_undo(parent: QWidget, report: SortReport, undo: Callable[[], None]) -> QMessageBox:
    """Ask before undoing a sort; `undo` runs only if the user agrees. Opened, not exec'd."""
    box = QMessageBox(parent)
    box.setObjectName("sortscope-confirm-undo")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Undo the last sort")
    box.setText(undo_question(report))
    yes = box.addButton(UNDO_BUTTON, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(yes)

    def clicked(button) -> None:
        if box.buttonRole(button) == QMessageBox.ButtonRole.AcceptRole:
            undo()

    box.buttonClicked.connect(clicked)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
