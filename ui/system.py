"""What the desktop does with a file: open it in its viewer, show its folder, move it to the trash.

One place for these calls, so tests can replace QDesktopServices and the views never differ.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFile, QModelIndex, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QAbstractItemView


def open_in_system_viewer(path: Path) -> bool:
    """Open `path` in the program the desktop uses for it; False if there is none."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def open_containing_folder(path: Path) -> bool:
    """Show the folder that holds `path` in the desktop's file manager."""
    folder = path if path.is_dir() else path.parent
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def move_to_trash(path: Path) -> bool:
    """Move `path` to the system trash; False where there is none (then nothing happened)."""
    if not path.exists():
        return False
    moved = QFile.moveToTrash(str(path))  # a bool, or (bool, path in trash) in some bindings
    return bool(moved[0] if isinstance(moved, tuple) else moved)


def open_on_double_click(view: QAbstractItemView, path_of) -> None:
    """Double-clicking an item of `view` opens its file; `path_of(index)` names it (or None)."""

    def opened(index: QModelIndex) -> None:
        path = path_of(index)
        if path is not None:
            open_in_system_viewer(Path(path))

    view.doubleClicked.connect(opened)
