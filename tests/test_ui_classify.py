import shutil
import time

import numpy as np
import pytest
from datasets import CLASS_COLOURS, CSV_HEADER, make_dataset, noisy_image, read_csv
from PySide6.QtCore import Qt

from classifier.modelfile import save_model
from classifier.scan import scan_dataset
from classifier.sorting import SortMode, plan_sort
from classifier.train import train
from classifier.types import TrainConfig
from ui.sort_dialog import SortDialog


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("classify-train")
    scan = scan_dataset(make_dataset(root / "data", per_class=20))
    outcome = train(scan, TrainConfig(backbone="tiny_test", epochs=15, learning_rate=0.02))
    return save_model(outcome.model, root / "colours.sortscope")


@pytest.fixture
def night(tmp_path):
    rng = np.random.default_rng(4)
    folder = tmp_path / "night"
    (folder / "deeper").mkdir(parents=True)
    for name, colour in CLASS_COLOURS.items():
        for i in range(3):
            noisy_image(rng, colour).save(folder / f"{name.replace(' ', '_')}_{i}.png")
    noisy_image(rng, (128, 128, 128)).save(folder / "grey.png")  # ambiguous: low confidence
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xffnot really")
    (folder / "notes.txt").write_text("unsupported: ignored")
    noisy_image(rng, CLASS_COLOURS["Red"]).save(folder / "deeper" / "deep_red.png")
    return folder


def run_classify(qtbot, window, model_file, folder, recursive=False):
    view = window.classify_view
    view.model_picker.open_model(model_file)
    qtbot.waitUntil(lambda: window.state.model_path == model_file, timeout=30000)
    view.folder_edit.setText(str(folder))
    view.recursive.setChecked(recursive)
    view.start()
    qtbot.waitUntil(lambda: window.state.results is not None, timeout=60000)
    return view


def table_column(view, column):
    proxy = view.results_table.proxy
    return [proxy.index(r, column).data() for r in range(proxy.rowCount())]


def test_classify_table_filters_threshold_and_csv(qtbot, window, model_file, night, tmp_path):
    view = run_classify(qtbot, window, model_file, night)
    card = view.model_picker.card.text()
    assert "colours.sortscope" in card and "test accuracy" in card
    assert "Tiny test network · " in card  # model_title, the words the Train area uses
    assert "/15 epochs, adam lr 0.02" in card
    files = sorted(table_column(view, 1))
    assert files == [
        "Blue_Sky_0.png",
        "Blue_Sky_1.png",
        "Blue_Sky_2.png",
        "Red_0.png",
        "Red_1.png",
        "Red_2.png",
        "corrupt.jpg",
        "green_0.png",
        "green_1.png",
        "green_2.png",
        "grey.png",
    ]
    by_file = {r.file: r for r in view.results.rows}
    assert by_file["corrupt.jpg"].error and view.results.label(by_file["corrupt.jpg"]) == ""
    assert view.results.label(by_file["Red_0.png"]) == "Red"

    view.results_table.table.sortByColumn(
        3, Qt.SortOrder.DescendingOrder
    )  # by confidence, errors last
    confidences = [float(v) for v in table_column(view, 3) if v is not None]
    assert confidences == sorted(confidences, reverse=True) and len(confidences) == 10
    assert table_column(view, 1)[-1] == "corrupt.jpg"
    view.results_table.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    assert table_column(view, 1) == files

    view.results_table.errors_only.setChecked(True)
    assert table_column(view, 1) == ["corrupt.jpg"]
    view.results_table.errors_only.setChecked(False)
    view.results_table.label_filter.setCurrentIndex(
        view.results_table.label_filter.findData("green")
    )
    assert sorted(table_column(view, 1)) == ["green_0.png", "green_1.png", "green_2.png"]
    view.results_table.label_filter.setCurrentIndex(0)
    view.results_table.search.setText("blue")
    assert len(table_column(view, 1)) == 3
    view.results_table.search.setText("")
    view.results_table.table.sortByColumn(
        2, Qt.SortOrder.AscendingOrder
    )  # labels move with their rows
    shown = table_column(view, 2)
    assert shown == sorted(shown) and shown[0] == ""  # the unreadable file has no label
    results = view.results
    assert all(results.labels[i] == results.label(r) for i, r in enumerate(results.rows))
    view.results_table.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)

    view.threshold.setValue(1.0)  # everything below certainty is uncertain
    view.results_table.uncertain_only.setChecked(True)
    assert len(table_column(view, 1)) == 10
    assert "uncertain: <b>10</b>" in view.summary.text()
    view.results_table.uncertain_only.setChecked(False)
    view.threshold.setValue(0.0)
    assert "uncertain: <b>0</b>" in view.summary.text()

    out = tmp_path / "export" / "results.csv"
    view.export_csv_to(out)
    qtbot.waitUntil(out.exists, timeout=10000)
    rows = read_csv(out)
    assert rows[0] == CSV_HEADER
    assert [r[0] for r in rows[1:]] == sorted(files)
    red = next(r for r in rows if r[0] == "Red_0.png")
    assert red[1] == "Red" and red[6] == ""
    assert abs(sum(float(v) for v in red[3:6]) - 1) < 1e-4
    corrupt = next(r for r in rows if r[0] == "corrupt.jpg")
    assert corrupt[1:6] == [""] * 5 and corrupt[6]
    assert view.suggested_csv_name().startswith("night-colours-")

    # Selecting a row shows the image with its top predictions.
    view.results_table.table.selectRow(table_column(view, 1).index("Red_0.png"))
    assert "Red_0.png" in view.preview.info.text() and "%" in view.preview.info.text()


def test_recursive_and_single_image_check(qtbot, window, model_file, night):
    view = run_classify(qtbot, window, model_file, night, recursive=True)
    assert "deeper/deep_red.png" in table_column(view, 1)
    view.check_image(night / "green_1.png")
    qtbot.waitUntil(lambda: "green_1.png" in view.preview.info.text(), timeout=10000)
    assert "→ <b>green</b>" in view.preview.info.text()


def undo_confirmed(qtbot, view):
    """Undo the last sort, agreeing to the question it asks first."""
    from PySide6.QtWidgets import QMessageBox

    from ui.sort_dialog import UNDO_BUTTON

    view.undo_last_sort()
    box = view.findChild(QMessageBox, "sortscope-confirm-undo")
    next(b for b in box.buttons() if b.text() == UNDO_BUTTON).click()
    qtbot.waitUntil(lambda: view.last_log is None, timeout=10000)


def test_sort_copy_move_conflicts_and_undo(qtbot, window, model_file, night, tmp_path, settings):
    view = run_classify(qtbot, window, model_file, night)
    out = tmp_path / "sorted"
    (out / "Red").mkdir(parents=True)
    (out / "Red" / "Red_0.png").write_bytes(b"someone else's file")

    dialog = SortDialog(view.results.relabelled(), settings, window.runner, view)
    dialog.output.setText(str(out))
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=10000)  # made in the background
    assert dialog.plan.mode == SortMode.COPY and dialog.plan.skipped == 1
    reds = sum(1 for r in view.results.relabelled() if r.label == "Red")
    assert f"Red: {reds}" in dialog.summary.text() and "Copy 10 files" in dialog.summary.text()
    assert not (out / "green").exists()  # the dry run touched nothing
    view.run_sort(dialog.plan)
    qtbot.waitUntil(lambda: view.last_log is not None, timeout=10000)
    assert (out / "Red" / "Red_0.png").read_bytes() == b"someone else's file"
    assert (out / "Red" / "Red_0 (1).png").exists()
    assert len(list((out / "green").iterdir())) == 3
    assert (night / "Red_0.png").exists()  # copies leave originals alone
    undo_confirmed(qtbot, view)
    assert not (out / "green").exists()  # made by the sort, left empty by the undo

    moved_out = tmp_path / "moved"
    view.run_sort(plan_sort(view.results.relabelled(), moved_out, SortMode.MOVE))
    qtbot.waitUntil(lambda: view.last_log is not None, timeout=10000)
    assert not (night / "Red_1.png").exists()
    assert (moved_out / "Red" / "Red_1.png").exists()
    undo_confirmed(qtbot, view)
    assert (night / "Red_1.png").exists() and not (moved_out / "Red" / "Red_1.png").exists()


def test_hostile_label_names_never_escape_output(qtbot, window, tmp_path, night):
    root = tmp_path / "hostile"
    # Folder names cannot contain '/', but '..'-like and formula-like names can be labels.
    for name, colour in {" .. ": (200, 40, 40), "=cmd|x": (40, 190, 60)}.items():
        folder = root / name
        folder.mkdir(parents=True)
        rng = np.random.default_rng(0)
        for i in range(10):
            noisy_image(rng, colour).save(folder / f"{i}.png")
    outcome = train(scan_dataset(root), TrainConfig(backbone="tiny_test", epochs=5))
    model_path = save_model(outcome.model, tmp_path / "hostile.sortscope")
    view = run_classify(qtbot, window, model_path, night)
    out = tmp_path / "out"
    plan = plan_sort(view.results.relabelled(), out, SortMode.COPY)
    assert {a.target.parent.parent for a in plan.actions} == {out.absolute()}
    assert {a.target.parent.name for a in plan.actions} <= {"unnamed", "=cmd_x"}


def test_cancel_mid_run_and_resume_reuses_work(qtbot, window, model_file, tmp_path, monkeypatch):
    import classifier.images

    decode = classifier.images.decode_for_model

    def slow_decode(*args, **kwargs):  # the tiny backbone is too quick to cancel reliably
        time.sleep(0.01)
        return decode(*args, **kwargs)

    monkeypatch.setattr(classifier.images, "decode_for_model", slow_decode)
    folder = tmp_path / "many"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(300):
        noisy_image(rng, (i % 256, 90, 160)).save(folder / f"f{i:03d}.png")
    view = window.classify_view
    view.model_picker.open_model(model_file)
    qtbot.waitUntil(lambda: window.state.model is not None, timeout=30000)
    view.folder_edit.setText(str(folder))
    view.start()
    qtbot.waitUntil(lambda: len(view.results.rows) >= 32, timeout=30000)
    view.progress.cancel_button.click()
    qtbot.waitUntil(lambda: not window.runner.is_running("classify"), timeout=10000)
    assert window.state.results is None
    done = len(view.results.rows)
    assert done < 300
    assert "classify again to continue where it stopped" in view.summary.text()
    # Classifying the folder again offers to continue: only the missing images are computed.
    view.start()
    qtbot.waitUntil(lambda: view.resume_offer.isVisibleTo(view), timeout=30000)
    kept = int(view.resume_offer.continue_button.text().split("(")[1].split()[0])
    assert kept >= 32 and f"({kept} of 300 done)" in view.resume_offer.continue_button.text()
    view.resume_offer.continue_button.click()
    qtbot.waitUntil(lambda: window.state.results is not None, timeout=60000)
    assert not view.resume_offer.isVisibleTo(view)
    assert len(view.results.rows) == 300
    assert [r.file for r in window.state.results.rows] == [f"f{i:03d}.png" for i in range(300)]
    assert window.state.results.stats.total == 300 - kept
    shutil.rmtree(folder)


def test_results_sort_keeps_thumbnail_updates_on_the_right_row(qtbot, tmp_path):
    from PySide6.QtGui import QPixmap

    from classifier.types import Prediction
    from ui.results_model import ResultsModel
    from ui.thumbnails import ThumbnailLoader

    loader = ThumbnailLoader()
    results = ResultsModel(loader)
    results.reset(("a", "b"))
    rows = [
        Prediction(f"{i}.png", "", p, (p, 1 - p), "", tmp_path / f"{i}.png")
        for i, p in enumerate([0.9, 0.2, 0.6])
    ]
    results.append(rows)
    decoration = Qt.ItemDataRole.DecorationRole
    results.data(results.index(0, 0), decoration)  # 0.png drawn at row 0: its thumbnail asked
    results.sort(3, Qt.SortOrder.AscendingOrder)
    assert [r.file for r in results.shown_rows()] == ["1.png", "2.png", "0.png"]
    # Drawn again after the sort, 0.png asks from its new row; row 0 (now 1.png) stays as is.
    results.data(results.index(2, 0), decoration)
    with qtbot.waitSignal(results.dataChanged) as changed:
        loader.loaded.emit(tmp_path / "0.png", QPixmap(4, 4))
    assert changed.args[0].row() == 2
    results.append([Prediction("3.png", "", 0.5, (0.5, 0.5), "", tmp_path / "3.png")])
    results.data(results.index(3, 0), decoration)
    with qtbot.waitSignal(results.dataChanged) as changed:
        loader.loaded.emit(tmp_path / "3.png", QPixmap(4, 4))
    assert changed.args[0].row() == 3
    with qtbot.assertNotEmitted(results.dataChanged, wait=200):  # nobody asked for it
        loader.loaded.emit(tmp_path / "9.png", QPixmap(4, 4))


def test_a_missing_folder_is_explained_in_the_cores_words(qtbot, window, model_file, tmp_path):
    from ui.error_dialog import ErrorDialog

    view = window.classify_view
    view.model_picker.open_model(model_file)
    qtbot.waitUntil(lambda: window.state.model_path == model_file, timeout=30000)
    view.folder_edit.setText(str(tmp_path / "gone"))
    view.start()
    box = window.findChild(ErrorDialog, "sortscope-error")
    assert box is not None and "does not exist or is not a folder" in box.text()
    assert box.informativeText() == "Choose the folder that holds the images to classify."
    assert not window.runner.is_running("classify")
    box.close()


def test_sort_dry_run_is_planned_off_the_gui_thread_after_typing(
    qtbot, window, settings, tmp_path, monkeypatch
):
    import threading

    import ui.sort_dialog
    from classifier.types import Prediction

    source = tmp_path / "a.png"
    source.write_bytes(b"x")
    rows = [Prediction("a.png", "Red", 0.9, (0.9, 0.1), "", source)]
    made = []

    def recording(rows, output, mode, reviewed=None):
        made.append((threading.current_thread().name, str(output)))
        return plan_sort(rows, output, mode, reviewed)

    monkeypatch.setattr(ui.sort_dialog, "plan_sort", recording)
    dialog = SortDialog(rows, settings, window.runner)
    qtbot.addWidget(dialog)
    for typed in ("/t", "/tm", str(tmp_path / "o"), str(tmp_path / "out")):  # keystrokes
        dialog.output.setText(typed)
    assert dialog.plan is None and not dialog.go.isEnabled()  # stale until the plan comes
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=5000)
    assert made == [("sortscope-sort-plan", str(tmp_path / "out"))]  # once, for the last text
    assert dialog.go.isEnabled() and "Copy 1 files" in dialog.summary.text()
    assert dialog.preview.item(0, 1).text() == "Red/a.png"

    dialog.modes.buttons()[1].setChecked(True)  # Move: the copy plan is stale now
    assert dialog.plan is None and not dialog.go.isEnabled()
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=5000)
    assert dialog.plan.mode == SortMode.MOVE and "Move 1 files" in dialog.summary.text()


def test_run_details_say_why_the_fast_engine_was_not_used(
    qtbot, window, model_file, night, keras_fallback
):
    view = run_classify(qtbot, window, model_file, night)
    assert f"keras engine (the fast engine could not be used: {keras_fallback})" in (
        view.summary.text()
    )
