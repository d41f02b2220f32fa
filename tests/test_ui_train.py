import time
from pathlib import Path

import pytest
from datasets import make_dataset

from classifier.modelfile import load_model
from classifier.types import EpochStats, TrainConfig
from ui.curves import TrainingCurves
from ui.runs_table import COLUMNS


@pytest.fixture
def train_window(qtbot, tiny_window, tmp_path):
    """The main window with the tiny test backbone offered first, and a dataset open."""
    root = make_dataset(tmp_path / "data", per_class=25)
    tiny_window.open_dataset(root)
    qtbot.waitUntil(lambda: tiny_window.state.scan is not None, timeout=30000)
    tiny_window.tabs.setCurrentWidget(tiny_window.train_view)
    return tiny_window


def configure(view, **changes):
    config = TrainConfig(backbone="tiny_test", epochs=8, learning_rate=0.01, batch_size=16)
    view.form.set_config(TrainConfig(**{**config.__dict__, **changes}))


def test_form_defaults_explanations_and_invalid_values(train_window):
    form = train_window.train_view.form
    form.set_config(TrainConfig())
    assert form.config() == TrainConfig()
    form.epochs.setValue(0)  # clamped by the form, never an exception
    assert form.epochs.value() == 1
    form.validation.setValue(80)
    assert form.validation.value() == 45
    unavailable = [
        form.backbone.itemText(i)
        for i in range(form.backbone.count())
        if not form.backbone.model().item(i).isEnabled()
    ]
    assert all("(unavailable)" in t for t in unavailable)
    form.hidden.setChecked(False)
    assert not form.hidden_units.isEnabled()
    form.set_config(TrainConfig(epochs=3))
    assert train_window.train_view.start_button.isEnabled()


def test_full_run_curves_results_clickthrough_and_save(qtbot, train_window, tmp_path):
    view = train_window.train_view
    configure(view, early_stopping=False)
    view.start()
    assert not view.start_button.isEnabled()
    qtbot.waitUntil(lambda: len(view.runs) == 1, timeout=60000)
    # One point per epoch on every curve.
    for plot in (view.curves.loss, view.curves.accuracy):
        for name in ("train", "validation"):
            assert plot.points[name][0] == list(range(1, 9))
    outcome = view.runs[0].outcome
    ev = outcome.evaluation
    assert ev.accuracy > ev.baseline_accuracy
    assert "held-out test images" in view.results.summary.text()
    assert view.results.confusion.rowCount() == 3
    # The log says where feature extraction spent its time.
    assert outcome.extraction.total == len(train_window.state.scan.images)
    assert "Image features: " in view.log.toPlainText() and "limited by" in view.log.toPlainText()
    # Clicking a confusion-matrix cell shows exactly the test images behind it.
    i = 1
    cls = ev.classes[i]
    view.results.confusion.cellClicked.emit(i, i)
    expected = {s.path for s in ev.images if s.true_label == cls and s.predicted_label == cls}
    shown = {
        view.results.cell_images.item(k).data(256) for k in range(view.results.cell_images.count())
    }
    assert shown == expected and len(expected) == ev.confusion_matrix[i][i]

    path = tmp_path / "saved" / "colours.sortscope"
    view.save_to(path)
    qtbot.waitUntil(lambda: train_window.state.model_path == path, timeout=30000)
    assert load_model(path).class_names == ev.classes
    saved = view.runs_table.item(0, COLUMNS.index("Saved as"))
    assert saved.text() == "colours.sortscope" and saved.toolTip() == str(path)
    # The runs table names the dataset of each run, its full path on hover (#17.23).
    dataset = view.runs_table.item(0, COLUMNS.index("Dataset"))
    assert dataset.text() == "data" and dataset.toolTip() == str(train_window.state.scan.root)
    view.pages.setCurrentWidget(view.history)  # every column fits the page (#17.20)
    qtbot.waitUntil(lambda: view.runs_table.isVisible())
    qtbot.wait(50)
    assert view.runs_table.horizontalScrollBar().maximum() == 0
    assert view.suggested_name().startswith("data-") and view.suggested_name().endswith(
        ".sortscope"
    )


def test_cancel_is_quick_and_leaves_state_consistent(qtbot, train_window, tmp_path, monkeypatch):
    import classifier.train

    real_fit = classifier.train.fit_head

    def slow_epochs(*args, on_epoch=None, **kwargs):
        # An epoch of the tiny test set takes well under a millisecond; 10 ms each, as on a
        # real dataset, keeps the 1,000-epoch run going until the cancel arrives.
        def epoch_done(report):
            time.sleep(0.01)
            if on_epoch is not None:
                on_epoch(report)

        return real_fit(*args, on_epoch=epoch_done, **kwargs)

    monkeypatch.setattr(classifier.train, "fit_head", slow_epochs)
    view = train_window.train_view
    configure(view, epochs=1000, early_stopping=False)
    epochs_seen = []
    view.start()
    task = train_window.runner.current("train")
    task.partial.connect(lambda items: epochs_seen.extend(items))
    qtbot.waitUntil(lambda: len(epochs_seen) >= 2, timeout=60000)
    started = time.monotonic()
    view.progress.cancel_button.click()
    qtbot.waitUntil(lambda: not train_window.runner.is_running("train"), timeout=10000)
    assert time.monotonic() - started < 5
    qtbot.wait(100)
    assert view.runs == [] and train_window.state.model is None
    assert "Cancelled" in view.stage.text()
    assert view.start_button.isEnabled()
    assert len(view.curves.loss.points["train"][0]) < 1000
    other = make_dataset(tmp_path / "other", per_class=3)
    train_window.open_dataset(other)
    qtbot.waitUntil(lambda: train_window.state.scan.root == other, timeout=30000)
    assert view.stage.text() == "Ready."  # no stale 'Cancelled' about the previous dataset


@pytest.mark.slow
def test_a_run_on_the_real_backbone(qtbot, train_window):
    view = train_window.train_view
    configure(view, backbone="efficientnet_lite0", epochs=5)
    view.start()
    qtbot.waitUntil(lambda: len(view.runs) == 1, timeout=180000)
    outcome = view.runs[0].outcome
    assert outcome.model.metadata["backbone"]["name"] == "efficientnet_lite0"
    assert outcome.evaluation.accuracy >= 0.8


def test_advanced_options_reach_the_run_and_the_runs_table(qtbot, train_window):
    view = train_window.train_view
    form = view.form
    configure(view, epochs=3)
    assert not form.advanced.isVisibleTo(form)
    form.advanced_toggle.click()
    assert form.advanced.isVisibleTo(form)
    advanced = form.advanced
    advanced.copies.setValue(2)
    assert "no change" in form.error.text() and not view.start_button.isEnabled()
    advanced.flips.setChecked(True)
    advanced.rotation.setValue(10)
    assert form.error.text() == "" and view.start_button.isEnabled()
    advanced.oversample.setChecked(True)
    assert not form.class_weights.isEnabled()
    advanced.schedule.setCurrentIndex(advanced.schedule.findData("cosine"))
    advanced.model_type.setCurrentIndex(advanced.model_type.findData("small_cnn"))
    assert not form.backbone.isEnabled() and not advanced.fine_tune_blocks.isEnabled()
    advanced.model_type.setCurrentIndex(advanced.model_type.findData("transfer"))
    config = form.config()
    assert config.augment_copies == 2 and config.augment_rotation == 10.0
    assert config.oversample and config.lr_schedule == "cosine"
    view.start()
    qtbot.waitUntil(lambda: len(view.runs) == 1, timeout=60000)
    outcome = view.runs[0].outcome
    training = outcome.model.metadata["training"]
    assert training["augment_flips"] and training["oversample"]
    rates = [e.learning_rate for e in outcome.history]
    assert rates[-1] < rates[0]  # the cosine schedule ran
    summary = view.runs_table.item(0, COLUMNS.index("Balance, augmentation, schedule")).text()
    assert "oversampled" in summary and "2x augmented" in summary and "cosine" in summary
    form.set_config(TrainConfig())  # restore defaults resets the advanced part too
    assert advanced.copies.value() == 0 and not advanced.oversample.isChecked()


def test_baseline_model_types_train_from_the_form(qtbot, train_window):
    view = train_window.train_view
    configure(view, epochs=2, model_type="small_cnn", batch_size=8)
    view.start()
    reports = []
    train_window.runner.current("train").progressed.connect(reports.append)
    qtbot.waitUntil(lambda: len(view.runs) == 1, timeout=60000)
    assert view.runs_table.item(0, COLUMNS.index("Model")).text() == "Small CNN from scratch"
    assert "Epoch 2/2 (end-to-end)" in view.log.toPlainText()
    # The bar counts the run's epochs, not the steps of one epoch (#17.18).
    training = [p for p in reports if p.stage == "Training"]
    assert training and {p.total for p in training} == {2}
    assert any(p.message == "epoch 2/2 (end-to-end)" and p.done == 1 for p in training)
    assert view.curves.loss.stage_marks == []  # one stage: nothing to mark


def test_weights_can_be_imported_from_the_train_form(qtbot, train_window, tmp_path, monkeypatch):
    from test_weights import _weights_file

    import ui.train_weights

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    view = train_window.train_view
    form = view.form
    form.refresh_backbones()
    actions = [a.text() for a in form.get_weights.menu().actions()]
    assert "Import MobileNetV3 Small weights from a file…" in actions
    assert any(a.startswith("Download Inception v3 weights") for a in actions)
    source = _weights_file(tmp_path / "small.h5")
    monkeypatch.setattr(
        ui.train_weights.QFileDialog, "getOpenFileName", lambda *a, **k: (str(source), "")
    )
    index = form.backbone.findData("mobilenet_v3_small")
    assert not form.backbone.model().item(index).isEnabled()
    form.weights_requested.emit("mobilenet_v3_small", "import")
    qtbot.waitUntil(
        lambda: (
            form.backbone.model().item(form.backbone.findData("mobilenet_v3_small")).isEnabled()
        ),
        timeout=60000,
    )
    assert "Import MobileNetV3 Small" not in " ".join(
        a.text() for a in form.get_weights.menu().actions()
    )


def _epoch(n, total, accuracy, stage="head"):
    return EpochStats(n, total, 1.0 / n, accuracy, 1.1 / n, accuracy - 0.05, 0.1, stage)


def test_curves_keep_percent_and_whole_epoch_units(qtbot):
    """Early in training the accuracy axis stays 0-100 % (no 'x0.001' prefix, no 450-800
    ticks) and the epoch axis has whole-epoch ticks only (#17.13)."""
    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.add_epochs([_epoch(1, 2, 0.45), _epoch(2, 2, 0.5)])
    accuracy = curves.accuracy.getPlotItem()
    assert curves.accuracy.points["train"] == ([1, 2], [45.0, 50.0])
    low, high = accuracy.getViewBox().viewRange()[1]
    assert low <= 0 and 100 <= high < 105  # fixed, whatever the values
    for plot in (curves.loss, curves.accuracy):
        for side in ("left", "bottom"):
            axis = plot.getPlotItem().getAxis(side)
            assert not axis.autoSIPrefix and "x0" not in axis.labelString()
    assert "%" in accuracy.getAxis("left").labelString()
    epochs = accuracy.getAxis("bottom")
    for low, high in ((0.5, 3.5), (0.5, 40.5), (0.5, 1000.5)):
        ticks = [v for _spacing, values in epochs.tickValues(low, high, 400) for v in values]
        assert ticks and all(float(v).is_integer() for v in ticks)
    assert epochs.tickStrings([1.0, 2.0], 1, 1) == ["1", "2"]


def test_fine_tune_mark_stays_clear_of_the_legend(qtbot):
    """The stage mark's label has the plots to itself: one legend above both plots (#17.18)."""
    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.add_epochs([_epoch(1, 3, 0.6), _epoch(2, 3, 0.7), _epoch(3, 3, 0.8, "fine-tune")])
    for plot in (curves.loss, curves.accuracy):
        assert plot.getPlotItem().legend is None
        assert [m.label.format for m in plot.stage_marks] == ["fine-tune"]
    assert "training images" in curves.legend.text() and "validation" in curves.legend.text()


def _evaluation(classes, per_class=3):
    """A made-up evaluation: `per_class` test images of each class, one of each mistaken."""
    import numpy as np

    from classifier.evaluate import evaluate_predictions

    n = len(classes)
    y = np.repeat(np.arange(n), per_class)
    predicted = y.copy()
    predicted[::per_class] = (y[::per_class] + 1) % n
    probabilities = np.full((len(y), n), 0.1 / n)
    probabilities[np.arange(len(y)), predicted] = 0.9
    paths = [Path(f"/data/{classes[c]}/{i}.png") for i, c in enumerate(y)]
    return evaluate_predictions(y, probabilities, classes, paths, 0)


@pytest.mark.parametrize(
    "classes",
    [
        ("Red", "green", "Blue Sky"),
        ("globular_cluster", "open cluster", "galaxy", "Blue Sky", "planetary nebula", "star"),
    ],
)
def test_results_fit_three_to_six_classes_without_scrolling(qtbot, tiny_window, classes):
    """At the default window size every heading of the matrix and scores shows in full and
    no column needs scrolling (#17.20)."""
    view = tiny_window.train_view
    tiny_window.tabs.setCurrentWidget(view)
    view.results.show_evaluation(_evaluation(classes))
    view.pages.setCurrentWidget(view.results)
    qtbot.waitUntil(lambda: view.results.confusion.isVisible())
    qtbot.wait(50)  # layouts settle
    table = view.results.confusion
    assert tiny_window.size().width() == 1280  # the default size
    assert table.horizontalScrollBar().maximum() == 0
    header = table.horizontalHeader()
    metrics = header.fontMetrics()
    for column in range(table.columnCount()):
        text = table.horizontalHeaderItem(column).text()
        widest = max(metrics.horizontalAdvance(line) for line in text.split("\n"))
        assert header.sectionSize(column) >= widest, text
    rows = table.verticalHeader()
    assert rows.width() >= max(metrics.horizontalAdvance(c) for c in classes)
    assert table.metrics(0)["Test images"] == "3"


def test_jargon_has_a_plain_version(qtbot, tiny_window):
    """Backbone, Epochs, Optimizer, cross-entropy, Precision/Recall/F1 keep their names and
    get a plain sentence on hover (#17.17)."""
    view = tiny_window.train_view
    form = view.form
    words = {form.backbone: "features", form.epochs: "times", form.optimizer: "corrects"}
    for field, word in words.items():
        assert word in field.toolTip()
    label = form._form.labelForField(form.epochs)
    assert label.text() == "Epochs" and label.toolTip() == form.epochs.toolTip()
    assert "how wrong" in view.curves.loss.toolTip() and "cross-entropy" in (
        view.curves.loss.toolTip()
    )
    view.results.show_evaluation(_evaluation(("a", "b", "c")))
    table = view.results.confusion
    headings = {
        table.horizontalHeaderItem(c).text(): table.horizontalHeaderItem(c).toolTip()
        for c in range(table.columnCount())
    }
    assert "false alarms" in headings["Precision"] and "missed" in headings["Recall"]
    assert "both" in headings["F1"]
    assert headings["a"] == "predicted a"


@pytest.fixture
def flawed_window(qtbot, tiny_window, tmp_path):
    """A dataset with an image in two classes and a corrupt file, open in the window."""
    import shutil

    root = make_dataset(tmp_path / "flawed", per_class=25)
    shutil.copy(root / "Red" / "red_000.png", root / "green" / "looks_green.png")
    (root / "green" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    tiny_window.open_dataset(root)
    qtbot.waitUntil(lambda: tiny_window.state.scan is not None, timeout=30000)
    tiny_window.tabs.setCurrentWidget(tiny_window.train_view)
    configure(tiny_window.train_view, epochs=2)
    return tiny_window


def test_problems_are_shown_before_training_once_per_scan(qtbot, flawed_window, monkeypatch):
    """Training on a dataset with skipped files or an image in two classes asks first; the
    answer holds for this scan only (#17.15)."""
    import ui.train_view

    view = flawed_window.train_view
    asked, answers = [], [False, True]
    monkeypatch.setattr(
        ui.train_view,
        "confirm_training",
        lambda parent, scan, problems: asked.append(problems) or answers.pop(0),
    )
    view.start()
    assert len(asked) == 1 and not flawed_window.runner.is_running("train")
    assert [p.kind for p in asked[0]] == ["corrupt", "duplicate_across_classes"]
    assert "Not started" in view.stage.text() and view.runs == []
    view.start()  # asked again: the first answer was no
    assert len(asked) == 2
    qtbot.waitUntil(lambda: len(view.runs) == 1, timeout=60000)
    view.start()  # the same scan: not asked again
    assert len(asked) == 2
    qtbot.waitUntil(lambda: len(view.runs) == 2, timeout=60000)
    flawed_window.open_dataset(flawed_window.state.scan.root)  # a new scan asks again
    old = view._accepted_scan
    qtbot.waitUntil(lambda: flawed_window.state.scan is not old, timeout=30000)
    answers.append(False)
    view.start()
    assert len(asked) == 3


def test_the_problems_dialog_names_the_files_and_defaults_to_cancel(qtbot, flawed_window):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from classifier.scan import problems_before_training
    from ui.training_check import confirm_training, problems_box

    scan = flawed_window.state.scan
    problems = problems_before_training(scan)
    box = problems_box(None, scan, problems)
    words = box.informativeText()
    assert "green/broken.png" in words and "several classes" in words
    assert "flawed" in box.text() and f"{len(problems)} problem(s)" in box.text()
    assert "Train anyway" in [b.text() for b in box.buttons()]
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)

    def answer(role_text):
        def click():
            dialog = QApplication.activeModalWidget()
            if dialog is None:
                return QTimer.singleShot(20, click)
            next(b for b in dialog.buttons() if role_text in b.text()).click()

        QTimer.singleShot(20, click)

    answer("Cancel")
    assert not confirm_training(flawed_window, scan, problems)
    answer("Train anyway")
    assert confirm_training(flawed_window, scan, problems)


def test_misclassified_training_images_can_be_seen_and_moved_with_undo(
    qtbot, tiny_window, tmp_path, monkeypatch
):
    """After training, the wrong training/validation/test images are listed with their true
    and predicted class; 'Move to class…' moves them into the right folder, and undo puts them
    back; the dataset is scanned again each time (#17.24)."""
    import numpy as np
    from datasets import noisy_image

    from classifier.types import Split

    root = make_dataset(tmp_path / "data", per_class=25)
    rng = np.random.default_rng(3)
    wrong = [root / "green" / f"filed_wrong_{i}.png" for i in range(4)]
    for path in wrong:
        noisy_image(rng, (200, 40, 40)).save(path)
    tiny_window.open_dataset(root)
    qtbot.waitUntil(lambda: tiny_window.state.scan is not None, timeout=30000)
    view = tiny_window.train_view
    configure(view, epochs=12)
    view.start()
    qtbot.waitUntil(lambda: len(view.runs) == 1, timeout=60000)
    splits = view.runs[0].outcome.splits
    view.results.misclassified_button.click()
    dialog = view.mistakes
    assert dialog.isVisible()
    shown = {
        dialog.images.item(r).data(256): dialog.images.item(r) for r in range(dialog.images.count())
    }
    assert set(wrong) <= set(shown)
    assert shown[wrong[0]].text().startswith("green → Red ")
    in_training = [p for p in wrong if p in {i.path for i in splits[Split.TRAIN].images}]
    assert in_training, "the split hash put none of the four in training: pick other names"
    dialog.show_split.setCurrentIndex(dialog.show_split.findData(Split.TRAIN))
    listed = {dialog.images.item(r).data(256) for r in range(dialog.images.count())}
    assert set(in_training) <= listed
    assert listed <= {i.path for i in splits[Split.TRAIN].misclassified}
    assert "of " in dialog.counts.text() and "training" in dialog.counts.text()

    dialog.show_split.setCurrentIndex(0)
    for row in range(dialog.images.count()):
        item = dialog.images.item(row)
        item.setSelected(item.data(256) in wrong)
    assert set(dialog.selected_paths()) == set(wrong) and dialog.move_button.isEnabled()
    import ui.misclassified_dialog

    asked = []

    def get_item(parent, title, label, items, current, editable):
        asked.append((items, current))
        return "Red", True

    monkeypatch.setattr(ui.misclassified_dialog.QInputDialog, "getItem", get_item)
    before = tiny_window.state.scan
    dialog.move_button.click()
    assert asked == [(list(dialog.classes), dialog.classes.index("Red"))]  # the predicted one
    qtbot.waitUntil(lambda: dialog.undo_button.isEnabled(), timeout=10000)
    assert all(not p.exists() and (root / "Red" / p.name).exists() for p in wrong)
    assert "Moved 4 image(s) to 'Red'" in dialog.status.text()
    assert "moved to Red" in shown_text(dialog, wrong[0])
    qtbot.waitUntil(lambda: tiny_window.state.scan is not before, timeout=30000)
    assert tiny_window.state.scan.counts()["Red"] == 25 + 4

    moved_scan = tiny_window.state.scan
    dialog.undo()
    qtbot.waitUntil(lambda: not dialog.undo_button.isEnabled() and all(p.exists() for p in wrong),
                    timeout=10000)  # fmt: skip
    assert not any((root / "Red" / p.name).exists() for p in wrong)
    qtbot.waitUntil(lambda: tiny_window.state.scan is not moved_scan, timeout=30000)
    assert tiny_window.state.scan.counts()["green"] == 25 + 4


def shown_text(dialog, path):
    return next(
        dialog.images.item(r).text()
        for r in range(dialog.images.count())
        if dialog.images.item(r).data(256) == path
    )


def test_results_say_how_sure_the_score_is_and_warn_about_small_classes(qtbot, tiny_window):
    """The test accuracy comes with its confidence interval and the core's verdict, and
    classes with fewer than 5 test images are named in a warning (#17.14)."""
    from classifier.evaluate import accuracy_interval, verdict

    panel = tiny_window.train_view.results
    few = _evaluation(("a", "b", "c"), per_class=3)  # 6 of 9 right
    panel.show_evaluation(few)
    interval = accuracy_interval(few)
    text = panel.summary.text()
    assert f"between <b>{interval.low:.0%}</b> and <b>{interval.high:.0%}</b>" in text
    assert "95% confidence interval" in text and f"<b>{verdict(few)}</b>" in text
    assert panel.warning.isVisibleTo(panel)
    assert all(f"'{c}' 3" in panel.warning.text() for c in ("a", "b", "c"))
    enough = _evaluation(("a", "b", "c"), per_class=40)
    panel.show_evaluation(enough)
    assert not panel.warning.isVisibleTo(panel) and panel.warning.text() == ""
    wide, narrow = accuracy_interval(few), accuracy_interval(enough)
    assert narrow.high - narrow.low < wide.high - wide.low


def test_class_names_are_shown_as_text_not_markup(qtbot):
    import numpy as np

    from classifier.evaluate import evaluate_predictions
    from ui.evaluation_panel import summary_text

    classes = ("Dim & <faint>", "bright")
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]])
    paths = [Path(f"/d/{i}.png") for i in range(3)]
    ev = evaluate_predictions(np.array([0, 0, 1]), probs, classes, paths, baseline_class=0)
    text = summary_text(ev)
    assert "Dim &amp; &lt;faint&gt;" in text and "<faint>" not in text
