"""The review mode: decisions by key, the journal across restarts, the Reviewed column."""

from pathlib import Path

import numpy as np
import pytest
from datasets import CLASS_COLOURS, CSV_HEADER, make_dataset, noisy_image, read_csv
from PySide6.QtCore import Qt

from classifier.modelfile import save_model
from classifier.review import ReviewJournal, model_key
from classifier.scan import scan_dataset
from classifier.train import train
from classifier.types import TrainConfig
from classifier.uncertainty import margins, probability_matrix


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("review-train")
    scan = scan_dataset(make_dataset(root / "data", per_class=20))
    outcome = train(scan, TrainConfig(backbone="tiny_test", epochs=15, learning_rate=0.02))
    return save_model(outcome.model, root / "colours.sortscope")


@pytest.fixture
def night(tmp_path):
    rng = np.random.default_rng(5)
    folder = tmp_path / "night"
    folder.mkdir()
    for name, colour in CLASS_COLOURS.items():
        for i in range(3):
            noisy_image(rng, colour).save(folder / f"{name.replace(' ', '_')}_{i}.png")
    for i, colour in enumerate([(120, 120, 125), (125, 40, 130), (120, 115, 50)]):
        noisy_image(rng, colour).save(folder / f"odd_{i}.png")  # unsure ones
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xffnot really")
    return folder


def classify(qtbot, window, model_file, folder):
    view = window.classify_view
    view.model_picker.open_model(model_file)
    qtbot.waitUntil(lambda: window.state.model_path == model_file, timeout=30000)
    view.folder_edit.setText(str(folder))
    view.start()
    qtbot.waitUntil(lambda: window.state.results is not None, timeout=60000)
    qtbot.waitUntil(lambda: view.review.session.active, timeout=5000)
    return view


def enter_review(qtbot, view):
    qtbot.mouseClick(view.review.review_button, Qt.MouseButton.LeftButton)
    review = view.review.view
    assert view.pages.currentWidget() is review
    qtbot.waitUntil(lambda: review.image_ready, timeout=10000)  # the first image decoded
    return review


def press(qtbot, review, key, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(review, key, modifier)


def test_keys_decide_advance_skip_and_undo(qtbot, window, model_file, night):
    view = classify(qtbot, window, model_file, night)
    review = enter_review(qtbot, view)
    session = review.session
    names = session.class_names
    rows = session.rows
    usable = [r for r in rows if not r.error]
    # Least certain first: the queue follows the margin, every readable image once.
    queue_margins = margins(probability_matrix(review.queue, len(names)))
    assert list(queue_margins) == sorted(queue_margins) and len(review.queue) == len(usable)
    assert f"reviewed 0 of {len(usable)}" in review.counter.text()
    assert "1</b> Red" in review.classes.text() or "1</b> " + names[0] in review.classes.text()

    first, second, third, fourth, fifth = review.queue[:5]
    press(qtbot, review, Qt.Key.Key_2)  # assign class number 2
    assert session.decision(first).label == names[1]
    assert review.current() is second  # advanced at once
    press(qtbot, review, Qt.Key.Key_Return)  # accept the prediction
    best = names[int(np.argmax(second.probabilities))]
    assert session.decision(second).label == best
    press(qtbot, review, Qt.Key.Key_X)  # none of these
    assert session.decision(third).none_of_these
    press(qtbot, review, Qt.Key.Key_Space)  # skip: no decision
    assert session.decision(fourth) is None and review.current() is fifth
    press(qtbot, review, Qt.Key.Key_A)  # A accepts too
    assert session.decision(fifth) is not None
    assert f"reviewed 4 of {len(usable)}" in review.counter.text()
    corrected = sum(
        session.decision(r).label != names[int(np.argmax(r.probabilities))]
        for r in (first, second, third, fifth)
    )
    assert f"{corrected} corrected" in review.counter.text()

    # Undo: the last decision is gone and its image is shown again to decide anew.
    press(qtbot, review, Qt.Key.Key_Backspace)
    assert session.decision(fifth) is None and review.current() is fifth
    press(qtbot, review, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    # The one before was "none of these" on `third`, behind the skipped `fourth`.
    assert session.decision(third) is None and review.current() is third
    press(qtbot, review, Qt.Key.Key_1)
    assert session.decision(third).label == names[0]
    assert review.current() is fifth  # back where the queue was
    assert f"reviewed 3 of {len(usable)}" in review.counter.text()

    # The last decisions stay visible; clicking one shows it again to change it.
    shown = [b.property("row") for b in review.recent_buttons if not b.isHidden()]
    assert shown[:3] == [third, second, first]
    qtbot.mouseClick(review.recent_buttons[2], Qt.MouseButton.LeftButton)
    assert review.current() is first
    press(qtbot, review, Qt.Key.Key_3)
    assert session.decision(first).label == names[2] and review.current() is fifth

    # Saved as made, for this folder and model.
    journal = ReviewJournal.open(night, model_key(window.state.model))
    assert {d.file: d.label for d in journal.decisions()} == {
        first.file: names[2],
        second.file: best,
        third.file: names[0],
    }
    journal.close()

    # The table shows the reviewed label beside the prediction; reviewed rows can be hidden.
    press(qtbot, review, Qt.Key.Key_Escape)
    assert view.pages.currentIndex() == 0
    assert view.review.counter.text() == session.counts.text()
    assert session.counts.text().startswith(f"reviewed 3 of {len(usable)}")
    proxy = view.results_table.proxy
    reviewed = {proxy.index(r, 1).data(): proxy.index(r, 4).data() for r in range(proxy.rowCount())}
    assert proxy.headerData(4, Qt.Orientation.Horizontal) == "Reviewed"
    assert reviewed[first.file] == names[2] and reviewed[fourth.file] == ""
    view.results_table.hide_reviewed.setChecked(True)
    assert proxy.rowCount() == len(rows) - 3

    # Back in review mode with reviewed rows hidden, the queue holds only the rest.
    review_again = enter_review(qtbot, view)
    assert first not in review_again.queue and len(review_again.queue) == len(usable) - 3
    review_again.order.setCurrentIndex(review_again.order.findData("entropy"))
    qtbot.waitUntil(lambda: review_again.image_ready, timeout=10000)
    entropy_queue = review_again.queue
    assert len(entropy_queue) == len(usable) - 3 and first not in entropy_queue
    review_again.order.setCurrentIndex(review_again.order.findData("table"))
    qtbot.waitUntil(lambda: review_again.image_ready, timeout=10000)
    shown = view.results_table.shown_rows()  # hidden reviewed rows and errors left out
    assert review_again.queue == [r for r in shown if not r.error]


def test_decisions_survive_a_restart(qtbot, window, model_file, night, settings):
    view = classify(qtbot, window, model_file, night)
    review = enter_review(qtbot, view)
    first, second = review.queue[:2]
    press(qtbot, review, Qt.Key.Key_X)
    press(qtbot, review, Qt.Key.Key_1)
    window.close()
    assert window.runner.shutdown(timeout=10)

    from ui.main_window import MainWindow

    again = MainWindow(settings)
    qtbot.addWidget(again)
    again.show()
    try:
        view = classify(qtbot, again, model_file, night)
        session = view.review.session
        by_file = {r.file: r for r in session.rows}
        assert session.decision(by_file[first.file]).none_of_these
        assert session.decision(by_file[second.file]).label == session.class_names[0]
        assert session.counts.reviewed == 2
        review = enter_review(qtbot, view)
        assert "reviewed 2 of" in review.counter.text()
        assert by_file[first.file] not in review.queue  # reviewed rows hidden by default
    finally:
        again.close()
        assert again.runner.shutdown(timeout=10)


def test_a_cancelled_run_can_be_reviewed_with_its_earlier_decisions(
    qtbot, window, model_file, night, monkeypatch
):
    """Cancelling a long run to look at what is done: those rows are reviewed like a finished
    run's, and decisions made for them before come back."""
    import ui.batch_resume
    from classifier.errors import Cancelled

    view = classify(qtbot, window, model_file, night)
    review = enter_review(qtbot, view)
    first = review.current()
    press(qtbot, review, Qt.Key.Key_1)
    view.leave_review()
    real = ui.batch_resume.classify_files
    called = []

    def cancelled_halfway(files, folder, model, **options):
        reviewed = [f for f in files if f.name == Path(first.file).name]
        others = [f for f in files if f not in reviewed]
        real(reviewed + others[:3], folder, model, **options)  # these rows reach the table
        called.append(True)
        raise Cancelled()

    monkeypatch.setattr(ui.batch_resume, "classify_files", cancelled_halfway)
    view.start()
    session = view.review.session
    qtbot.waitUntil(lambda: bool(called) and session.active, timeout=30000)
    assert len(session.rows) == 4  # the part classified before the cancel
    again = next(r for r in session.rows if r.file == first.file)
    assert session.decision(again).label == session.class_names[0]
    assert view.review.review_button.isEnabled() and session.counts.reviewed == 1


def test_export_and_sort_use_the_reviewed_labels(qtbot, window, model_file, night, tmp_path):
    view = classify(qtbot, window, model_file, night)
    out = tmp_path / "plain.csv"
    view.export_csv_to(out)
    qtbot.waitUntil(out.exists, timeout=10000)
    assert read_csv(out)[0] == CSV_HEADER  # nothing reviewed: the CSV of before

    review = enter_review(qtbot, view)
    first, second = review.queue[:2]
    press(qtbot, review, Qt.Key.Key_3)
    press(qtbot, review, Qt.Key.Key_X)
    names = review.session.class_names
    out = tmp_path / "reviewed.csv"
    view.export_csv_to(out)
    qtbot.waitUntil(out.exists, timeout=10000)
    table = read_csv(out)
    assert table[0] == [*CSV_HEADER, "reviewed_label"]
    column = {line[0]: line[-1] for line in table[1:]}
    assert column[first.file] == names[2] and column[second.file] == "none"
    assert sum(v != "" for v in column.values()) == 2

    from ui.sort_dialog import SortDialog

    rows = view.results.relabelled()
    dialog = SortDialog(
        rows, view.settings, window.runner, view, reviewed=view.review.reviewed_labels(rows)
    )
    dialog.output.setText(str(tmp_path / "sorted"))
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=10000)
    goes = {a.source.name: a.label for a in dialog.plan.actions}
    assert goes[first.file] == names[2] and goes[second.file] == "none"
    dialog.reject()


def test_add_reviewed_images_with_a_conflict_a_duplicate_and_a_new_class(
    qtbot, window, model_file, night, tmp_path, monkeypatch
):
    import shutil

    from PySide6.QtWidgets import QDialog, QInputDialog, QMessageBox

    view = classify(qtbot, window, model_file, night)
    controls = view.review
    review = enter_review(qtbot, view)
    session = review.session
    by_file = {r.file: r for r in session.rows}
    dataset = make_dataset(tmp_path / "mine", per_class=2)
    rng = np.random.default_rng(9)
    noisy_image(rng, CLASS_COLOURS["Red"]).save(dataset / "Red" / "Red_0.png")  # a clash
    shutil.copy(night / "green_0.png", dataset / "green" / "old_green.png")  # a duplicate
    session.decide(by_file["Red_0.png"], "Red")
    session.decide(by_file["green_0.png"], "green")
    session.decide(by_file["odd_0.png"], None)  # none of these: left in place
    # A kind the model does not know, named in the review's class list.
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Purple", True))
    review.show_row(by_file["odd_1.png"])
    review.picker.activated.emit(review.picker.count() - 1)
    assert session.decision(by_file["odd_1.png"]).label == "Purple"
    assert controls.add_button.isEnabled()

    dialog = controls.add_dialog()
    assert dialog.dataset.text() == str(model_file.parent / "data")  # the model's dataset
    assert dialog.copy.isChecked()
    dialog.dataset.setText(str(dataset))  # another one
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=10000)
    preview = dialog.preview.toPlainText()
    assert "Purple: would add 1 (new class folder)" in preview
    assert "green: would add 0, 1 already in the dataset (skipped)" in preview
    assert "none of these: 1 left where they are" in preview

    asked = []

    def answer(reply):
        def question(*args, **kwargs):
            asked.append(args[2])
            return reply

        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    dialog.accept()
    assert "Purple" in asked[0] and dialog.result() != QDialog.DialogCode.Accepted
    assert not (dataset / "Purple").exists()
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted

    controls.run_add(dialog.plan)
    qtbot.waitUntil(lambda: controls.last_add_log is not None, timeout=10000)
    assert (dataset / "Red" / "Red_0 (1).png").read_bytes() == (night / "Red_0.png").read_bytes()
    assert (dataset / "Purple" / "odd_1.png").is_file()
    assert not (dataset / "green" / "green_0.png").exists()
    assert (night / "odd_0.png").is_file() and (night / "Red_0.png").is_file()  # copied
    assert controls.default_dataset() == dataset  # the next add and the retrain use it

    controls.undo_last_add()
    qtbot.waitUntil(lambda: controls.last_add_log is None, timeout=10000)
    assert not (dataset / "Red" / "Red_0 (1).png").exists()
    assert not (dataset / "Purple" / "odd_1.png").exists()
    assert (dataset / "Red" / "Red_0.png").is_file()


PURPLE = (185, 40, 150)  # a kind of "Blue Sky" image the first dataset never showed


def test_retrain_with_corrections_improves_the_score_and_rescores_the_batch(
    qtbot, window, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QFileDialog

    from classifier.dataset_add import plan_add, reviewed_items

    data = make_dataset(tmp_path / "data", per_class=20)
    config = TrainConfig(backbone="tiny_test", epochs=15, learning_rate=0.02, batch_size=16)
    weak = train(scan_dataset(data), config).model
    old_file = save_model(weak, tmp_path / "weak.sortscope")
    old_bytes = old_file.read_bytes()
    rng = np.random.default_rng(3)
    night = tmp_path / "night"
    night.mkdir()
    for i in range(40):
        noisy_image(rng, PURPLE).save(night / f"purple_{i:02d}.png")
    for i in range(4):
        noisy_image(rng, CLASS_COLOURS["green"]).save(night / f"green_{i}.png")
    view = classify(qtbot, window, old_file, night)
    controls, session = view.review, view.review.session
    purple = [r for r in session.rows if "purple" in r.file]
    assert sum(r.label == "Blue Sky" for r in purple) <= len(purple) // 4  # weak indeed

    # Review 30 of the purple ones as Blue Sky by key, and add them to the dataset.
    review = enter_review(qtbot, view)
    blue_key = getattr(Qt.Key, f"Key_{session.class_names.index('Blue Sky') + 1}")
    for _ in range(30):
        while "purple" not in review.current().file:
            press(qtbot, review, Qt.Key.Key_Space)
        press(qtbot, review, blue_key)
    assert session.counts.reviewed == 30 and session.counts.corrected >= 25
    controls.run_add(plan_add(reviewed_items(session.rows, session.journal), data))
    qtbot.waitUntil(lambda: controls.last_add_log is not None, timeout=20000)
    old_queue = list(review.queue)

    dialog = controls.retrain()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=120000)
    result = dialog.outcome
    assert result.new_score.accuracy > result.old_score.accuracy
    assert result.corrected >= 25 and result.corrected_accuracy >= 0.9
    text = dialog.scores.text()
    assert f"{result.old_score.accuracy:.1%} before → {result.new_score.accuracy:.1%}" in text
    assert f"gets {result.corrected_right} of them right" in text

    # The batch is re-scored from the cache at once, with the new model for Classify.
    new = result.outcome.model
    qtbot.waitUntil(lambda: window.state.model is new, timeout=20000)
    assert window.state.model_path is None  # a new run, not saved over anything
    runs = window.train_view.runs  # and kept as one: in the Train area and the run history
    assert runs[-1].outcome is result.outcome and runs[-1].saved is None
    from classifier import run_history

    assert runs[-1].record.id in {r.id for r in run_history.load().runs}
    assert session.model is new and session.journal.model == model_key(new)
    assert session.counts.reviewed == 30  # the decisions carried over
    rescored = [r for r in session.rows if "purple" in r.file and session.decision(r) is None]
    assert len(rescored) == 10 and sum(r.label == "Blue Sky" for r in rescored) >= 8
    assert review.queue != old_queue and all(session.decision(r) is None for r in review.queue)
    labels = {view.results.rows[i].file: view.results.labels[i] for i in range(44)}
    assert sum(labels[r.file] == "Blue Sky" for r in rescored) >= 8  # the table too

    # Saved under a new name; the old model file is untouched.
    suggested = dialog.suggested_path()
    assert suggested != old_file and not suggested.exists()
    target = tmp_path / "better.sortscope"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    dialog.choose_save_path()
    qtbot.waitUntil(lambda: window.state.model_path == target, timeout=20000)
    assert target.is_file() and old_file.read_bytes() == old_bytes
    qtbot.waitUntil(lambda: window.train_view.runs[-1].saved == target, timeout=5000)
    assert window.train_view.runs[-1].outcome is result.outcome  # updated, not added twice
    saved_record = next(r for r in run_history.load().runs if r.id == runs[-1].record.id)
    assert saved_record.saved == target

    # Or back to the old model, the same way: re-scored, decisions carried back.
    qtbot.mouseClick(dialog.keep_old, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state.model is dialog.old, timeout=20000)
    assert window.state.model_path == old_file
    assert session.journal.model == model_key(dialog.old) and session.counts.reviewed == 30
    back = next(r for r in session.rows if r.file == rescored[0].file)
    assert back.probabilities != rescored[0].probabilities
    dialog.close()
