"""A row's top predictions as horizontal bars, each with the key that assigns that class."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from ui import style

ROW_HEIGHT = 26
SHOWN = 5


class PredictionBars(QWidget):
    """Top classes, highest first: "3  Blue Sky  ████████  81%"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bars: list[tuple[str, str, float]] = []  # (key, class, probability)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(240)

    def set_probabilities(
        self, class_names: Sequence[str], probabilities: Sequence[float] | None
    ) -> None:
        self.bars = []
        if probabilities:
            ranked = sorted(range(len(class_names)), key=lambda i: -probabilities[i])[:SHOWN]
            self.bars = [
                (str(i + 1) if i < 9 else "", class_names[i], float(probabilities[i]))
                for i in ranked
            ]
        self.setFixedHeight(max(1, len(self.bars)) * ROW_HEIGHT)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(320, max(1, len(self.bars)) * ROW_HEIGHT)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        metrics = painter.fontMetrics()
        name_width = min(
            self.width() // 3,
            max((metrics.horizontalAdvance(n) for _, n, _ in self.bars), default=0) + 8,
        )
        key_width = metrics.horizontalAdvance("9") + 14
        percent_width = metrics.horizontalAdvance("100%") + 8
        bar_left = key_width + name_width
        bar_width = max(10, self.width() - bar_left - percent_width)
        for i, (key, name, p) in enumerate(self.bars):
            top = i * ROW_HEIGHT
            mid = QRectF(0, top, self.width(), ROW_HEIGHT)
            painter.setPen(text)
            if key:
                box = QRectF(1, top + 4, key_width - 8, ROW_HEIGHT - 8)
                painter.drawRoundedRect(box, 3, 3)
                painter.drawText(box, Qt.AlignmentFlag.AlignCenter, key)
            name_box = QRectF(key_width, top, name_width - 4, ROW_HEIGHT)
            elided = metrics.elidedText(name, Qt.TextElideMode.ElideRight, int(name_box.width()))
            painter.drawText(name_box, Qt.AlignmentFlag.AlignVCenter, elided)
            colour = style.qcolor("accent" if i == 0 else "accent_light")
            painter.fillRect(
                QRectF(bar_left, top + 6, bar_width * max(0.0, min(1.0, p)), ROW_HEIGHT - 12),
                colour,
            )
            painter.drawText(
                mid.adjusted(0, 0, -2, 0),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                f"{p:.0%}",
            )
        painter.end()
