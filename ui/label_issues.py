"""Suspected label errors in the dataset browser: "Check labels", the suspects, and what to do.

The check (classifier/quality.py) runs as a task with progress and cancel; each suspect is a
row saying where the image is, which class the network suggests and how sure it is. Clicking a
row asks the host to show the image; "Move to <class>" moves it (undoable), "Keep as is"
remembers it so it is not flagged again. `python -m ui.label_issues FOLDER` opens it alone.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from classifier.backbones import DEFAULT_BACKBONE, get_backbone
from classifier.dataset_add import plan_move_to_class
from classifier.errors import SortscopeError
from classifier.quality import KeptLabels, LabelCheck, LabelIssue, check_labels
from classifier.sorting import execute_sort, undo_sort
from classifier.types import ScanResult
from ui.errors import ErrorInfo, show_error
from ui.state import AppState
from ui.tasks import TaskRunner
from ui.widgets import TaskProgress

TASK = "check-labels"


class LabelIssuesPanel(QWidget):
    image_selected = Signal(object)  # Path of the suspect clicked
    dataset_changed = Signal(str)  # an image was moved (or moved back): the scan is stale

    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.kept = KeptLabels()
        self.backbone_name = DEFAULT_BACKBONE  # whose cached features are compared
        self.issues: list[LabelIssue] = []
        self._undo_logs: list[Path] = []
        self._root: Path | None = None  # the dataset the suspects belong to
        self.title = QLabel("Suspected label errors: not checked yet")
        self.check_button = QPushButton("Check labels")
        self.check_button.setToolTip(
            "Look for images that seem to be in the wrong class folder (uses the cached "
            "features; the first check computes them)."
        )
        self.check_button.clicked.connect(self.start_check)
        self.progress = TaskProgress()
        self.progress.cancel_requested.connect(lambda: self.runner.cancel(TASK))
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Image", "In folder", "Looks like", "How sure"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selected)
        self.move_button = QPushButton("Move to …")
        self.move_button.clicked.connect(self._move)
        self.keep_button = QPushButton("Keep as is")
        self.keep_button.clicked.connect(self._keep)
        self.undo_button = QPushButton("Undo move")
        self.undo_button.clicked.connect(self._undo)
        for button in (self.move_button, self.keep_button, self.undo_button):
            button.setEnabled(False)
        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        bar.addWidget(self.progress)
        bar.addWidget(self.check_button)
        actions = QHBoxLayout()
        actions.addStretch()
        for button in (self.move_button, self.keep_button, self.undo_button):
            actions.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        state.scan_changed.connect(self._scan_changed)

    def _scan_changed(self, scan: ScanResult | None) -> None:
        self.check_button.setEnabled(scan is not None and scan.usable)
        root = scan.root if scan is not None else None
        if root is not None and root == self._root and self.issues:
            # The same dataset scanned again after a move: the other suspects still stand.
            self._show([i for i in self.issues if i.path.exists()], self.title.text())
            return
        self.runner.cancel(TASK)
        self._root = root
        self._show([], "Suspected label errors: not checked yet")

    def start_check(self) -> None:
        scan = self.state.scan
        if scan is None or not scan.usable:
            return
        prep, kept, name = self.state.preprocessing, self.kept, self.backbone_name
        self.check_button.setEnabled(False)
        self.progress.start("Checking labels")

        def job(ctx):
            backbone = get_backbone(name)
            return check_labels(
                scan, backbone, prep=prep, progress=ctx.progress, cancel=ctx.cancel, kept=kept
            )

        self.runner.start(
            TASK,
            job,
            progressed=self.progress.update_progress,
            finished=lambda check: self._finished(scan, check),
            failed=self._failed,
            cancelled=self._cancelled,
        )

    def _finished(self, scan: ScanResult, check: LabelCheck) -> None:
        self.progress.finish()
        self.check_button.setEnabled(True)
        if scan is not self.state.scan:
            return  # the user opened another folder meanwhile
        n = len(check.issues)
        text = check.note or (
            f"<b>{n} suspected label error{'s' if n != 1 else ''}</b> (worst first)"
            if n
            else "No suspected label errors"
        )
        if check.kept:
            text += f" · {check.kept} kept as they are"
        self._show(list(check.issues), text)

    def _failed(self, info) -> None:
        self.progress.finish()
        self.check_button.setEnabled(True)
        show_error(self, info)

    def _cancelled(self) -> None:
        self.progress.finish()
        self.check_button.setEnabled(True)
        self.title.setText("Label check cancelled")

    def _show(self, issues: list[LabelIssue], title: str) -> None:
        self.issues = issues
        self.title.setText(title)
        self.table.setRowCount(len(issues))
        for row, issue in enumerate(issues):
            cells = [
                issue.file,
                issue.class_name,
                issue.suggested,
                f"{issue.suggested_probability:.0%}",
            ]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, column, item)
        self._selected()

    def current(self) -> LabelIssue | None:
        row = self.table.currentRow()
        return self.issues[row] if 0 <= row < len(self.issues) else None

    def _selected(self) -> None:
        issue = self.current()
        self.move_button.setEnabled(issue is not None)
        self.keep_button.setEnabled(issue is not None)
        self.move_button.setText(f"Move to {issue.suggested}" if issue else "Move to …")
        if issue is not None:
            self.image_selected.emit(issue.path)

    def _remove_current(self) -> None:
        row = self.table.currentRow()
        del self.issues[row]
        self.table.removeRow(row)
        self._selected()

    def _move(self) -> None:
        issue, scan = self.current(), self.state.scan
        if issue is None or scan is None:
            return
        try:
            report = execute_sort(plan_move_to_class([issue.path], scan.root, issue.suggested))
        except (OSError, SortscopeError) as exc:  # the file moved or the folder is read-only
            show_error(self, ErrorInfo.from_exception(exc))
            return
        self._undo_logs.append(report.log)
        self.undo_button.setEnabled(True)
        self._remove_current()
        self.dataset_changed.emit(f"Moved {issue.path.name} to {issue.suggested}.")

    def _keep(self) -> None:
        issue = self.current()
        if issue is None:
            return
        self.kept.keep(issue.digest, issue.class_name)
        self.state.status.emit(f"{issue.path.name} stays in {issue.class_name}")
        self._remove_current()

    def _undo(self) -> None:
        if not self._undo_logs:
            return
        undo_sort(self._undo_logs.pop())
        self.undo_button.setEnabled(bool(self._undo_logs))
        self.dataset_changed.emit("Move undone.")

    def shutdown(self) -> None:
        self.runner.cancel(TASK)


def _open_and_check(view: LabelIssuesPanel, state: AppState, args: list[str]) -> None:
    from classifier.scan import scan_dataset

    if args:
        state.set_scan(scan_dataset(Path(args[0])))
        view.start_check()


if __name__ == "__main__":
    from ui.standalone import run_view

    run_view(lambda state, runner, _s: LabelIssuesPanel(state, runner), _open_and_check)
