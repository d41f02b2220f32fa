"""The main window's own menus: View switches areas by menu and by Ctrl+1/2/3."""

from PySide6.QtCore import Qt


def test_view_menu_and_shortcuts_show_each_area(window, qtbot):
    names = [a.text() for a in window.view_actions]
    assert names == ["Dataset", "Train", "Classify"]
    for index in (2, 1, 0, 2):
        window.view_actions[index].trigger()
        assert window.tabs.currentIndex() == index
    for index in (1, 2, 0):
        window.activateWindow()
        qtbot.keyClick(window, Qt.Key.Key_1 + index, Qt.KeyboardModifier.ControlModifier)
        assert window.tabs.currentIndex() == index
