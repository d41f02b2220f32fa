"""The training form: every option of a run with a sensible default and a one-line explanation,
the Advanced section (model type, balance, augmentation, fine-tuning, schedule, TensorBoard)
folded away below the basics."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSpinBox,
    QWidget,
)

from classifier.backbones import DEFAULT_BACKBONE, KERAS_APPS, listed_backbones
from classifier.errors import SortscopeError
from classifier.train import validate_config
from classifier.types import OPTIMIZERS, TrainConfig
from ui.widgets import hint, percent_spin

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


def _spin(low: int, high: int, value: int = 0, suffix: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setSuffix(suffix)
    return spin


def _heading(text: str) -> QLabel:
    return QLabel(f"<b>{text}</b>")


class TrainForm(QWidget):
    """Every training option with a sensible default and a one-line explanation."""

    changed = Signal()
    weights_requested = Signal(str, str)  # backbone name, "download" or "import"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        d = TrainConfig()
        self.backbone = QComboBox()
        self.backbone.setModel(QStandardItemModel())
        # Long titles must not widen the whole form: the combo shows what fits.
        self.backbone.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.backbone.setMinimumContentsLength(14)
        # A push button leaves room for its menu arrow (a tool button draws it over the text).
        self.get_weights = QPushButton("Get weights…")
        self.get_weights.setToolTip(
            "Download the ImageNet weights of another backbone, or import a copy of the file "
            "(for computers without internet)."
        )
        self.get_weights.setMenu(QMenu(self.get_weights))
        self.refresh_backbones()
        self.epochs = _spin(1, 1000, d.epochs)
        self.batch_size = _spin(1, 4096, d.batch_size)
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(5)
        self.learning_rate.setRange(0.00001, 1.0)
        self.learning_rate.setSingleStep(0.0005)
        self.optimizer = QComboBox()
        for name in OPTIMIZERS:
            self.optimizer.addItem(
                {"adam": "Adam", "sgd": "SGD with momentum", "rmsprop": "RMSprop"}[name], name
            )
        self.validation = percent_spin(0.0, 45.0)
        self.test = percent_spin(0.0, 45.0)
        self.class_weights = QCheckBox("Weight classes by rarity")
        self.hidden = QCheckBox("Add a hidden layer")
        self.hidden_units = _spin(8, 4096, 256)
        self.dropout = QDoubleSpinBox()
        self.dropout.setRange(0.0, 0.9)
        self.dropout.setSingleStep(0.05)
        self.early_stopping = QCheckBox("Stop when validation loss stops improving")
        self.patience = _spin(1, 100, d.patience)
        self.seed = _spin(0, 2_147_483_647, d.seed)
        self.error = QLabel()
        self.error.setStyleSheet("color: #d64545; font-weight: bold;")
        self.error.setWordWrap(True)

        form = QFormLayout(self)
        backbone_row = QHBoxLayout()
        backbone_row.addWidget(self.backbone, 1)
        backbone_row.addWidget(self.get_weights)
        form.addRow("Backbone", backbone_row)
        form.addRow(
            hint(
                "The pretrained network that turns each image into features. "
                "EfficientNet-Lite0 ships with Sortscope and works offline."
            )
        )
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Learning rate", self.learning_rate)
        form.addRow("Optimizer", self.optimizer)
        form.addRow(
            hint(
                "Passes over the training images, images per step, and step size. "
                "The defaults suit most datasets."
            )
        )
        form.addRow("Validation %", self.validation)
        form.addRow("Test %", self.test)
        form.addRow(
            hint(
                "Held-out shares of each class: validation guides training, the test "
                "images give the final, honest score."
            )
        )
        form.addRow(self.class_weights)
        form.addRow(self.hidden)
        form.addRow("Hidden units", self.hidden_units)
        form.addRow("Dropout", self.dropout)
        form.addRow(self.early_stopping)
        form.addRow("Patience (epochs)", self.patience)
        form.addRow("Random seed", self.seed)
        form.addRow(hint("The same data and seed give the same model and the same numbers."))
        self.advanced = AdvancedOptions()
        self.advanced_toggle = QPushButton("Advanced options ▸")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setFlat(True)
        self.advanced_toggle.toggled.connect(self._show_advanced)
        self.advanced.setVisible(False)
        form.addRow(self.advanced_toggle)
        form.addRow(self.advanced)
        form.addRow(self.error)
        self.hidden.toggled.connect(self._sync_enabled)
        self.early_stopping.toggled.connect(self._sync_enabled)
        for widget in (
            self.epochs,
            self.batch_size,
            self.learning_rate,
            self.validation,
            self.test,
            self.hidden_units,
            self.dropout,
            self.patience,
            self.seed,
        ):
            widget.valueChanged.connect(self.changed)
        for box in (self.class_weights, self.hidden, self.early_stopping):
            box.toggled.connect(self.changed)
        self.backbone.currentIndexChanged.connect(self.changed)
        self.optimizer.currentIndexChanged.connect(self.changed)
        self.advanced.changed.connect(self._sync_enabled)
        self.advanced.changed.connect(self.changed)
        self.changed.connect(self.check)
        self.set_config(d)

    def _sync_enabled(self) -> None:
        self.hidden_units.setEnabled(self.hidden.isChecked())
        self.dropout.setEnabled(self.hidden.isChecked())
        self.patience.setEnabled(self.early_stopping.isChecked())
        self.backbone.setEnabled(self.advanced.model_type.currentData() == "transfer")
        self.class_weights.setEnabled(not self.advanced.oversample.isChecked())

    def _show_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setText("Advanced options ▾" if shown else "Advanced options ▸")

    def refresh_backbones(self) -> None:
        """List the backbones with their availability now (e.g. after weights arrived)."""
        chosen = self.backbone.currentData()
        model = self.backbone.model()
        self.backbone.blockSignals(True)
        self.backbone.clear()
        menu = self.get_weights.menu()
        menu.clear()
        for b in listed_backbones():
            status = b.availability()
            self.backbone.addItem(
                b.title if status.available else f"{b.title} (unavailable)", b.name
            )
            item = model.item(model.rowCount() - 1)
            item.setEnabled(status.available)
            item.setToolTip(b.description if status.available else status.reason)
            if not status.available and b.name in KERAS_APPS:
                megabytes = KERAS_APPS[b.name][3].megabytes
                for action, text in (
                    ("download", f"Download {b.title} weights (about {megabytes} MB)"),
                    ("import", f"Import {b.title} weights from a file…"),
                ):
                    menu.addAction(text).triggered.connect(
                        lambda _=False, n=b.name, a=action: self.weights_requested.emit(n, a)
                    )
        self.get_weights.setEnabled(not menu.isEmpty())
        index = self.backbone.findData(chosen)
        self.backbone.setCurrentIndex(index if index >= 0 else 0)
        self.backbone.blockSignals(False)

    def set_config(self, c: TrainConfig) -> None:
        index = self.backbone.findData(c.backbone)
        self.backbone.setCurrentIndex(index if index >= 0 else 0)
        self.epochs.setValue(c.epochs)
        self.batch_size.setValue(c.batch_size)
        self.learning_rate.setValue(c.learning_rate)
        self.optimizer.setCurrentIndex(max(0, self.optimizer.findData(c.optimizer)))
        self.validation.setValue(c.validation_percent)
        self.test.setValue(c.test_percent)
        self.class_weights.setChecked(c.class_weights)
        self.hidden.setChecked(c.hidden_units > 0)
        if c.hidden_units:
            self.hidden_units.setValue(c.hidden_units)
        self.dropout.setValue(c.dropout)
        self.early_stopping.setChecked(c.early_stopping)
        self.patience.setValue(c.patience)
        self.seed.setValue(c.seed)
        self.advanced.set_config(c)
        self._sync_enabled()
        self.check()

    def config(self) -> TrainConfig:
        return self.advanced.apply(self._basic_config())

    def _basic_config(self) -> TrainConfig:
        return TrainConfig(
            backbone=self.backbone.currentData() or DEFAULT_BACKBONE,
            epochs=self.epochs.value(),
            batch_size=self.batch_size.value(),
            learning_rate=self.learning_rate.value(),
            optimizer=self.optimizer.currentData(),
            validation_percent=self.validation.value(),
            test_percent=self.test.value(),
            hidden_units=self.hidden_units.value() if self.hidden.isChecked() else 0,
            dropout=self.dropout.value(),
            early_stopping=self.early_stopping.isChecked(),
            patience=self.patience.value(),
            class_weights=self.class_weights.isChecked(),
            seed=self.seed.value(),
        )

    def check(self) -> bool:
        """Show what is wrong with the current values, in the form; True when they are fine."""
        try:
            validate_config(self.config())
        except SortscopeError as exc:
            self.error.setText(exc.what)
            return False
        self.error.setText("")
        return True


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
        self.copies = _spin(0, 50)
        self.copies.setSpecialValueText("off")
        self.flips = QCheckBox("Mirror images")
        self.rotate90 = QCheckBox("Turn by 90°")
        self.rotate90.setToolTip("For images without an up, like the sky or a microscope slide.")
        self.rotation = _spin(0, 180, suffix="°")
        self.zoom = percent_spin(0, 45, decimals=0)
        self.brightness = percent_spin(0, 90, decimals=0)
        self.contrast = percent_spin(0, 90, decimals=0)
        self.fine_tune_blocks = _spin(0, 30)
        self.fine_tune_blocks.setSpecialValueText("off")
        self.fine_tune_epochs = _spin(1, 500)
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
