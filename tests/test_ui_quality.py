"""The window through the network's eyes: suspected label errors as problems (compared with
typical images, moved with undo, kept), the Map in the dataset browser and the batch view, the
Novelty column and the "most unfamiliar first" review order."""

import shutil

import numpy as np
import pytest
from datasets import CLASS_COLOURS, make_dataset, noisy_image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QComboBox

from classifier.modelfile import load_model, save_model
from classifier.scan import scan_dataset
from classifier.train import train
from classifier.types import Prediction, TrainConfig
from ui.state import AppState
from ui.tasks import TaskRunner

LONG = 240_000  # ms: a loaded machine; the tiny backbone usually needs seconds


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


@pytest.fixture
def dataset_view(qtbot, runner):
    from ui.dataset_view import DatasetView

    state = AppState()
    view = DatasetView(state, runner)
    qtbot.addWidget(view)
    view.show()
    view.quality.control.backbone_name = "tiny_test"
    view.quality.map.source = _tiny_source(state)
    yield view
    view.shutdown()


def _tiny_source(state):
    from ui.map_view import dataset_source

    return dataset_source(state, "tiny_test")


def open_and_wait(qtbot, view, folder):
    before = view.state.scan
    view.open_folder(folder)
    rescanned(qtbot, view, before)


def rescanned(qtbot, view, before):
    """Wait for the scan that replaces `before` to be shown."""
    qtbot.waitUntil(lambda: view.state.scan not in (None, before), timeout=LONG)


def check_labels(qtbot, view):
    control = view.quality.control
    control.start()
    qtbot.waitUntil(lambda: not control.busy() and control.button.isEnabled(), timeout=LONG)


def suspect_row(problems, file):
    files = [problems.table.item(r, 2).text() for r in range(problems.table.rowCount())]
    return files.index(file) if file in files else None


def test_suspects_are_problems_shown_beside_typical_images_moved_with_undo_and_kept(
    qtbot, dataset_view, mislabelled
):
    view, problems = dataset_view, dataset_view.problems
    open_and_wait(qtbot, view, mislabelled)
    check_labels(qtbot, view)
    assert "suspected label error" in problems.title.text()
    row = suspect_row(problems, "green/red_004.png")
    assert row is not None and row >= len(problems.problems)  # after the scan's problems
    assert "Looks like Red, not green" in problems.table.item(row, 1).text()
    assert "% sure" in problems.table.item(row, 1).text()
    # Clicking the row shows it beside typical images of both classes, in the preview's place.
    problems.table.selectRow(row)
    problems._clicked(row)
    compare = view.quality.compare
    assert view.quality.side.currentWidget() is compare
    assert compare.issue.path == mislabelled / "green" / "red_004.png"
    own, suggested = compare.typical_shown()
    assert own and all(p.parent.name == "green" for p in own)
    assert suggested and all(p.parent.name == "Red" for p in suggested)
    assert compare.issue.path not in own + suggested
    assert problems.move_button.text() == compare.move_button.text() == "Move to Red"
    assert problems.keep_button.isVisible()
    # Move to the suggested class (no question asked), then undo: it is a suspect again.
    before = view.state.scan
    compare.move_button.click()
    rescanned(qtbot, view, before)
    assert (mislabelled / "Red" / "red_004.png").exists()
    assert suspect_row(problems, "green/red_004.png") is None
    assert view.quality.side.currentIndex() == 0  # the rescan shows the preview again
    assert problems.undo_button.isVisible()
    before = view.state.scan
    problems.undo_button.click()
    rescanned(qtbot, view, before)
    assert (mislabelled / "green" / "red_004.png").exists()
    assert suspect_row(problems, "green/red_004.png") is not None
    # Keep as is: remembered by content, so the next check leaves it out.
    problems.select_suspect(problems.suspects[0])
    issue = problems.selected_suspect()
    assert issue.file == "green/red_004.png"
    compare.keep_button.click()
    assert suspect_row(problems, "green/red_004.png") is None
    check_labels(qtbot, view)
    assert suspect_row(problems, "green/red_004.png") is None
    assert "1 kept as they are" in problems.title.text()
    # Another dataset: the suspects do not follow.
    open_and_wait(qtbot, view, make_dataset(mislabelled.parent / "other", per_class=3))
    assert problems.suspects == [] and "suspected" not in problems.title.text()


def test_dataset_map_points_select_their_images_and_an_area_fills_the_grid(
    qtbot, dataset_view, tmp_path
):
    view = dataset_view
    open_and_wait(qtbot, view, make_dataset(tmp_path / "data", per_class=12))
    panel = view.quality.map
    panel.draw()
    qtbot.waitUntil(lambda: panel.view.image_map is not None, timeout=LONG)
    mapped = panel.view
    assert len(mapped.scatter.points()) == 36
    assert mapped.colour.currentText() == "Colour by class"
    point = mapped.scatter.points()[5]
    path = mapped.image_map.paths[5]
    assert path.parent.name == mapped.image_map.labels[5]
    mapped._clicked(mapped.scatter, [point])
    assert view.grid.currentIndex().data(Qt.ItemDataRole.UserRole).path == path
    # Hovering shows the thumbnail and name on a card.
    mapped.show_card(5, QPoint(10, 10))
    assert path.name in mapped.card.text.text()
    qtbot.waitUntil(lambda: not mapped.card.image.pixmap().isNull(), timeout=10_000)
    mapped.card.hide()
    # An area selection fills the grid with the images inside it; removing it restores.
    mapped.area.setChecked(True)
    inside = set(mapped.selected_paths())
    assert inside <= set(mapped.image_map.paths)
    grid = view.thumbnail_model
    shown = {grid.index(r).data(Qt.ItemDataRole.UserRole).path for r in range(grid.rowCount())}
    assert shown == inside
    assert "in the area" in mapped.area_note.text()
    mapped.roi.setPos((-1e6, -1e6))
    mapped.roi.setSize((2e6, 2e6))
    mapped._area_changed()
    assert grid.rowCount() == 36
    mapped.area.setChecked(False)
    assert grid.rowCount() == 36


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("quality-train")
    scan = scan_dataset(make_dataset(root / "data", per_class=16))
    outcome = train(scan, TrainConfig(backbone="tiny_test", epochs=10, learning_rate=0.02))
    return save_model(outcome.model, root / "colours.sortscope")


def test_batch_map_by_prediction_and_novelty_selects_rows_filters_the_table_and_review_order(
    qtbot, runner, settings, model_file, tmp_path
):
    from ui.classify_view import ClassifyView
    from ui.review_order import NOVELTY

    rng = np.random.default_rng(3)
    night = tmp_path / "night"
    night.mkdir()
    for name, colour in CLASS_COLOURS.items():
        for i in range(4):
            noisy_image(rng, colour).save(night / f"{name.replace(' ', '_')}_{i}.png")
    for i in range(3):  # unlike every training image
        noisy_image(rng, (250, 250, 250), size=(48, 40)).save(night / f"white_{i}.png")
    state = AppState()
    view = ClassifyView(state, runner, settings)
    qtbot.addWidget(view)
    view.show()
    state.set_model(load_model(model_file), model_file)
    assert state.model.novelty is not None
    view.folder_edit.setText(str(night))
    view.start()
    qtbot.waitUntil(lambda: state.results is not None, timeout=LONG)
    results = view.results
    assert results.novelty and all(r.novelty is not None for r in results.rows)

    maps = view.results_map
    assert [maps.tabs.tabText(i) for i in range(maps.tabs.count())] == ["Table", "Map"]
    maps.panel.draw()
    qtbot.waitUntil(lambda: maps.panel.view.image_map is not None, timeout=LONG)
    mapped = maps.panel.view
    assert len(mapped.image_map.paths) == 15
    labels = {r.path: results.label(r) for r in results.rows}
    assert [labels[p] for p in mapped.image_map.paths] == list(mapped.image_map.labels)
    choices = [mapped.colour.itemText(i) for i in range(mapped.colour.count())]
    assert choices == ["Colour by predicted label", "Colour by novelty"]
    mapped.colour.setCurrentIndex(1)
    novelty = {r.path: r.novelty for r in results.rows}
    assert mapped.novelty.tolist() == pytest.approx([novelty[p] for p in mapped.image_map.paths])
    # A click selects the point's row (the preview shows it).
    path = mapped.image_map.paths[3]
    mapped._clicked(mapped.scatter, [mapped.scatter.points()[3]])
    current = view.results_table.table.currentIndex()
    assert current.isValid() and current.data(Qt.ItemDataRole.UserRole).path == path
    assert view.preview.path == path
    # The area filters the table; "Show all rows" undoes it.
    mapped.area.setChecked(True)
    inside = set(mapped.selected_paths())
    shown = {r.path for r in view.results_table.shown_rows()}
    assert shown == inside and maps.area_bar.isVisibleTo(view)
    assert f"{len(inside)}" in maps.area_note.text()
    mapped.area.setChecked(False)
    assert view.results_table.shown_count() == 15 and not maps.area_bar.isVisibleTo(view)

    # The review order offers "most unfamiliar first" for this batch: the white images lead.
    review = view.review.view
    view.enter_review()
    index = review.order.findData(NOVELTY)
    assert review.order.model().item(index).isEnabled()
    review.order.setCurrentIndex(index)
    qtbot.waitUntil(lambda: len(review.queue) == 15, timeout=10_000)
    scores = [r.novelty for r in review.queue]
    assert scores == sorted(scores, reverse=True)
    # The score is a share of training images (1.0: beyond all of them), so ties at the top
    # are possible: no known image scores above a white one.
    white = [r.novelty for r in review.queue if r.file.startswith("white")]
    known = [r.novelty for r in review.queue if not r.file.startswith("white")]
    assert len(white) == 3 and min(white) >= max(known)
    view.leave_review()
    # A new run empties the map.
    view.start()
    qtbot.waitUntil(lambda: mapped.image_map is None, timeout=LONG)
    qtbot.waitUntil(lambda: not runner.is_running("classify"), timeout=LONG)
    view.shutdown()


def test_novelty_order_is_disabled_with_a_reason_for_rows_without_scores(qtbot):
    from ui.review_order import NO_NOVELTY, NOVELTY, NOVELTY_TEXT, update_novelty_order

    combo = QComboBox()
    qtbot.addWidget(combo)
    combo.addItem("Least certain first (margin)", "margin")
    combo.addItem(NOVELTY_TEXT, NOVELTY)
    combo.setCurrentIndex(1)
    update_novelty_order(combo, [Prediction("a.png", "x", 0.9, (0.9, 0.1))])
    item = combo.model().item(1)
    assert not item.isEnabled() and item.toolTip() == NO_NOVELTY
    assert combo.currentIndex() == 0  # a disabled order is not left chosen
    update_novelty_order(combo, [Prediction("a.png", "x", 0.9, (0.9, 0.1), novelty=0.4)])
    assert item.isEnabled()


def test_batch_table_novelty_column_threshold_and_unfamiliar_filter(qtbot):
    from ui.results_table import ResultsTable
    from ui.run_summary import counts_text
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
    assert "unfamiliar: <b>1</b>" in counts_text(model, table.shown_count())
    loader.shutdown()
