"""The training form: every option of a run with a sensible default, a one-line explanation and
the plain version of its term on hover; the Advanced section (`train_advanced`) folded away
below the basics."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QMenu,
    QPushButton,
    QWidget,
)

from classifier.backbones import DEFAULT_BACKBONE, KERAS_APPS, listed_backbones
from classifier.errors import SortscopeError
from classifier.train import validate_config
from classifier.types import OPTIMIZERS, TrainConfig
from ui import style
from ui.train_advanced import AdvancedOptions
from ui.widgets import hint, int_spin, percent_spin

# The plain version of each term of the form, shown on hover over the field and its label.
FIELD_HELP = {
    "backbone": "Backbone: the pretrained network that turns each image into a list of numbers "
    "(features) describing it. Sortscope learns your classes from those numbers; the backbone "
    "itself stays as it is unless you fine-tune it (Advanced options).",
    "speed": "Speed: fast (int8) runs the backbone as an 8-bit integer copy of itself, fed by "
    "a cheaper JPEG decode: classifying and feature extraction take about half the time. Its "
    "features differ a little from the standard network's, which can cost some accuracy. "
    "Recorded in the model, so it classifies the same way later. Not with fine-tuning.",
    "epochs": "Epochs: how many times training goes through all the training images. More "
    "epochs learn more, up to a point; early stopping ends sooner when validation stops "
    "improving.",
    "batch_size": "Batch size: how many images the model looks at before each small correction.",
    "learning_rate": "Learning rate: how large each correction is. Too high and training jumps "
    "around; too low and it learns slowly.",
    "optimizer": "Optimizer: the method that corrects the model after each batch. Adam adjusts "
    "its own step sizes and suits almost every dataset.",
    "validation": "Validation images are not trained on: after each epoch they show how well "
    "the model does on images it has not seen, and guide early stopping.",
    "test": "Test images are set aside until the end: the final, honest score is measured on them.",
    "hidden_units": "A hidden layer lets the classifier combine features before deciding; it "
    "helps little with few images.",
    "dropout": "Dropout: the share of the hidden layer switched off at random while training, "
    "so the model cannot rely on a few features (less memorising).",
    "patience": "Patience: how many epochs without improvement of the validation loss before "
    "training stops (the best epoch's weights are kept).",
}

# What Speed: fast buys and costs, measured (bench/README.md, "Speed: fast (int8)").
SPEED_HINT = (
    "Fast (int8): classifying new images takes about half the time (1.9-2.05x the images per "
    "second here); it may cost a little accuracy (our benchmark: 0 to 4 of 82 test images). "
    "Not with fine-tuning."
)


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
        self.speed = QComboBox()
        self.speed.addItem("Standard", False)
        self.speed.addItem("Fast (int8)", True)
        self.epochs = int_spin(1, 1000, d.epochs)
        self.batch_size = int_spin(1, 4096, d.batch_size)
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
        self.hidden_units = int_spin(8, 4096, 256)
        self.dropout = QDoubleSpinBox()
        self.dropout.setRange(0.0, 0.9)
        self.dropout.setSingleStep(0.05)
        self.early_stopping = QCheckBox("Stop when validation loss stops improving")
        self.patience = int_spin(1, 100, d.patience)
        self.seed = int_spin(0, 2_147_483_647, d.seed)
        self.error = QLabel()
        style.set_role(self.error, "error")
        self.error.setWordWrap(True)

        form = QFormLayout(self)
        self._form = form
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
        form.addRow("Speed", self.speed)
        form.addRow(hint(SPEED_HINT))
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
        self.explain(self.backbone, FIELD_HELP["backbone"], backbone_row)
        for name, text in FIELD_HELP.items():
            if name != "backbone":
                self.explain(getattr(self, name), text)
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
        self.speed.currentIndexChanged.connect(self.changed)
        self.optimizer.currentIndexChanged.connect(self.changed)
        self.advanced.changed.connect(self._sync_enabled)
        self.advanced.changed.connect(self.changed)
        self.changed.connect(self.check)
        self.set_config(d)

    def explain(self, field: QWidget, text: str, row: QWidget | QLayout | None = None) -> None:
        """The plain version of a field's term, on the field and on its label (`row`: what
        the form row holds when the field sits in a layout with others)."""
        field.setToolTip(text)
        label = self._form.labelForField(row or field)
        if label is not None:
            label.setToolTip(text)

    def _sync_enabled(self) -> None:
        self.hidden_units.setEnabled(self.hidden.isChecked())
        self.dropout.setEnabled(self.hidden.isChecked())
        self.patience.setEnabled(self.early_stopping.isChecked())
        self.backbone.setEnabled(self.advanced.model_type.currentData() == "transfer")
        self.speed.setEnabled(self.advanced.model_type.currentData() == "transfer")
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
        self.speed.setCurrentIndex(1 if c.int8 else 0)
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
            int8=bool(self.speed.currentData())
            and self.advanced.model_type.currentData() == "transfer",
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
