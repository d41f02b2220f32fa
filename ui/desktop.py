"""The main window's desktop parts: the getting-started guide above its areas, and the Help menu's
Getting started, Add Sortscope to the applications menu and About entries.
"""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox, QVBoxLayout, QWidget

from classifier import launcher
from ui.errors import show_error
from ui.getting_started import GettingStarted


def install_guide(window: QMainWindow, areas: QWidget) -> GettingStarted:
    """Put the guide above `areas` (the window's tabs) as the central widget."""
    guide = GettingStarted(window.settings)
    guide.open_requested.connect(window.choose_dataset)
    central = QWidget()
    layout = QVBoxLayout(central)
    layout.setContentsMargins(0, 4, 0, 0)  # the areas keep the window's full width
    layout.addWidget(guide)
    layout.addWidget(areas, 1)
    window.setCentralWidget(central)
    return guide


def add_help_actions(window: QMainWindow, menu: QMenu, guide: GettingStarted) -> None:
    """Help ▸ Getting started, Add Sortscope to the applications menu…, About Sortscope."""
    entries = (
        ("&Getting started", guide.show_guide),
        ("Add Sortscope to the &applications menu", lambda: add_launcher(window)),
        ("&About Sortscope", window.about),
    )
    for text, slot in entries:
        action = QAction(text, window)
        action.triggered.connect(slot)
        menu.addAction(action)


def add_launcher(window: QMainWindow) -> None:
    """`sortscope install-launcher` off the GUI thread (Windows runs PowerShell for it)."""

    def done(report: launcher.LauncherReport) -> None:
        window.statusBar().showMessage(report.message)
        QMessageBox.information(
            window,
            "Sortscope in the applications menu",
            f"{report.message}\n\nTo take it out again, run: sortscope install-launcher --remove",
        )

    window.runner.start(
        "launcher",
        lambda ctx: launcher.install(),
        finished=done,
        failed=lambda info: show_error(window, info),
    )
