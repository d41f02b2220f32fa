"""The desktop parts of the window: the icon, the getting-started guide, Help menu entries."""

from __future__ import annotations

import pytest

from ui import settings as keys
from ui import style


def _help_action(window, text):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    return next(a for a in menu.actions() if a.text().replace("&", "") == text)


def test_the_app_and_its_dialogs_carry_the_icon(qapp, window):
    from PySide6.QtWidgets import QDialog

    style.apply(qapp)
    assert not qapp.windowIcon().isNull()
    assert window.windowIcon().cacheKey() == qapp.windowIcon().cacheKey()
    _help_action(window, "About Sortscope").trigger()
    about = window.findChild(QDialog, "sortscope-about")
    assert about is not None and about.isVisible()
    assert about.windowIcon().cacheKey() == qapp.windowIcon().cacheKey()
    about.close()


def test_guide_on_first_start_dismissed_for_good_and_back_from_help(qtbot, settings):
    from conftest import _open_window

    first = next(_open_window(qtbot, settings))
    guide = first.guide
    assert guide.isVisible()
    text = guide.text.text()
    assert "Dataset" in text and "Train" in text and "Classify" in text
    assert "synthetic" in text and "run history" in text
    guide.dismiss_button.click()
    assert not guide.isVisible()
    first.close()
    settings.sync()
    assert settings.value(keys.GUIDE_DISMISSED) in (True, "true")

    second = next(_open_window(qtbot, settings))
    try:
        assert not second.guide.isVisible()  # dismissed for good
        _help_action(second, "Getting started").trigger()
        assert second.guide.isVisible()
    finally:
        second.close()
        assert second.runner.shutdown(timeout=10)


def test_help_adds_the_launcher_with_the_core(qtbot, window, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    from classifier import launcher

    app = tmp_path / "bin" / "sortscope-app"
    app.parent.mkdir()
    app.write_text("#!/bin/sh\n")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(launcher, "app_executable", lambda platform=None: app)
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda *args: shown.append(args[2]))
    _help_action(window, "Add Sortscope to the applications menu").trigger()
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    entry = tmp_path / "xdg" / "applications" / "sortscope.desktop"
    assert f"Exec={app} %F" in entry.read_text()
    assert "applications menu" in shown[0] and "--remove" in shown[0]


@pytest.mark.parametrize("dismissed", [False, True])
def test_guide_setting_is_read_back(settings, qapp, dismissed):
    from ui.getting_started import GettingStarted

    settings.setValue(keys.GUIDE_DISMISSED, dismissed)
    assert GettingStarted(settings).dismissed() is dismissed
