"""The map's hover card: the thumbnail of the point under the mouse (decoded off the GUI
thread, FITS stretched as the map's images are) above its name and label."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from ui.thumbnails import ThumbnailLoader

HOVER_SIZE = 112


class HoverCard(QFrame):
    """A small floating card: the hovered image's thumbnail above its name and label."""

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.ToolTip)
        self.loader = loader
        self.path: Path | None = None
        self.setFrameShape(QFrame.Shape.Box)
        self.image = QLabel()
        self.image.setFixedSize(HOVER_SIZE, HOVER_SIZE)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel()
        self.text.setMaximumWidth(240)
        self.text.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.image, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.text)
        loader.loaded.connect(self._loaded)

    def show_for(self, path: Path, text: str, at: QPoint) -> None:
        self.path = path
        self.text.setText(text)
        known, pixmap = self.loader.cached(path)
        if known and pixmap is not None:
            self.image.setPixmap(pixmap)
        else:
            self.image.setText("…")
        if not known:
            self.loader.request(path)
        self.adjustSize()
        self.move(at + QPoint(16, 16))
        self.show()

    def _loaded(self, path: Path, pixmap) -> None:
        if path == self.path and pixmap is not None:
            self.image.setPixmap(pixmap)
