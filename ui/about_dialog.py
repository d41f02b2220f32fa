"""Help ▸ About: the icon, every version that matters, the engine in use, and the folders.

`python -m ui.about_dialog` opens it alone.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from classifier import about
from ui import style
from ui.widgets import hint

ICON_SIZE = 96


def open_folder(path: Path) -> bool:
    """Show a folder in the system's file manager (made first: a fresh install has none)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sortscope-about")
        self.setWindowTitle("About Sortscope")
        icon = QLabel()
        icon.setPixmap(style.icon_pixmap(ICON_SIZE))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.versions = [*about.versions(), ("Qt (runtime)", qVersion())]
        sortscope_version = dict(self.versions)["Sortscope"]
        title = QLabel(
            f"<h2>Sortscope {sortscope_version}</h2>"
            "<p>Train an image classifier on your own folders and sort thousands of new images "
            "with it. Transfer learning from a pretrained network that ships with Sortscope, "
            "running on this computer, offline.</p>"
        )
        title.setWordWrap(True)
        header = QHBoxLayout()
        header.addWidget(icon)
        header.addWidget(title, 1)

        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        for row, (name, version) in enumerate(self.versions):
            grid.addWidget(QLabel(name), row, 0)
            value = QLabel(version)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(value, row, 1)
        self.engine = QLabel(f"<b>Inference engine</b>: {about.engine_text()}")
        self.engine.setWordWrap(True)
        self.engine.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(grid)
        layout.addWidget(self.engine)
        self.folder_buttons: dict[str, QPushButton] = {}
        for folder in about.folders():
            layout.addLayout(self._folder_row(folder))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, self.sizeHint().height())

    def _folder_row(self, folder: about.Folder) -> QVBoxLayout:
        text = QLabel(f"<b>{folder.title}</b>: {folder.path}")
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        button = QPushButton("Open")
        button.setToolTip(f"Show {folder.path} in the file manager")
        button.clicked.connect(lambda: open_folder(folder.path))
        self.folder_buttons[folder.title] = button
        line = QHBoxLayout()
        line.addWidget(text, 1)
        line.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        column = QVBoxLayout()
        column.addLayout(line)
        column.addWidget(hint(f"Holds {folder.purpose}."))
        return column


def show_about(parent: QWidget | None) -> AboutDialog:
    dialog = AboutDialog(parent)
    dialog.open()  # window-modal, the event loop keeps running
    return dialog


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    style.apply(app)
    dialog = AboutDialog()
    dialog.show()
    sys.exit(app.exec())
