"""One image shown large beside a few lines about it, decoded off the GUI thread.

The Dataset and Classify areas both preview the selected image this way; decoding goes through
the core loader with the stretch the caller names, so the preview looks as the model sees it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QMouseEvent, QPixmap
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from classifier import images
from classifier.preprocessing import Preprocessing
from ui.errors import ErrorInfo
from ui.system import open_in_system_viewer
from ui.tasks import TaskRunner
from ui.thumbnails import pil_to_qimage


class ImagePreview(QWidget):
    """The image (scaled to fit) above its description (rich text, selectable); a double-click
    opens the image in the system's viewer."""

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
        self.placeholder = placeholder
        self._shown = 0  # counts what was asked to be shown: a late decode for older is dropped
        self.path: Path | None = None  # the image shown, for the system viewer
        self.image = QLabel(placeholder)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(minimum, minimum)
        self.image.setWordWrap(True)  # messages wrap instead of being cut at the edges
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
        shown = self._next()
        self.path = path
        self.info.setText(info)
        self.image.setText("Loading…")
        size = round(self.size * self.devicePixelRatioF())  # sharp on a 2x screen
        self.runner.start(
            self.kind,
            lambda ctx: pil_to_qimage(images.load_thumbnail(path, size, prep=prep)),
            finished=lambda image: self._show(shown, image),
            failed=lambda error: self._failed(shown, error),
        )

    def show_message(self, text: str, info: str) -> None:
        """No image to show (unreadable, not used): say why instead."""
        self._next()
        self.path = None
        self.image.setText(text)
        self.info.setText(info)

    def clear(self) -> None:
        """Back to the placeholder: what was shown belongs to a dataset or run now gone."""
        self.show_message(self.placeholder, "")

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.path is not None:
            open_in_system_viewer(self.path)
        super().mouseDoubleClickEvent(event)

    def _next(self) -> int:
        self._shown += 1
        self.image.setPixmap(QPixmap())
        return self._shown

    def _failed(self, shown: int, error: ErrorInfo) -> None:
        if shown == self._shown:
            self.image.setText(error.what)

    def _show(self, shown: int, image: QImage) -> None:
        if shown != self._shown:
            return  # decoded for an earlier selection
        ratio = self.image.devicePixelRatioF()
        pixmap = QPixmap.fromImage(image).scaled(
            self.image.size() * ratio,  # the label's device pixels: as crisp as the text
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        pixmap.setDevicePixelRatio(ratio)
        self.image.setPixmap(pixmap)
