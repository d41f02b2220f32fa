"""The Dataset area as a newcomer meets it (issue 17): no stale previews, no clipped text."""

from pathlib import Path

from datasets import make_dataset
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
