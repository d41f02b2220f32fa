"""One image shown large beside a few lines about it, decoded off the GUI thread.

The Dataset and Classify areas both preview the selected image this way; decoding goes through
the core loader with the stretch the caller names, so the preview looks as the model sees it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from classifier import images
from classifier.preprocessing import Preprocessing
from ui.tasks import TaskRunner
from ui.thumbnails import pil_to_qimage


class ImagePreview(QWidget):
    """The image (scaled to fit) above its description (rich text, selectable)."""

    def __init__(
        self,
        runner: TaskRunner,
        kind: str,
        *,
        size: int,
        minimum: int,
        placeholder: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.kind = kind  # the task slot: a newer selection supersedes a decode in flight
        self.size = size
        self.image = QLabel(placeholder)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(minimum, minimum)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.info)

    def pixmap(self) -> QPixmap:
        return self.image.pixmap()

    def show_image(self, path: Path, prep: Preprocessing, info: str) -> None:
        """Describe `path` at once and show it when decoded (its error text if it fails)."""
        self.info.setText(info)
        self.image.setText("Loading…")
        size = self.size
        self.runner.start(
            self.kind,
            lambda ctx: pil_to_qimage(images.load_thumbnail(path, size, prep=prep)),
            finished=self._show,
            failed=lambda error: self.image.setText(error.what),
        )

    def show_message(self, text: str, info: str) -> None:
        """No image to show (unreadable, not used): say why instead."""
        self.image.setPixmap(QPixmap())
        self.image.setText(text)
        self.info.setText(info)

    def _show(self, image: QImage) -> None:
        self.image.setPixmap(
            QPixmap.fromImage(image).scaled(
                self.image.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
