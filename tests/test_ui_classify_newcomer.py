"""The Classify area as a newcomer meets it (issue 17): fresh previews, sorting that the table
follows, filters that explain an empty table, plain words for the run details."""

import test_ui_classify
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
