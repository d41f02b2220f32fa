"""The stretch selector: how FITS and 16-bit images are shown and how training will see them."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from classifier.preprocessing import STRETCHES, Preprocessing, parse_hdu
from ui.widgets import percent_spin

TITLES = {
    "auto": "Automatic",
    "linear": "Linear (full range)",
    "percentile": "Percentile clip",
    "asinh": "Asinh",
    "zscale": "ZScale",
}


class StretchControls(QWidget):
    """Stretch, clip percentiles and FITS extension; emits a Preprocessing on every change."""

    changed = Signal(object)  # Preprocessing

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel()
        self.stretch = QComboBox()
        for name, text in STRETCHES.items():
            self.stretch.addItem(TITLES[name], name)
            self.stretch.setItemData(self.stretch.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self.stretch.setToolTip(
            "How data with more than 8 bits per pixel becomes the image the network sees. "
            "The model remembers it and classifies new images the same way."
        )
        self.low = percent_spin(0.0, 49.9, step=0.5)
        self.high = percent_spin(50.1, 100.0, step=0.5)
        for spin in (self.low, self.high):
            spin.setKeyboardTracking(False)  # one change per finished number, not per keystroke
        self.low.setToolTip("Pixels darker than this percentile become black")
        self.high.setToolTip("Pixels brighter than this percentile become white")
        self.hdu = QLineEdit()
        self.hdu.setPlaceholderText("first image")
        self.hdu.setFixedWidth(120)
        self.hdu.setToolTip(
            "Which FITS extension to read from every file, by name (e.g. SCI) or number. "
            "Empty: the first extension that holds an image."
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addSpacing(12)
        layout.addWidget(QLabel("Stretch"))
        layout.addWidget(self.stretch)
        self.clip_label = QLabel("clip")
        layout.addWidget(self.clip_label)
        layout.addWidget(self.low)
        layout.addWidget(QLabel("–"))
        layout.addWidget(self.high)
        layout.addSpacing(12)
        layout.addWidget(QLabel("FITS extension"))
        layout.addWidget(self.hdu)
        layout.addStretch()
        self.set_preprocessing(Preprocessing())
        self.stretch.currentIndexChanged.connect(self._emit)
        self.low.valueChanged.connect(self._emit)
        self.high.valueChanged.connect(self._emit)
        self.hdu.editingFinished.connect(self._emit)

    def preprocessing(self) -> Preprocessing:
        return Preprocessing(
            self.stretch.currentData(),
            self.low.value(),
            self.high.value(),
            parse_hdu(self.hdu.text()),
        )

    def set_preprocessing(self, prep: Preprocessing) -> None:
        for widget in (self.stretch, self.low, self.high, self.hdu):
            widget.blockSignals(True)
        self.stretch.setCurrentIndex(max(0, self.stretch.findData(prep.stretch)))
        self.low.setValue(prep.low_percent)
        self.high.setValue(prep.high_percent)
        self.hdu.setText("" if prep.hdu is None else str(prep.hdu))
        for widget in (self.stretch, self.low, self.high, self.hdu):
            widget.blockSignals(False)
        self._sync_enabled()

    def _sync_enabled(self) -> None:
        uses_clip = self.stretch.currentData() in ("auto", "percentile", "asinh")
        for widget in (self.clip_label, self.low, self.high):
            widget.setEnabled(uses_clip)

    def _emit(self) -> None:
        self._sync_enabled()
        self.changed.emit(self.preprocessing())
