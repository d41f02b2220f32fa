"""The Classify area as a newcomer meets it (issue 17): fresh previews, sorting that the table
follows, filters that explain an empty table, plain words for the run details."""

import test_ui_classify
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from test_ui_classify import run_classify, table_column

# The Classify tests' trained model and folder to classify, shared.
model_file = test_ui_classify.model_file
night = test_ui_classify.night


def preview_has_image(view) -> bool:
    pixmap = view.preview.pixmap()
    return pixmap is not None and not pixmap.isNull()


def test_a_new_run_clears_the_previous_runs_preview(qtbot, window, model_file, night, tmp_path):
    view = run_classify(qtbot, window, model_file, night)
    view.results_table.table.selectRow(table_column(view, 1).index("Red_0.png"))
    qtbot.waitUntil(lambda: preview_has_image(view), timeout=10000)

    empty = tmp_path / "empty"
    empty.mkdir()
    window.state.set_results(None)
    view.folder_edit.setText(str(empty))
    view.start()
    assert not preview_has_image(view) and "Red_0.png" not in view.preview.info.text()
    assert view.preview.image.text() == "Select a row, or check a single image."
    qtbot.waitUntil(lambda: not window.runner.is_running("classify"), timeout=30000)
    assert not preview_has_image(view)


def confirm_box(view):
    from PySide6.QtWidgets import QMessageBox

    return view.findChild(QMessageBox, "sortscope-confirm-undo")


def test_rows_follow_a_move_and_its_confirmed_undo(qtbot, window, model_file, night, tmp_path):
    from classifier.sorting import SortMode, plan_sort
    from ui.sort_dialog import UNDO_BUTTON

    view = run_classify(qtbot, window, model_file, night)
    out = tmp_path / "sorted"
    (out / "Red").mkdir(parents=True)  # there before the sort: it stays after the undo
    view.run_sort(plan_sort(view.results.relabelled(), out, SortMode.MOVE))
    qtbot.waitUntil(lambda: view.last_sort is not None, timeout=10000)
    by_file = {r.file: r for r in view.results.rows}
    assert by_file["Red_0.png"].path == out / "Red" / "Red_0.png"
    assert by_file["corrupt.jpg"].path == night / "corrupt.jpg"  # unreadable: not moved
    row = table_column(view, 1).index("Red_0.png")
    tooltip = view.results_table.proxy.index(row, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip == str(out / "Red" / "Red_0.png")
    view.results_table.table.selectRow(row)  # the moved file is found and shown
    qtbot.waitUntil(lambda: preview_has_image(view), timeout=10000)
    assert "could not be read" not in view.preview.image.text()

    view.undo_last_sort()  # asks first, saying what goes back where
    box = confirm_box(view)
    assert f"Move 10 files from {out} back to {night}?" in box.text()
    next(b for b in box.buttons() if b.text() != UNDO_BUTTON).click()  # Cancel
    qtbot.wait(200)
    assert view.last_sort is not None and (out / "Red" / "Red_0.png").exists()

    view.undo_last_sort()
    next(b for b in confirm_box(view).buttons() if b.text() == UNDO_BUTTON).click()
    qtbot.waitUntil(lambda: view.last_sort is None, timeout=10000)
    assert {r.file: r for r in view.results.rows}["Red_0.png"].path == night / "Red_0.png"
    assert (night / "Red_0.png").exists()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["Red"]
    assert window.statusBar().currentMessage() == (
        "Undid the sort of 10 files; removed 2 empty folders"  # green and Blue Sky
    )


def test_filters_that_match_nothing_say_so_and_clear_in_one_click(qtbot, window, model_file, night):
    view = run_classify(qtbot, window, model_file, night)
    table = view.results_table
    assert view.summary.text().startswith("11 images · ")
    assert "Run details" in view.summary.text()
    table.label_filter.setCurrentIndex(table.label_filter.findData("Red"))
    reds = view.results.labels.count("Red")
    assert view.summary.text().startswith(f"{reds} of 11 images shown · ")
    assert "Run details" in view.summary.text()  # kept while filtering
    assert table.no_match.isHidden()

    view.threshold.setValue(0.0)  # nothing is uncertain now
    table.uncertain_only.setChecked(True)  # Red and uncertain at once: nothing
    assert table.shown_count() == 0
    assert not table.no_match.isHidden()
    assert table.no_match_text.text() == "No rows match these filters."
    assert view.summary.text().startswith("0 of 11 images shown · ")

    table.search.setText("red")
    next(b for b in table.no_match.findChildren(QPushButton) if b.text() == "Clear filters").click()
    assert table.label_filter.currentIndex() == 0 and not table.uncertain_only.isChecked()
    assert table.search.text() == "" and table.shown_count() == 11
    assert table.no_match.isHidden() and view.summary.text().startswith("11 images · ")


def test_the_summary_counts_keep_name_and_number_together():
    from classifier.types import Prediction
    from ui.results_model import ResultsModel
    from ui.run_summary import counts_text
    from ui.thumbnails import ThumbnailLoader

    results = ResultsModel(ThumbnailLoader())
    results.reset(("a<b", "c"))
    results.append(
        [Prediction("x.png", "", 0.9, (0.9, 0.1)), Prediction("y.png", "", None, None, "bad")]
    )
    text = counts_text(results, None)
    assert text.startswith("2 images · ")
    assert "<span style='white-space:nowrap'>a&lt;b: <b>1</b></span>" in text
    assert "<span style='white-space:nowrap'>unreadable: <b>1</b></span>" in text
    assert counts_text(results, 1).startswith("1 of 2 images shown · ")


def test_run_details_are_explained_and_fits_columns_only_for_fits_models(
    qtbot, window, model_file, night
):
    from dataclasses import replace

    from classifier.modelfile import load_model

    view = run_classify(qtbot, window, model_file, night)
    assert "per new image on each of" in view.summary.text()  # the numbers stay
    assert "Run details (point here for what they mean)" in view.summary.text()
    assert "Per new image on each of N workers" in view.summary.toolTip()
    assert "tflite" in view.summary.toolTip() and "inference" in view.summary.toolTip()

    # Trained on PNG files only: no FITS header columns to offer, and none are asked for.
    assert not view.fits_keys.isVisibleTo(view) and not view.fits_label.isVisibleTo(view)
    view.fits_keys.setText("OBJECT")  # left over from an earlier FITS model
    view.start()
    qtbot.waitUntil(lambda: not window.runner.is_running("classify"), timeout=30000)
    assert view.results.extra_columns == ()

    older = load_model(model_file)  # a description without its dataset: nothing is hidden
    older.info = replace(older.info, run=replace(older.info.run, dataset=None))
    window.state.set_model(older, model_file)
    assert view.fits_keys.isVisibleTo(view)


def test_show_combo_file_and_error_columns_are_readable(qtbot, window, model_file, night):
    from ui.results_table import ERROR_WIDTH

    view = run_classify(qtbot, window, model_file, night)
    table = view.results_table
    combo = table.label_filter
    longest = max(combo.itemText(i) for i in range(combo.count()))
    assert combo.width() >= combo.fontMetrics().horizontalAdvance(longest)
    assert combo.width() >= combo.sizeHint().width()
    grid = table.table
    assert grid.columnWidth(view.results.error_column) >= ERROR_WIDTH
    assert not grid.wordWrap()  # an error is one line ending in "…", not three cut lines
    assert grid.textElideMode() == Qt.TextElideMode.ElideMiddle  # names keep their ends
    corrupt = table.proxy.index(table_column(view, 1).index("corrupt.jpg"), 0)
    error = corrupt.siblingAtColumn(view.results.error_column)
    assert error.data() and error.data(Qt.ItemDataRole.ToolTipRole) == error.data()
