"""A dialog's dry run, planned off the GUI thread once typing pauses.

The sort and the add-to-dataset dialogs both check every target on disk (and the add dialog
hashes the dataset), so a plan is made as a task after the input has been still for a moment;
a plan made for input the user has changed since is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from ui.errors import ErrorInfo
from ui.tasks import TaskContext, TaskRunner
from ui.widgets import hint

PLAN_DELAY_MS = 250  # a pause in typing this long makes a new dry run


class DryRun(QObject):
    def __init__(
        self,
        runner: TaskRunner,
        kind: str,
        job: Callable[[], Callable[[TaskContext], Any]],
        arrived: Callable[[Any], None],
        failed: Callable[[ErrorInfo], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner, self.kind = runner, kind
        self.job = job  # called on the GUI thread: reads the input, returns the task's job
        self.arrived, self.failed = arrived, failed
        self.generation = 0  # counts input changes: a plan for older input is dropped
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PLAN_DELAY_MS)
        self._timer.timeout.connect(self._start)

    def changed(self, plan: bool = True) -> None:
        """The input changed: plan again once it rests (or, with `plan` False, not at all)."""
        self.generation += 1
        if plan:
            self._timer.start()  # restarted by each keystroke
        else:
            self._timer.stop()

    def stop(self) -> None:
        """The dialog closed: a plan still being made is not wanted any more."""
        self.changed(plan=False)

    def _start(self) -> None:
        generation = self.generation
        self.runner.start(
            self.kind,
            self.job(),
            finished=lambda plan: generation == self.generation and self.arrived(plan),
            failed=lambda info: generation == self.generation and self.failed(info),
        )


def dry_run_layout(
    dialog: QWidget, form: QFormLayout, explanation: str, preview: QWidget, *below: QWidget
) -> None:
    """The dialogs' layout: the choices, what will happen, the dry run, then `below`."""
    layout = QVBoxLayout(dialog)
    layout.addLayout(form)
    layout.addWidget(hint(explanation))
    layout.addWidget(QLabel("<b>Dry run</b>: what will happen"))
    layout.addWidget(preview, 1)
    for widget in below:
        layout.addWidget(widget)
