"""Small widgets shared by the views."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from classifier.progress import Progress
from classifier.textprogress import progress_line
from ui import style
from ui.thumbnails import ThumbnailLoader


class TaskProgress(QWidget):
    """A progress bar that says done/total, rate and time left, with a Cancel button."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.cancel_button)
        self.setVisible(False)

    def start(self, text: str) -> None:
        self.bar.setRange(0, 0)  # busy until the first report says how much there is
        self.bar.setFormat(text)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.setVisible(True)

    def update_progress(self, p: Progress) -> None:
        if p.total:
            self.bar.setRange(0, p.total)
            self.bar.setValue(min(p.done, p.total))
        else:
            self.bar.setRange(0, 0)
        self.bar.setFormat(progress_line(p))  # QProgressBar only expands %p, %v and %m

    def finish(self) -> None:
        self.setVisible(False)

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        self.cancel_requested.emit()


class ThumbnailStrip(QListWidget):
    """A few images with captions (e.g. the test images behind a confusion-matrix cell)."""

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setWordWrap(True)
        size = loader.size
        self.setIconSize(QSize(size, size))
        self.setGridSize(QSize(size + 40, size + 44))
        self._items: dict[Path, QListWidgetItem] = {}
        placeholder = QPixmap(size, size)
        placeholder.fill(style.qcolor("neutral", 60))
        self._placeholder = placeholder
        loader.loaded.connect(self._on_loaded)

    def show_items(self, items: list[tuple[Path, str, str]]) -> None:
        """(path, caption, tooltip) per image."""
        self.clear()
        self._items.clear()
        self.loader.new_generation()
        for path, caption, tooltip in items:
            item = QListWidgetItem(caption)
            item.setToolTip(tooltip)
            item.setData(Qt.ItemDataRole.UserRole, path)
            known, pixmap = self.loader.cached(path)
            item.setIcon(pixmap if known and pixmap is not None else self._placeholder)
            if not known:
                self.loader.request(path)
            self._items[path] = item
            self.addItem(item)

    def _on_loaded(self, path: Path, pixmap) -> None:
        item = self._items.get(path)
        if item is not None and pixmap is not None:
            item.setIcon(pixmap)
            self.viewport().update()  # a smaller image leaves the placeholder's edge otherwise


def hint(text: str) -> QLabel:
    """A short grey explanation under a form field."""
    label = QLabel(text)
    label.setWordWrap(True)
    style.set_role(label, "hint")  # grey and small: resources/style.qss
    return label


def percent_spin(
    low: float, high: float, *, decimals: int = 1, step: float = 1.0
) -> QDoubleSpinBox:
    """A spin box for a percentage between `low` and `high`, shown with a % sign."""
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setSuffix(" %")
    return spin


def int_spin(low: int, high: int, value: int = 0, suffix: str = "") -> QSpinBox:
    """A spin box for a whole number between `low` and `high`."""
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setSuffix(suffix)
    return spin


def two_lines(name: str, longer_than: int = 10) -> str:
    """A heading on at most two lines: a long name with spaces breaks at its middle space, so
    tables stay narrow enough to show every column without scrolling."""
    words = name.split(" ")
    if len(name) <= longer_than or len(words) < 2:
        return name
    cut = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(name) / 2))
    return " ".join(words[:cut]) + "\n" + " ".join(words[cut:])
