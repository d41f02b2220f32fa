"""The window's label check and map: suspects listed, moved with undo or kept; map linked."""

import shutil

import pytest
from datasets import make_dataset
from PySide6.QtCore import Qt

from classifier.quality import KeptLabels
from classifier.scan import scan_dataset
from ui.label_issues import LabelIssuesPanel
from ui.map_view import MapPanel, dataset_source
from ui.state import AppState
from ui.tasks import TaskRunner


@pytest.fixture
def mislabelled(tmp_path):
    root = make_dataset(tmp_path / "data", per_class=12)
    shutil.move(root / "Red" / "red_004.png", root / "green" / "red_004.png")
    return root


@pytest.fixture
def runner():
    runner = TaskRunner()
    yield runner
    assert runner.shutdown()


def test_check_labels_lists_suspect_moves_it_with_undo_and_keeps(
    qtbot, mislabelled, runner, tmp_path
):
    state = AppState()
    panel = LabelIssuesPanel(state, runner)
    qtbot.addWidget(panel)
    panel.backbone_name = "tiny_test"
    panel.kept = KeptLabels(tmp_path / "kept.json")
    state.set_scan(scan_dataset(mislabelled))
    panel.start_check()
    qtbot.waitUntil(lambda: panel.check_button.isEnabled(), timeout=240_000)
    assert panel.table.item(0, 0).text() == "green/red_004.png"
    assert panel.table.item(0, 2).text() == "Red" and "suspected" in panel.title.text()
    shown = []
    panel.image_selected.connect(shown.append)
    panel.table.selectRow(0)
    assert shown[-1] == mislabelled / "green" / "red_004.png"
    assert panel.move_button.text() == "Move to Red"
    panel.move_button.click()
    assert (mislabelled / "Red" / "red_004.png").exists()
    assert not (mislabelled / "green" / "red_004.png").exists()
    panel.undo_button.click()
    assert (mislabelled / "green" / "red_004.png").exists()
    # Kept: the next check does not list it again.
    state.set_scan(scan_dataset(mislabelled))
    panel.start_check()
    qtbot.waitUntil(lambda: panel.check_button.isEnabled(), timeout=240_000)
    panel.table.selectRow(0)
    panel.keep_button.click()
    state.set_scan(scan_dataset(mislabelled))
    panel.start_check()
    qtbot.waitUntil(lambda: panel.check_button.isEnabled(), timeout=240_000)
    files = [panel.table.item(r, 0).text() for r in range(panel.table.rowCount())]
    assert "green/red_004.png" not in files and "kept as they are" in panel.title.text()


def test_map_panel_draws_points_that_select_their_images(qtbot, tmp_path, runner):
    root = make_dataset(tmp_path / "data", per_class=12)
    state = AppState()
    state.set_scan(scan_dataset(root))
    panel = MapPanel(runner, dataset_source(state, "tiny_test"))
    qtbot.addWidget(panel)
    panel.draw()
    qtbot.waitUntil(lambda: panel.view.image_map is not None, timeout=240_000)
    view = panel.view
    assert len(view.scatter.points()) == 36
    clicked = []
    view.image_clicked.connect(clicked.append)
    point = view.scatter.points()[5]
    view._clicked(view.scatter, [point])
    assert clicked == [view.image_map.paths[5]]
    assert clicked[0].parent.name == view.image_map.labels[5]
    selected = []
    view.selection_changed.connect(selected.append)
    view.area.setChecked(True)
    inside = selected[-1]
    assert set(inside) <= set(view.image_map.paths)
    assert set(inside) == set(view.selected_paths())


def test_batch_table_novelty_column_threshold_and_unfamiliar_filter(qtbot):
    from classifier.types import Prediction
    from ui.results_table import ResultsTable
    from ui.thumbnails import ThumbnailLoader

    loader = ThumbnailLoader()
    table = ResultsTable(loader)
    qtbot.addWidget(table)
    table.reset(("a", "b"), ("FILTER",), novelty=True)
    rows = [
        Prediction("x.png", "a", 0.9, (0.9, 0.1), extra=("R",), novelty=0.5),
        Prediction("y.png", "b", 0.8, (0.2, 0.8), extra=("G",), novelty=0.999),
    ]
    table.results.append(rows)
    model = table.results
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers[-3:] == ["Error", "Novelty", "FILTER"]
    assert model.data(model.index(1, headers.index("Novelty"))) == "0.999"
    assert model.data(model.index(1, headers.index("FILTER"))) == "G"
    assert model.labels == ["a", "b"]
    table.novelty_box.mark.setChecked(True)  # default threshold 0.99
    assert model.labels == ["a", "unfamiliar"]
    table.novelty_box.only.setChecked(True)
    assert table.proxy.rowCount() == 1
    loader.shutdown()
