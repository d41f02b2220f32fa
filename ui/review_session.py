"""The review of one batch: its rows, the model that scored them and their review journal.

A thin Qt adapter over `classifier.review`: the Classify area, its table, the review mode and the
add/retrain actions all read the same session and hear `changed` after every decision. The
counter is kept up to date per decision (the row before and after), never by rescanning a
million rows on a key press.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from classifier.modelfile import SortscopeModel
from classifier.review import Decision, ReviewCounts, ReviewJournal, model_key, review_counts
from classifier.types import Prediction

NONE_TEXT = "none of these"  # how the app shows a "none of these" decision


class ReviewSession(QObject):
    changed = Signal()  # a decision was made, changed or undone; or a new batch opened
    opened = Signal()  # a new batch (or re-scored rows after a retrain)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.journal: ReviewJournal | None = None
        self.folder: Path | None = None
        self.model: SortscopeModel | None = None
        self.rows: list[Prediction] = []
        self.class_names: tuple[str, ...] = ()
        self._by_digest: dict[str, list[Prediction]] = {}
        self.counts = ReviewCounts(0, 0, 0)

    @property
    def active(self) -> bool:
        return self.journal is not None and bool(self.rows)

    def open(
        self,
        folder: Path,
        model: SortscopeModel,
        rows: Sequence[Prediction],
        journal_root: Path | None = None,
    ) -> None:
        """Review `rows` (classified in `folder` by `model`); earlier decisions come back."""
        journal = ReviewJournal.open(folder, model_key(model), journal_root)
        self._use(folder, model, rows, journal)

    def switch_model(self, model: SortscopeModel, rows: Sequence[Prediction]) -> int:
        """After a retrain: the batch re-scored by `model`, whose journal adopts this one's
        decisions. Returns how many decisions carried over."""
        old = self.journal
        journal = ReviewJournal.open(self.folder, model_key(model), _root(old))
        adopted = journal.adopt(old) if old is not None else 0
        self._use(self.folder, model, rows, journal)
        return adopted

    def _use(self, folder, model, rows, journal: ReviewJournal) -> None:
        if self.journal is not None and self.journal is not journal:
            self.journal.close()
        self.journal, self.folder, self.model = journal, Path(folder), model
        self.rows = list(rows)
        self.class_names = tuple(model.class_names)
        self._by_digest = {}
        for row in self.rows:
            if row.digest:
                self._by_digest.setdefault(row.digest, []).append(row)
        self.counts = review_counts(self.rows, journal, self.class_names)
        self.opened.emit()
        self.changed.emit()

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
        self.journal, self.rows, self._by_digest = None, [], {}
        self.counts = ReviewCounts(0, 0, 0)
        self.changed.emit()

    # --- reading ----------------------------------------------------------------------------

    def decision(self, row: Prediction) -> Decision | None:
        return self.journal.decision(row.digest) if self.journal is not None else None

    def label_text(self, row: Prediction) -> str:
        """The reviewed label as the table shows it ("" when not reviewed)."""
        decision = self.decision(row)
        if decision is None:
            return ""
        return NONE_TEXT if decision.none_of_these else decision.label

    def reviewed_labels(self, rows: Sequence[Prediction]) -> dict[str, str]:
        """{file: reviewed label} for CSV export and sorting (empty without a journal)."""
        return self.journal.reviewed_labels(rows) if self.journal is not None else {}

    def rows_of(self, digest: str) -> list[Prediction]:
        return self._by_digest.get(digest, [])

    # --- changing ---------------------------------------------------------------------------

    def decide(self, row: Prediction, label: str | None) -> None:
        """Record a decision for `row` (on disk before this returns)."""
        if self.journal is None or not row.digest:
            return
        before = self._counted(row.digest)
        self.journal.decide(row.digest, row.file, label)
        self._recount(row.digest, before)

    def undo(self) -> Decision | None:
        """Undo the last decision; returns it (its image is shown again), None if none."""
        if self.journal is None or not self.journal.can_undo:
            return None
        # With decisions only (no forget), the last undoable event set the newest decision.
        newest = self.journal.recent(1)
        before = self._counted(newest[0].digest) if newest else None
        undone = self.journal.undo()
        if undone is not None and newest and undone.digest == newest[0].digest:
            self._recount(undone.digest, before)
        else:  # adopted decisions keep their old times: count afresh
            self.counts = review_counts(self.rows, self.journal, self.class_names)
            self.changed.emit()
        return undone

    def _counted(self, digest: str) -> ReviewCounts:
        return review_counts(self.rows_of(digest), self.journal, self.class_names)

    def _recount(self, digest: str, before: ReviewCounts) -> None:
        after = self._counted(digest)
        c = self.counts
        self.counts = ReviewCounts(
            c.total,
            c.reviewed - before.reviewed + after.reviewed,
            c.corrected - before.corrected + after.corrected,
        )
        self.changed.emit()


def _root(journal: ReviewJournal | None) -> Path | None:
    return journal.path.parent if journal is not None else None
