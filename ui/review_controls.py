"""The Classify area's review actions: review mode, add reviewed images, retrain with them.

One object the Classify area holds: it opens the batch's review journal when a run finishes,
feeds the results table its Reviewed column, and owns the buttons of the labelling loop.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from classifier.errors import SortscopeError
from classifier.modelfile import SortscopeModel
from classifier.types import Prediction
from ui.errors import ErrorInfo, show_error
from ui.results_table import ResultsTable
from ui.review_session import ReviewSession
from ui.review_view import ReviewView
from ui.state import AppState
from ui.tasks import TaskRunner


class ReviewControls(QWidget):
    enter_requested = Signal()  # show the review mode

    def __init__(
        self,
        state: AppState,
        runner: TaskRunner,
        settings: QSettings,
        table: ResultsTable,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.runner = runner
        self.settings = settings
        self.table = table
        self.session = ReviewSession(self)
        self.view = ReviewView(self.session, table.shown_rows)
        table.results.set_reviewed(self.session.label_text)
        self.session.changed.connect(self._changed)
        self.review_button = QPushButton("Review…")
        self.review_button.setToolTip(
            "Go through the results least certain first and correct them with one key each."
        )
        self.review_button.clicked.connect(self.enter_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.review_button)
        self._changed()

    def batch_finished(self, folder: Path, model: SortscopeModel, rows: list[Prediction]) -> None:
        """A run finished: review its rows; decisions made earlier for them come back."""
        try:
            self.session.open(folder, model, rows)
        except SortscopeError as error:
            show_error(self, ErrorInfo(error.what, error.todo))

    def batch_started(self) -> None:
        self.session.close()

    def reviewed_labels(self, rows: list[Prediction]) -> dict[str, str]:
        return self.session.reviewed_labels(rows)

    def _changed(self) -> None:
        self.table.results.reviewed_changed()
        self.review_button.setEnabled(self.session.active)

    def shutdown(self) -> None:
        self.view.shutdown()
        self.session.close()
