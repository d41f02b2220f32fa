"""The Dataset area as a newcomer meets it (issue 17): no stale previews, no clipped text."""

from pathlib import Path

import numpy as np
from datasets import make_dataset, noisy_image
from PySide6.QtCore import Qt


def wait_for_scan(qtbot, window, root: Path):
    qtbot.waitUntil(
        lambda: window.state.scan is not None and window.state.scan.root == root, timeout=30000
    )
    return window.state.scan


def preview_has_image(view) -> bool:
    pixmap = view.preview.pixmap()
    return pixmap is not None and not pixmap.isNull()


def test_opening_another_dataset_clears_the_preview(qtbot, window, tmp_path):
    first = make_dataset(tmp_path / "first", per_class=4)
    (first / "Red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    second = make_dataset(tmp_path / "second", per_class=4, classes={"a": (0, 0, 0)})
    view = window.dataset_view
    window.open_dataset(first)
    wait_for_scan(qtbot, window, first)
    view.grid.setCurrentIndex(view.thumbnail_model.index(0))
    qtbot.waitUntil(lambda: preview_has_image(view), timeout=10000)

    window.open_dataset(second)
    wait_for_scan(qtbot, window, second)
    assert not preview_has_image(view)
    assert view.preview.image.text() == "Select an image to see it here."
    assert view.preview.info.text() == ""

    window.open_dataset(first)  # a message about an unused file goes as well
    scan = wait_for_scan(qtbot, window, first)
    broken = next(i for i, p in enumerate(scan.problems) if p.path and p.path.name == "broken.png")
    view._problem_clicked(broken)
    assert "broken.png" in view.preview.info.text()
    window.open_dataset(second)
    wait_for_scan(qtbot, window, second)
    assert "broken.png" not in view.preview.info.text()
    assert view.preview.image.text() == "Select an image to see it here."


def test_a_late_decode_never_covers_a_newer_message(qtbot, window, tmp_path):
    root = make_dataset(tmp_path / "d", per_class=3)
    view = window.dataset_view
    window.open_dataset(root)
    wait_for_scan(qtbot, window, root)
    view.grid.setCurrentIndex(view.thumbnail_model.index(0))  # decoding starts
    view.preview.show_message("Nothing to show.", "newer")
    qtbot.waitUntil(lambda: not window.runner.is_running("preview"), timeout=10000)
    qtbot.wait(100)  # the finished signal is queued
    assert not preview_has_image(view) and view.preview.image.text() == "Nothing to show."
    assert view.grid.currentIndex().data(Qt.ItemDataRole.UserRole) is not None


def test_long_names_notes_and_messages_are_not_cut_off(qtbot, window, tmp_path):
    from PySide6.QtGui import QFontMetrics
    from PySide6.QtWidgets import QStyleOptionViewItem

    root = make_dataset(tmp_path / "d", per_class={"Red": 25, "green": 3, "Blue Sky": 25})
    for i in range(3):  # names that differ only at their end
        image = noisy_image(np.random.default_rng(i), (200, 40, 40))
        image.save(root / "Red" / f"NGC6397_2024-03-11_exposure_r_{i:03d}.png")
    (root / "Red" / "broken_frame_of_night_2.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    window.open_dataset(root)
    wait_for_scan(qtbot, window, root)
    view = window.dataset_view
    delegate, model = view.grid.itemDelegate(), view.thumbnail_model
    cell = view.grid.gridSize()
    shown = set()
    rows = [i for i, r in enumerate(model.records) if r.path.name.startswith("NGC")]
    for n, row in enumerate(rows):
        index = model.index(row)
        name = index.data()
        assert name.startswith("NGC6397_") and name in index.data(Qt.ItemDataRole.ToolTipRole)
        option = QStyleOptionViewItem()
        delegate.initStyleOption(option, index)
        assert option.textElideMode == Qt.TextElideMode.ElideMiddle
        width = delegate.sizeHint(option, index).width()
        assert cell.width() - 8 <= width <= cell.width()  # the name gets the cell's width
        text = QFontMetrics(option.font).elidedText(name, option.textElideMode, width)
        assert text.endswith(f"{n:03d}.png")
        shown.add(text)
    assert len(shown) == 3  # told apart on screen

    table = view.class_table
    green = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == "green")
    assert "only 3 images" in table.item(green, 5).text()
    table.setColumnWidth(5, 80)  # a narrow Notes column: the note wraps and its row grows
    table.horizontalHeader().setSectionResizeMode(5, table.horizontalHeader().ResizeMode.Fixed)
    qtbot.waitUntil(lambda: table.rowHeight(green) >= table.sizeHintForRow(green))
    assert table.rowHeight(green) > table.rowHeight(0)

    assert view.preview.image.wordWrap()  # a long message wraps rather than being cut
    files = view.problems.table  # the File column fits a path of ordinary length
    name_width = files.fontMetrics().horizontalAdvance("Red/broken_frame_of_night_2.png")
    assert files.columnWidth(2) >= name_width
