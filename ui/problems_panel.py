"""The scan's problems as a table: severity, what is wrong, which file, what to do; and what
can be done about a problem file right there: open its folder, move it to another class (with
undo, through the core's "Move to class…"), or delete it (to the system trash).

Suspected label errors ("Check labels", ui/suspects.py) are rows here too, after the scan's
problems: the file, the class the network suggests and how sure; "Move to <suggested>" (with
undo) or "Keep as is" (remembered by content, so the next check does not flag it again).

File work runs off the GUI thread; afterwards `files_changed` asks for the dataset to be
scanned again.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from classifier.dataset_add import plan_move_to_class
from classifier.quality import KeptLabels, LabelIssue
from classifier.sorting import UndoReport, execute_sort, undo_sort
from classifier.types import Problem, Severity
from ui.errors import ErrorInfo, show_error
from ui.system import move_to_trash, open_containing_folder
from ui.tasks import TaskRunner

FILE_WIDTH = 260  # px
ICONS = {Severity.ERROR: "⛔", Severity.WARNING: "⚠", Severity.INFO: "ℹ"}
SUSPECT_ICON = ICONS[Severity.WARNING]


class ProblemsPanel(QWidget):
    """A title with the count, and one row per problem; clicking a row names its index."""

    problem_clicked = Signal(int)  # the row, which is the problem's index in the scan
    suspect_clicked = Signal(object)  # a LabelIssue (a row after the scan's problems)
    files_changed = Signal(str)  # what was done; the dataset needs scanning again
    said = Signal(str)  # a word for the status bar (a suspect kept)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.problems: tuple[Problem, ...] = ()
        self.folder: Path | None = None
        self.classes: tuple[str, ...] = ()
        self.undo_log: Path | None = None  # the last move to another class
        self.suspects: list[LabelIssue] = []  # rows after the problems, worst first
        self.suspect_note = ""  # the last check's outcome, for the title
        self.kept = KeptLabels()  # "Keep as is", by content
        self._undo_suspect: LabelIssue | None = None  # listed again when its move is undone
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
        self.table.cellClicked.connect(self._clicked)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.open_button = QPushButton("Open containing folder")
        self.open_button.clicked.connect(self.open_folder_of_selected)
        self.move_button = QPushButton("Move to class…")
        self.move_button.setToolTip("Move the file into another class folder (can be undone).")
        self.move_button.clicked.connect(self.move_selected)
        self.delete_button = QPushButton("Move to trash")
        self.delete_button.setToolTip("Move the file to the system trash.")
        self.delete_button.clicked.connect(self.delete_selected)
        self.undo_button = QPushButton("Undo move")
        self.undo_button.clicked.connect(self.undo_move)
        self.keep_button = QPushButton("Keep as is")
        self.keep_button.setToolTip("The folder is right: do not flag this image again.")
        self.keep_button.clicked.connect(self.keep_selected)
        self.actions = QHBoxLayout()
        self.actions.addWidget(self.title, 1)
        buttons = (self.undo_button, self.open_button, self.keep_button, self.move_button)
        for button in (*buttons, self.delete_button):
            self.actions.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.actions)
        layout.addWidget(self.table)
        self._update_buttons()

    def show_problems(
        self, problems: tuple[Problem, ...], folder: Path | None, classes: tuple[str, ...] = ()
    ) -> None:
        """Files are shown relative to `folder` where they lie inside it; `classes` are the
        class folders a file can be moved to. The suspects of the same folder stay (those
        still where they were); another folder's are dropped."""
        if folder != self.folder:
            self.suspects, self.suspect_note, self.undo_log = [], "", None
        self.problems, self.folder, self.classes = problems, folder, classes
        self.suspects = [s for s in self.suspects if s.path.is_file()]
        self._fill()

    def show_suspects(self, suspects, note: str = "") -> None:
        """Suspected label errors (LabelIssue, worst first) as rows after the problems;
        `note` says what the check found (or why it could not check)."""
        self.suspects, self.suspect_note = list(suspects), note
        self._fill()

    def _fill(self) -> None:
        problems, folder = self.problems, self.folder
        count, suspects = len(problems), len(self.suspects)
        title = f"<b>{count} problem{'s' if count != 1 else ''}</b>" if count else ""
        if suspects:
            s = "s" if suspects != 1 else ""
            title += f"{' · ' if title else ''}<b>{suspects} suspected label error{s}</b>"
        title = title or "No problems found"
        if self.suspect_note:
            title += f" · {self.suspect_note}"
        self.title.setText(title)
        self.table.setVisible(bool(count + suspects))
        self.table.setRowCount(count + suspects)
        rows = [_problem_cells(p, folder) for p in problems]
        rows += [_suspect_cells(s) for s in self.suspects]
        for row, cells in enumerate(rows):
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, column, item)
        # The File column fits its paths up to a limit (the rest is cut in the middle).
        self.table.setColumnWidth(2, min(max(self.table.sizeHintForColumn(2), 80), FILE_WIDTH))
        self.table.resizeRowsToContents()
        self._update_buttons()

    # --- acting on a problem's file ---------------------------------------------------------

    def _clicked(self, row: int, _column: int = 0) -> None:
        if row < len(self.problems):
            self.problem_clicked.emit(row)
        elif row - len(self.problems) < len(self.suspects):
            self.suspect_clicked.emit(self.suspects[row - len(self.problems)])

    def _selected_row(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def selected_suspect(self) -> LabelIssue | None:
        row = self._selected_row()
        if row is None or not 0 <= row - len(self.problems) < len(self.suspects):
            return None
        return self.suspects[row - len(self.problems)]

    def select_suspect(self, issue: LabelIssue) -> None:
        """Select (and show, as a click would) a suspect's row."""
        if issue in self.suspects:
            row = len(self.problems) + self.suspects.index(issue)
            self.table.selectRow(row)
            self._clicked(row)

    def selected_file(self) -> Path | None:
        """The selected problem's (or suspect's) file, if it still exists."""
        row = self._selected_row()
        suspect = self.selected_suspect()
        if suspect is not None:
            path = suspect.path
        elif row is None or row >= len(self.problems):
            return None
        else:
            path = self.problems[row].path
        return path if path is not None and path.is_file() else None

    def _update_buttons(self) -> None:
        path = self.selected_file()
        suspect = self.selected_suspect()
        busy = self.runner.is_running("problem-file")
        inside = path is not None and self.folder is not None and self.folder in path.parents
        for button in (self.open_button, self.move_button, self.delete_button):
            button.setVisible(bool(self.problems or self.suspects))
        self.keep_button.setVisible(suspect is not None)
        self.keep_button.setEnabled(suspect is not None and not busy)
        self.move_button.setText(f"Move to {suspect.suggested}" if suspect else "Move to class…")
        self.open_button.setEnabled(path is not None)
        self.delete_button.setEnabled(inside and not busy)
        self.move_button.setEnabled(inside and len(self.classes) > 1 and not busy)
        self.undo_button.setVisible(self.undo_log is not None)
        self.undo_button.setEnabled(not busy)

    def _context_menu(self, pos) -> None:
        if self.selected_file() is None:
            return
        menu = QMenu(self)
        buttons = (self.open_button, self.keep_button, self.move_button, self.delete_button)
        for button in buttons:
            if button.isHidden():
                continue
            action = menu.addAction(button.text(), button.click)
            action.setEnabled(button.isEnabled())
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def open_folder_of_selected(self) -> None:
        path = self.selected_file()
        if path is not None:
            open_containing_folder(path)

    def delete_selected(self) -> None:
        """To the system trash; where there is none, only after asking, and for good."""
        path = self.selected_file()
        if path is None:
            return
        if move_to_trash(path):
            self.files_changed.emit(f"Moved {path.name} to the trash.")
            return
        answer = QMessageBox.question(
            self,
            "Delete file",
            f"There is no trash to move {path.name} to here. Delete it permanently?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            path.unlink()
        except OSError as error:
            show_error(self, ErrorInfo(f"{path.name} could not be deleted ({error.strerror}).", ""))
            return
        self.files_changed.emit(f"Deleted {path.name}.")

    def move_selected(self) -> None:
        """A suspect goes to its suggested class; any other file to a class the user picks."""
        path, folder, suspect = self.selected_file(), self.folder, self.selected_suspect()
        if path is None or folder is None:
            return
        if suspect is not None:
            name = suspect.suggested
        else:
            here = path.relative_to(folder).parts[0]
            choices = [c for c in self.classes if c != here]
            name, ok = QInputDialog.getItem(
                self, "Move to class", f"Move {path.name} into the class:", choices, 0, False
            )
            if not ok or not name:
                return
        self._run(
            lambda ctx: execute_sort(plan_move_to_class([path], folder, name), cancel=ctx.cancel),
            lambda report: self._moved(report, f"Moved {path.name} into {name}.", suspect),
        )

    def _moved(self, report, message: str, suspect: LabelIssue | None = None) -> None:
        self.undo_log, self._undo_suspect = report.log, suspect
        if suspect in self.suspects:
            self.suspects.remove(suspect)
        self.files_changed.emit(message)

    def keep_selected(self) -> None:
        """Keep the suspect where it is, remembered by content: it is not flagged again."""
        suspect = self.selected_suspect()
        if suspect is None:
            return
        try:
            self.kept.keep(suspect.digest, suspect.class_name)
        except OSError as error:
            show_error(self, ErrorInfo.from_exception(error))
            return
        self.suspects.remove(suspect)
        self._fill()
        self.said.emit(f"{suspect.path.name} stays in {suspect.class_name}.")

    def undo_move(self) -> None:
        log = self.undo_log
        if log is None:
            return

        def undone(report: UndoReport) -> None:
            self.undo_log = None
            if self._undo_suspect is not None and self._undo_suspect.path.is_file():
                self.suspects.insert(0, self._undo_suspect)  # back where it was: still suspect
            self._undo_suspect = None
            self.files_changed.emit(f"Moved {report.undone} file(s) back where they were.")

        self._run(lambda ctx: undo_sort(log, cancel=ctx.cancel), undone)

    def _run(self, job, finished) -> None:
        def failed(info: ErrorInfo) -> None:
            self._update_buttons()
            show_error(self, info)

        def done(value) -> None:
            finished(value)
            self._update_buttons()

        self.runner.start("problem-file", job, finished=done, failed=failed)
        self._update_buttons()


def _problem_cells(p: Problem, folder: Path | None) -> list[str]:
    where = ""
    if p.path is not None and folder is not None:
        try:
            where = p.path.relative_to(folder).as_posix()
        except ValueError:
            where = str(p.path)
    return [ICONS[p.severity], p.message, where, p.advice]


def _suspect_cells(s: LabelIssue) -> list[str]:
    return [
        SUSPECT_ICON,
        f"Looks like {s.suggested}, not {s.class_name} ({s.suggested_probability:.0%} sure)",
        s.file,
        f"Move it to {s.suggested}, or keep it in {s.class_name} if the folder is right.",
    ]
