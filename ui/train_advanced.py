"""The Advanced section of the training form, folded away below the basics: model type,
balance, augmentation, fine-tuning, learning-rate schedule and TensorBoard."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from classifier.types import TrainConfig
from ui.widgets import hint, int_spin, percent_spin

MODEL_TYPE_TITLES = {
    "transfer": "Transfer learning",
    "mlp": "MLP on pixels (baseline)",
    "small_cnn": "Small CNN from scratch (baseline)",
}
SCHEDULE_TITLES = {
    "constant": "Constant",
    "cosine": "Cosine decay to zero",
    "plateau": "Halve when validation loss stalls",
}


def _heading(text: str) -> QLabel:
    return QLabel(f"<b>{text}</b>")


class AdvancedOptions(QWidget):
    """The section newcomers never need to open: model type, balance, augmentation,
    fine-tuning, learning-rate schedule and TensorBoard."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_type = QComboBox()
        for name, title in MODEL_TYPE_TITLES.items():
            self.model_type.addItem(title, name)
        self.oversample = QCheckBox("Oversample small classes")
        self.oversample.setToolTip(
            "Repeat the images of small classes until every class is as large as the largest "
            "(instead of weighting classes by rarity)."
        )
        self.copies = int_spin(0, 50)
        self.copies.setSpecialValueText("off")
        self.flips = QCheckBox("Mirror images")
        self.rotate90 = QCheckBox("Turn by 90°")
        self.rotate90.setToolTip("For images without an up, like the sky or a microscope slide.")
        self.rotation = int_spin(0, 180, suffix="°")
        self.zoom = percent_spin(0, 45, decimals=0)
        self.brightness = percent_spin(0, 90, decimals=0)
        self.contrast = percent_spin(0, 90, decimals=0)
        self.fine_tune_blocks = int_spin(0, 30)
        self.fine_tune_blocks.setSpecialValueText("off")
        self.fine_tune_epochs = int_spin(1, 500)
        self.fine_tune_rate = QDoubleSpinBox()
        self.fine_tune_rate.setDecimals(6)
        self.fine_tune_rate.setRange(0.000001, 0.1)
        self.fine_tune_rate.setSingleStep(0.00005)
        self.schedule = QComboBox()
        for name, title in SCHEDULE_TITLES.items():
            self.schedule.addItem(title, name)
        self.tensorboard = QLineEdit()
        self.tensorboard.setPlaceholderText("off")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_tensorboard)
        board_row = QHBoxLayout()
        board_row.addWidget(self.tensorboard, 1)
        board_row.addWidget(browse)

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Model type", self.model_type)
        form.addRow(
            hint(
                "Transfer learning starts from a network pretrained on millions of photos. The "
                "baselines learn from your images alone: compare them in the runs table."
            )
        )
        form.addRow(self.oversample)
        form.addRow(_heading("Augmentation"))
        form.addRow("Copies per image", self.copies)
        form.addRow(self.flips)
        form.addRow(self.rotate90)
        form.addRow("Rotate up to ±", self.rotation)
        form.addRow("Zoom in up to", self.zoom)
        form.addRow("Brightness ±", self.brightness)
        form.addRow("Contrast ±", self.contrast)
        form.addRow(
            hint(
                "Each training image gets this many changed copies. Their features are "
                "computed once and cached, so later runs are as fast as without. "
                "Validation and test images are never changed."
            )
        )
        form.addRow(_heading("Fine-tuning"))
        form.addRow("Last blocks to train", self.fine_tune_blocks)
        form.addRow("Fine-tuning epochs", self.fine_tune_epochs)
        form.addRow("Fine-tuning learning rate", self.fine_tune_rate)
        form.addRow(
            hint(
                "After the classifier converges, also train the backbone's last blocks on "
                "your images (slower: images go through the whole network every epoch). "
                "Helps when your images look nothing like everyday photos."
            )
        )
        form.addRow(_heading("Learning rate and logging"))
        form.addRow("Learning-rate schedule", self.schedule)
        form.addRow("TensorBoard folder", board_row)
        form.addRow(hint("Each run's curves are also written there for TensorBoard."))

        for spin in (
            self.copies,
            self.rotation,
            self.zoom,
            self.brightness,
            self.contrast,
            self.fine_tune_blocks,
            self.fine_tune_epochs,
            self.fine_tune_rate,
        ):
            spin.valueChanged.connect(self._changed)
        for box in (self.oversample, self.flips, self.rotate90):
            box.toggled.connect(self._changed)
        for combo in (self.model_type, self.schedule):
            combo.currentIndexChanged.connect(self._changed)
        self.tensorboard.textChanged.connect(self._changed)

    def _changed(self) -> None:
        self._sync_enabled()
        self.changed.emit()

    def _sync_enabled(self) -> None:
        transfer = self.model_type.currentData() == "transfer"
        for widget in (self.fine_tune_blocks, self.fine_tune_epochs, self.fine_tune_rate):
            widget.setEnabled(transfer)
        tuning = transfer and self.fine_tune_blocks.value() > 0
        self.fine_tune_epochs.setEnabled(tuning)
        self.fine_tune_rate.setEnabled(tuning)

    def _choose_tensorboard(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "TensorBoard folder", self.tensorboard.text()
        )
        if folder:
            self.tensorboard.setText(folder)

    def set_config(self, c: TrainConfig) -> None:
        self.model_type.setCurrentIndex(max(0, self.model_type.findData(c.model_type)))
        self.oversample.setChecked(c.oversample)
        self.copies.setValue(c.augment_copies)
        self.flips.setChecked(c.augment_flips)
        self.rotate90.setChecked(c.augment_rotate90)
        self.rotation.setValue(round(c.augment_rotation))
        self.zoom.setValue(round(c.augment_zoom * 100))
        self.brightness.setValue(round(c.augment_brightness * 100))
        self.contrast.setValue(round(c.augment_contrast * 100))
        self.fine_tune_blocks.setValue(c.fine_tune_blocks)
        self.fine_tune_epochs.setValue(c.fine_tune_epochs)
        self.fine_tune_rate.setValue(c.fine_tune_learning_rate)
        self.schedule.setCurrentIndex(max(0, self.schedule.findData(c.lr_schedule)))
        self.tensorboard.setText(c.tensorboard_dir)
        self._sync_enabled()

    def apply(self, config: TrainConfig) -> TrainConfig:
        """`config` with this section's values."""
        return replace(
            config,
            model_type=self.model_type.currentData(),
            oversample=self.oversample.isChecked(),
            augment_copies=self.copies.value(),
            augment_flips=self.flips.isChecked(),
            augment_rotate90=self.rotate90.isChecked(),
            augment_rotation=float(self.rotation.value()),
            augment_zoom=self.zoom.value() / 100,
            augment_brightness=self.brightness.value() / 100,
            augment_contrast=self.contrast.value() / 100,
            fine_tune_blocks=self.fine_tune_blocks.value(),
            fine_tune_epochs=self.fine_tune_epochs.value(),
            fine_tune_learning_rate=self.fine_tune_rate.value(),
            lr_schedule=self.schedule.currentData(),
            tensorboard_dir=self.tensorboard.text().strip(),
        )
