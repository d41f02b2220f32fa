"""Add reviewed images to a dataset: choose the dataset and how, see the dry run, confirm.

Everything is `classifier.dataset_add`: the dry run (with the duplicate check, which hashes
files) is planned off the GUI thread once typing pauses; a class folder that does not exist yet
is only created after the user says so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QWidget,
)

from classifier.dataset_add import AddItem, AddPlan, plan_add
from classifier.sorting import SortMode
from ui.dry_run import DryRun, dry_run_layout
from ui.errors import ErrorInfo
from ui.tasks import TaskRunner


class AddToDatasetDialog(QDialog):
    """The dataset (the model's, or another), copy or move, where "none of these" go."""

    def __init__(
        self,
        items: Callable[[], list[AddItem]],
        dataset: Path | None,
        runner: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add reviewed images to dataset")
        self.items = items  # called off the GUI thread: the reviewed rows of the batch
        self.runner = runner
        self.plan: AddPlan | None = None
        self.dry_run = DryRun(
            runner, "add-plan", self._plan_job, self._plan_arrived, self._plan_failed, self
        )

        self.dataset = QLineEdit(str(dataset) if dataset else "")
        self.dataset.setPlaceholderText("The dataset folder: one sub-folder per class")
        self.modes = QButtonGroup(self)
        self.copy = QRadioButton("Copy (originals stay)")
        self.move = QRadioButton("Move")
        self.copy.setChecked(True)
        self.keep_none = QRadioButton("Leave them where they are")
        self.none_to_folder = QRadioButton("Put them in this folder:")
        self.keep_none.setChecked(True)
        self.none_folder = QLineEdit()
        self.none_folder.setPlaceholderText("a folder outside the dataset")
        none_group = QButtonGroup(self)
        for group, buttons in (
            (self.modes, (self.copy, self.move)),
            (none_group, (self.keep_none, self.none_to_folder)),
        ):
            for button in buttons:
                group.addButton(button)
            group.buttonToggled.connect(lambda *_: self.refresh())
        for edit in (self.dataset, self.none_folder):
            edit.textChanged.connect(lambda *_: self.refresh())
        self.none_folder.textChanged.connect(
            lambda text: text and self.none_to_folder.setChecked(True)
        )

        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.go = self.buttons.addButton("Add images", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Dataset", _with_browse(self.dataset, "Dataset folder", self))
        modes = QHBoxLayout()
        modes.addWidget(self.copy)
        modes.addWidget(self.move)
        modes.addStretch(1)
        form.addRow("How", modes)
        none_row = QHBoxLayout()
        none_row.addWidget(self.keep_none)
        none_row.addWidget(self.none_to_folder)
        none_row.addWidget(_with_browse(self.none_folder, "Folder for 'none of these'", self), 1)
        form.addRow("“None of these”", none_row)
        dry_run_layout(
            self,
            form,
            "Each reviewed image goes to DATASET/<class>/. Nothing is overwritten (clashing "
            "names get (1), (2)…); images already in the dataset are skipped. A class "
            "folder that does not exist yet is created only after you confirm. "
            "An undo log is written.",
            self.preview,
            self.summary,
            self.buttons,
        )
        self.resize(680, 460)
        self.refresh()

    def mode(self) -> SortMode:
        return SortMode.MOVE if self.move.isChecked() else SortMode.COPY

    def none_target(self) -> str | None:
        text = self.none_folder.text().strip()
        return text if self.none_to_folder.isChecked() and text else None

    def refresh(self) -> None:
        """The input changed: the plan shown is stale until a new one arrives."""
        self.plan = None
        self.go.setEnabled(False)
        if not self.dataset.text().strip():
            self.dry_run.changed(plan=False)
            self.preview.clear()
            self.summary.setText("Choose the dataset folder.")
            return
        self.summary.setText("Checking the dataset for images already in it…")
        self.dry_run.changed()

    def _plan_job(self):
        items, dataset = self.items, self.dataset.text().strip()
        mode, none_folder = self.mode(), self.none_target()
        return lambda ctx: plan_add(
            items(),
            Path(dataset).expanduser(),
            mode,
            allow_new_classes=True,  # nothing is made here: the user confirms new ones
            none_folder=none_folder,
            progress=ctx.progress,
            cancel=ctx.cancel,
        )

    def _plan_arrived(self, plan: AddPlan) -> None:
        self.plan = plan
        self.go.setEnabled(bool(plan.actions))
        lines = plan.summary_lines(dry_run=True)
        self.preview.setPlainText("\n".join(lines) if lines else "Nothing reviewed to add.")
        verb = "Move" if plan.sort.mode == SortMode.MOVE else "Copy"
        self.summary.setText(
            f"{verb} {len(plan.actions)} image(s) into {plan.dataset}; "
            f"{plan.skipped_duplicates} already in the dataset (skipped)."
        )

    def _plan_failed(self, info: ErrorInfo) -> None:
        self.preview.clear()
        self.summary.setText(f"{info.what} {info.todo}".strip())

    def accept(self) -> None:
        plan = self.plan
        if plan is None:
            return
        if plan.new_classes and not self._confirm_new_classes(plan.new_classes):
            return  # stays open: the user can choose another dataset or cancel
        super().accept()

    def _confirm_new_classes(self, names: tuple[str, ...]) -> bool:
        listed = ", ".join(f"“{n}”" for n in names)
        answer = QMessageBox.question(
            self,
            "New class folders",
            f"The dataset has no folder for {listed} yet. Create it and add the images "
            "there? The next training then learns it as a class.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def done(self, result: int) -> None:
        self.dry_run.stop()
        super().done(result)


def _with_browse(edit: QLineEdit, title: str, parent: QWidget) -> QWidget:
    button = QPushButton("Choose…")

    def browse() -> None:
        folder = QFileDialog.getExistingDirectory(parent, title, edit.text())
        if folder:
            edit.setText(folder)

    button.clicked.connect(browse)
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return box
