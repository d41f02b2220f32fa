"""The window's label check and map: suspects listed, moved with undo or kept; map linked."""

import shutil

import pytest
from datasets import make_dataset

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
