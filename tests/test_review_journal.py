"""The review journal: decisions survive a restart, a torn write and a changed file."""

from pathlib import Path

import numpy as np

from classifier.review import (
    COMPACT_ABOVE,
    ReviewJournal,
    journal_path,
    model_key,
    predicted_class,
    review_counts,
)
from classifier.types import Prediction

CLASSES = ("cat", "dog")


def row(file: str, digest: str, label: str = "cat", error: str = "") -> Prediction:
    probs = None if error else ((0.7, 0.3) if label == "cat" else (0.4, 0.6))
    return Prediction(file, label, None if error else max(probs), probs, error, digest=digest)


def test_decisions_survive_a_restart_and_keep_their_undo_history(tmp_path):
    night = tmp_path / "night"
    journal = ReviewJournal.open(night, "m1")
    journal.decide("d1", "a.png", "cat")
    journal.decide("d2", "b.png", None)  # none of these
    journal.decide("d3", "c.png", "dog")
    journal.decide("d3", "c.png", "cat")  # changed
    journal.close()  # or the app died: every decision was already on disk

    again = ReviewJournal.open(night, "m1")  # a new object, as after a restart
    assert len(again) == 3
    assert again.decision("d1").label == "cat"
    assert again.decision("d2").none_of_these and again.decision("d2").csv_value == "none"
    assert again.decision("d3").label == "cat"
    assert [d.file for d in again.recent(2)] == ["b.png", "c.png"]
    # Undo reaches back across the restart: the change first, then the decision itself.
    assert again.undo().label == "cat"
    assert again.decision("d3").label == "dog"
    again.undo()
    assert again.decision("d3") is None
    again.close()
    assert ReviewJournal.open(night, "m1").decision("d3") is None
    # Another model, or another folder, has a journal of its own.
    assert len(ReviewJournal.open(night, "m2")) == 0
    assert len(ReviewJournal.open(tmp_path / "other", "m1")) == 0


def test_skip_writes_nothing_and_undo_with_nothing_to_undo(tmp_path):
    journal = ReviewJournal.open(tmp_path / "night", "m")
    assert journal.undo() is None and not journal.can_undo
    assert not journal.path.exists()  # nothing decided, nothing written


def test_a_changed_file_has_no_decision_a_renamed_one_keeps_it(tmp_path):
    journal = ReviewJournal.open(tmp_path, "m")
    journal.decide("old-content", "a.png", "dog")
    rows = [row("a.png", "new-content"), row("renamed.png", "old-content")]
    assert journal.reviewed_labels(rows) == {"renamed.png": "dog"}
    counts = review_counts(rows, journal, CLASSES)
    assert (counts.total, counts.reviewed, counts.corrected) == (2, 1, 1)
    assert counts.text() == "reviewed 1 of 2 · 1 corrected"


def test_uncertain_rows_accepted_as_their_best_class_are_no_correction(tmp_path):
    journal = ReviewJournal.open(tmp_path, "m")
    uncertain = Prediction("u.png", "uncertain", 0.55, (0.55, 0.45), digest="u")
    assert predicted_class(uncertain, CLASSES) == "cat"
    journal.decide("u", "u.png", "cat")
    assert review_counts([uncertain], journal, CLASSES).corrected == 0
    journal.decide("u", "u.png", "dog")
    assert review_counts([uncertain], journal, CLASSES).corrected == 1


def test_a_torn_last_line_loses_only_that_line(tmp_path):
    journal = ReviewJournal.open(tmp_path, "m")
    journal.decide("d1", "a.png", "cat")
    journal.close()
    with open(journal.path, "ab") as f:
        f.write(b'{"t": "set", "digest": "d2", "fi')  # the power went mid-write
    again = ReviewJournal.open(tmp_path, "m")
    assert again.decision("d1").label == "cat" and again.decision("d2") is None
    again.decide("d3", "c.png", "dog")  # appends after the repaired file, on a line of its own
    again.close()
    third = ReviewJournal.open(tmp_path, "m")
    assert {d.digest for d in third.decisions()} == {"d1", "d3"}


def test_many_changes_are_compacted_when_opened(tmp_path):
    journal = ReviewJournal.open(tmp_path, "m")
    for i in range(COMPACT_ABOVE + 10):
        journal.decide("d", "a.png", CLASSES[i % 2])
    journal.forget("d")
    journal.decide("e", "b.png", "dog")
    journal.close()
    lines_before = journal.path.read_text().count("\n")
    again = ReviewJournal.open(tmp_path, "m")
    assert again.path.read_text().count("\n") == 2  # the header and one decision
    assert lines_before > COMPACT_ABOVE
    assert again.decision("d") is None and again.decision("e").label == "dog"


def test_journal_path_depends_on_folder_and_model_only(tmp_path):
    a = journal_path(tmp_path / "night", "m", root=tmp_path / "j")
    assert a == journal_path(str(tmp_path / "night"), "m", root=tmp_path / "j")
    assert a != journal_path(tmp_path / "night2", "m", root=tmp_path / "j")
    assert a.parent == tmp_path / "j"


class _Model:
    def __init__(self, kernel_value: float) -> None:
        self.class_names = CLASSES
        kernel = np.full((4, 2), kernel_value, np.float32)
        self.head_layers = [(kernel, np.zeros(2, np.float32), "softmax")]


def test_model_key_changes_with_the_head_weights():
    assert model_key(_Model(1.0)) == model_key(_Model(1.0))
    assert model_key(_Model(1.0)) != model_key(_Model(2.0))


def test_error_rows_are_never_reviewed(tmp_path):
    journal = ReviewJournal.open(Path(tmp_path), "m")
    journal.decide("d", "bad.png", "cat")
    assert journal.reviewed_labels([row("bad.png", "d", error="corrupt")]) == {}


def test_a_failed_write_is_reported_and_the_next_decision_still_lands(tmp_path, monkeypatch):
    import errno

    import pytest

    import classifier.review as review
    from classifier.errors import SortscopeError

    journal = ReviewJournal.open(tmp_path, "m")
    journal.decide("d1", "a.png", "cat")
    fsync = review.os.fsync

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(review.os, "fsync", full)
    with pytest.raises(SortscopeError, match="No space left"):
        journal.decide("d2", "b.png", "dog")
    assert journal.decision("d2") is None  # not taken as made
    monkeypatch.setattr(review.os, "fsync", fsync)
    journal.decide("d3", "c.png", "dog")
    journal.close()
    again = ReviewJournal.open(tmp_path, "m")
    assert {d.digest for d in again.decisions()} == {"d1", "d3"}


def test_a_retrained_models_journal_adopts_the_old_decisions(tmp_path):
    old = ReviewJournal.open(tmp_path, "old")
    old.decide("d1", "a.png", "cat")
    old.decide("d2", "b.png", None)
    new = ReviewJournal.open(tmp_path, "new")
    new.decide("d2", "b.png", "dog")  # already decided again with the new model: kept
    assert new.adopt(old) == 1
    assert new.decision("d1").label == "cat" and new.decision("d2").label == "dog"
    new.close()
    assert ReviewJournal.open(tmp_path, "new").decision("d1").label == "cat"
    rows = [row("a.png", "d1"), row("c.png", "d3"), row("b.png", "d2")]
    assert new.reviewed_mask(rows).tolist() == [True, False, True]
