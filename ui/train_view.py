"""The Train area: set up a run, watch it learn, and click through an honest evaluation.

The run is the core's `train()` in a background task, exactly as `sortscope train` runs it; this
view only turns its epoch reports into curves and its evaluation into tables.
`python -m ui.train_view DATASET` opens the view alone.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QColor, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from classifier.backbones import DEFAULT_BACKBONE, KERAS_APPS, get_backbone, listed_backbones
from classifier.errors import SortscopeError
from classifier.modelfile import save_model
from classifier.progress import Progress
from classifier.train import TrainOutcome, train, validate_config
from classifier.types import OPTIMIZERS, EpochStats, Evaluation, TrainConfig
from ui.errors import show_error
from ui.state import AppState
from ui.tasks import ErrorInfo, TaskRunner
from ui.thumbnails import ThumbnailLoader
from ui.train_options import MODEL_TYPE_TITLES, AdvancedOptions, run_summary
from ui.widgets import TaskProgress, ThumbnailStrip, hint

CURVE_COLOURS = {"train": "#3b82c4", "validation": "#d9822b"}


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
        self.epochs = self._spin(1, 1000, d.epochs)
        self.batch_size = self._spin(1, 4096, d.batch_size)
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(5)
        self.learning_rate.setRange(0.00001, 1.0)
        self.learning_rate.setSingleStep(0.0005)
        self.optimizer = QComboBox()
        for name in OPTIMIZERS:
            self.optimizer.addItem(
                {"adam": "Adam", "sgd": "SGD with momentum", "rmsprop": "RMSprop"}[name], name
            )
        self.validation = self._percent()
        self.test = self._percent()
        self.class_weights = QCheckBox("Weight classes by rarity")
        self.hidden = QCheckBox("Add a hidden layer")
        self.hidden_units = self._spin(8, 4096, 256)
        self.dropout = QDoubleSpinBox()
        self.dropout.setRange(0.0, 0.9)
        self.dropout.setSingleStep(0.05)
        self.early_stopping = QCheckBox("Stop when validation loss stops improving")
        self.patience = self._spin(1, 100, d.patience)
        self.seed = self._spin(0, 2_147_483_647, d.seed)
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

    @staticmethod
    def _spin(low: int, high: int, value: int) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setValue(value)
        return spin

    @staticmethod
    def _percent() -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(0.0, 45.0)
        spin.setDecimals(1)
        spin.setSuffix(" %")
        return spin

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


class CurvePlot(pg.PlotWidget):
    """Training and validation curves of one metric, one point per epoch."""

    def __init__(self, title: str, ylabel: str) -> None:
        super().__init__()
        self.setBackground(None)
        item = self.getPlotItem()
        item.setTitle(title)
        item.setLabel("bottom", "epoch")
        item.setLabel("left", ylabel)
        item.showGrid(x=True, y=True, alpha=0.2)
        # Loss falls and accuracy rises: keep each legend in the corner its curves leave free.
        self.rising = ylabel == "share correct"
        item.addLegend(offset=(-10, -10) if self.rising else (-10, 10))
        self.curves = {
            name: item.plot(
                [],
                [],
                name=name,
                pen=pg.mkPen(colour, width=2),
                symbol="o",
                symbolSize=5,
                symbolBrush=colour,
                symbolPen=None,
            )
            for name, colour in CURVE_COLOURS.items()
        }
        self.points: dict[str, tuple[list[float], list[float]]] = {
            name: ([], []) for name in self.curves
        }
        self.stage_marks: list[pg.InfiniteLine] = []

    def clear_points(self) -> None:
        for name, curve in self.curves.items():
            self.points[name] = ([], [])
            curve.setData([], [])
        for mark in self.stage_marks:
            self.removeItem(mark)
        self.stage_marks.clear()

    def mark_stage(self, before_epoch: int, stage: str) -> None:
        """A dashed line where a new stage (e.g. fine-tuning) begins."""
        mark = pg.InfiniteLine(
            before_epoch - 0.5,
            angle=90,
            pen=pg.mkPen("#888888", style=Qt.PenStyle.DashLine),
            label=stage,
            # Accuracy curves rise to the top and loss curves fall: label where they are not.
            labelOpts={"position": 0.08 if self.rising else 0.95, "color": "#666666"},
        )
        self.addItem(mark)
        self.stage_marks.append(mark)

    def add_point(self, name: str, epoch: int, value: float | None) -> None:
        if value is None:
            return
        xs, ys = self.points[name]
        xs.append(epoch)
        ys.append(value)
        self.curves[name].setData(xs, ys)


class ConfusionTable(QTableWidget):
    """The confusion matrix as a heat-map; clicking a cell asks for the images behind it."""

    cell_chosen = Signal(str, str)  # true class, predicted class

    def __init__(self) -> None:
        super().__init__()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.cellClicked.connect(self._clicked)
        self.classes: tuple[str, ...] = ()

    def show_matrix(self, evaluation: Evaluation) -> None:
        self.classes = evaluation.classes
        n = len(self.classes)
        self.setRowCount(n)
        self.setColumnCount(n)
        self.setHorizontalHeaderLabels([f"predicted {c}" for c in self.classes])
        self.setVerticalHeaderLabels(list(self.classes))
        for i, row in enumerate(evaluation.confusion_matrix):
            total = sum(row) or 1
            for j, count in enumerate(row):
                share = count / total
                item = QTableWidgetItem(str(count))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                base = (59, 130, 196) if i == j else (214, 69, 69)
                alpha = int(40 + 200 * share) if count else 0
                item.setBackground(QColor(*base, alpha))
                item.setToolTip(f"true {self.classes[i]}, predicted {self.classes[j]}: {count}")
                self.setItem(i, j, item)

    def _clicked(self, row: int, column: int) -> None:
        if row < len(self.classes) and column < len(self.classes):
            self.cell_chosen.emit(self.classes[row], self.classes[column])


def model_title(config: TrainConfig) -> str:
    """What was trained, in a few words: 'EfficientNet-Lite0 + last 2 blocks', 'Small CNN'."""
    if config.model_type != "transfer":
        return MODEL_TYPE_TITLES[config.model_type].split(" (")[0]
    title = get_backbone(config.backbone).title
    if config.fine_tune_blocks:
        title += f" + last {config.fine_tune_blocks} block(s) fine-tuned"
    return title


def fine_tune_epochs(config: TrainConfig) -> int:
    return (
        config.fine_tune_epochs
        if config.fine_tune_blocks and config.model_type == "transfer"
        else 0
    )


def summary_text(evaluation: Evaluation) -> str:
    """The evaluation in plain words, model beside the do-nothing baseline."""
    if evaluation.n_images == 0:
        return (
            "<b>No test images</b>: set Test % above zero to get an honest score on images "
            "the model never saw."
        )
    verdict = (
        "clearly better than"
        if evaluation.accuracy > evaluation.baseline_accuracy + 0.1
        else "not much better than"
        if evaluation.accuracy > evaluation.baseline_accuracy
        else "no better than"
    )
    return (
        f"<span style='font-size:15px'><b>{evaluation.accuracy:.1%}</b> of "
        f"{evaluation.n_images} held-out test images classified correctly</span> "
        f"(balanced accuracy {evaluation.balanced_accuracy:.1%}, which weighs every class "
        f"equally).<br>Always answering <i>{evaluation.baseline_class}</i> would score "
        f"{evaluation.baseline_accuracy:.1%}: the model is {verdict} that baseline. "
        f"{len(evaluation.misclassified)} test image(s) were misclassified; click a cell of "
        "the matrix to see them."
    )


class TrainView(QWidget):
    def __init__(
        self,
        state: AppState,
        runner: TaskRunner,
        settings: QSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.runner = runner
        self.settings = settings
        self.runs: list[tuple[TrainConfig, TrainOutcome, Path | None]] = []
        self.current: TrainOutcome | None = None
        self._last_stage = ""  # of the last epoch shown: a new stage gets a mark on the curves
        self.loader = ThumbnailLoader(parent=self)
        self._build()
        state.scan_changed.connect(self._scan_changed)
        state.preprocessing_changed.connect(lambda _: self._scan_changed(state.scan))
        self._scan_changed(state.scan)

    # --- layout -----------------------------------------------------------------------

    def _build(self) -> None:
        self.form = TrainForm()
        self.form.changed.connect(self._form_changed)
        self.form.weights_requested.connect(self.get_weights)
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(400)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.dataset_label = QLabel()
        self.dataset_label.setWordWrap(True)
        self.start_button = QPushButton("Start training")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        defaults = QPushButton("Restore defaults")
        defaults.clicked.connect(lambda: self.form.set_config(TrainConfig()))
        buttons = QHBoxLayout()
        buttons.addWidget(defaults)
        buttons.addStretch()
        buttons.addWidget(self.start_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.dataset_label)
        left_layout.addWidget(scroll, 1)
        left_layout.addLayout(buttons)

        self.stage = QLabel("Ready.")
        self.progress = TaskProgress()
        self.progress.cancel_requested.connect(lambda: self.runner.cancel("train"))
        self.loss_plot = CurvePlot("Loss (lower is better)", "cross-entropy")
        self.accuracy_plot = CurvePlot("Accuracy", "share correct")
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.accuracy_plot)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)

        self.summary = QLabel("Results appear here when a run finishes.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.per_class = QTableWidget(0, 5)
        self.per_class.setHorizontalHeaderLabels(
            ["Class", "Precision", "Recall", "F1", "Test images"]
        )
        self.per_class.verticalHeader().setVisible(False)
        self.per_class.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.per_class.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.confusion = ConfusionTable()
        self.confusion.cell_chosen.connect(self.show_cell)
        self.cell_title = QLabel(
            "Click a cell of the matrix (rows: true class, columns: "
            "predicted) to see its test images."
        )
        self.cell_title.setWordWrap(True)
        self.cell_images = ThumbnailStrip(self.loader)
        self.save_button = QPushButton("Save model…")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save)
        tables = QSplitter(Qt.Orientation.Horizontal)
        tables.addWidget(self.per_class)
        tables.addWidget(self.confusion)
        results = QWidget()
        results_layout = QVBoxLayout(results)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignTop)
        results_layout.addLayout(top)
        results_layout.addWidget(tables, 2)
        results_layout.addWidget(self.cell_title)
        results_layout.addWidget(self.cell_images, 2)

        self.runs_table = QTableWidget(0, 9)
        self.runs_table.setHorizontalHeaderLabels(
            [
                "#",
                "Model",
                "Epochs",
                "Learning rate",
                "Optimizer",
                "Hidden",
                "Balance, augmentation, schedule",
                "Test accuracy (baseline)",
                "Saved as",
            ]
        )
        self.runs_table.verticalHeader().setVisible(False)
        self.runs_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.runs_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.runs_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.runs_table.horizontalHeader().setStretchLastSection(True)
        self.runs_table.cellClicked.connect(lambda row, _c: self.show_run(row))

        running = QWidget()
        running_layout = QVBoxLayout(running)
        running_layout.addLayout(plots, 3)
        running_layout.addWidget(self.log, 1)
        self.pages = QTabWidget()
        self.pages.addTab(running, "Progress")
        self.pages.addTab(results, "Results")
        self.pages.addTab(self.runs_table, "Runs this session")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.stage)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.pages, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([440, 900])
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # --- state ------------------------------------------------------------------------

    def _scan_changed(self, scan) -> None:
        if scan is None:
            self.dataset_label.setText("<b>No dataset open.</b> Open one in the Dataset area.")
        else:
            text = (
                f"<b>{scan.root.name}</b>: {len(scan.images)} images in {len(scan.classes)} classes"
            )
            if scan.high_range_images:
                text += (
                    f"<br>FITS and 16-bit images are stretched with "
                    f"<b>{self.state.preprocessing.summary()}</b> (change it in the Dataset area)"
                )
            self.dataset_label.setText(text)
        self._form_changed()

    def _form_changed(self) -> None:
        config = self.form.config()
        self.state.set_split(config.split)
        busy = self.runner.is_running("train")
        scan = self.state.scan
        self.start_button.setEnabled(
            not busy and scan is not None and scan.usable and self.form.check()
        )

    def _say(self, text: str) -> None:
        self.log.appendPlainText(text)

    # --- running ----------------------------------------------------------------------

    def start(self) -> None:
        scan = self.state.scan
        if scan is None or not self.form.check():
            return
        # The stretch is chosen where its effect is visible: in the dataset browser.
        config = self.form.config().with_preprocessing(self.state.preprocessing)
        self.loss_plot.clear_points()
        self.accuracy_plot.clear_points()
        self._last_stage = ""
        self.pages.setCurrentIndex(0)
        self.log.clear()
        self._say(
            f"Training on {len(scan.images)} images of {len(scan.classes)} classes: "
            f"{model_title(config)}."
        )
        if config.model_type == "small_cnn":
            self._say("First the images are loaded once, then the network trains on them.")
            self.stage.setText("Loading images")
        else:
            self._say("First image features are computed (images seen before come from the cache).")
            self.stage.setText("Extracting features")
        self.progress.start("Starting…")
        self.start_button.setEnabled(False)
        self.runner.start(
            "train",
            lambda ctx: train(
                scan,
                config,
                progress=ctx.progress,
                on_epoch=ctx.partial,
                cancel=ctx.cancel,
                on_batch=ctx.progress,
            ),
            progressed=self._progressed,
            partial=self._epochs,
            finished=lambda outcome: self._finished(config, outcome),
            failed=self._failed,
            cancelled=self._cancelled,
        )
        self.state.status.emit("Training…")

    def _progressed(self, p: Progress) -> None:
        if p.stage == "Training":
            self.stage.setText(f"Training ({p.message})")
        elif p.stage == "Loading images":
            self.stage.setText("Loading images for training from pixels")
        elif p.stage == "Augmenting images":
            self.stage.setText("Computing features of augmented copies (cached for next time)")
        self.progress.update_progress(p)

    # --- backbone weights -------------------------------------------------------------

    def get_weights(self, name: str, action: str) -> None:
        """Download or import a Keras backbone's weights in the background."""
        from classifier import weights

        path = ""
        if action == "import":
            path, _ = QFileDialog.getOpenFileName(
                self, "Import weights file", str(Path.home()), "Keras weights (*.h5);;All (*)"
            )
            if not path:
                return

        def job(ctx):
            if path:
                return weights.import_weights(name, path)
            return weights.download_weights(name, ctx.progress, ctx.cancel)

        self.progress.start("Getting weights…")
        self.stage.setText("Getting backbone weights")

        def done(installed) -> None:
            self.progress.finish()
            self.form.refresh_backbones()
            self.stage.setText("Ready.")
            self._say(f"Weights installed: {installed}")

        def failed(info: ErrorInfo) -> None:
            self.progress.finish()
            self.stage.setText("Ready.")
            show_error(self, info)

        self.runner.start(
            "weights",
            job,
            progressed=self.progress.update_progress,
            finished=done,
            failed=failed,
            cancelled=lambda: (self.progress.finish(), self.stage.setText("Ready.")),
        )

    def _epochs(self, epochs: list[EpochStats]) -> None:
        for e in epochs:
            if e.epoch > 1 and e.stage != self._last_stage:
                for plot in (self.loss_plot, self.accuracy_plot):
                    plot.mark_stage(e.epoch, e.stage)
            self._last_stage = e.stage
            self.loss_plot.add_point("train", e.epoch, e.loss)
            self.loss_plot.add_point("validation", e.epoch, e.val_loss)
            self.accuracy_plot.add_point("train", e.epoch, e.accuracy)
            self.accuracy_plot.add_point("validation", e.epoch, e.val_accuracy)
            stage = "" if e.stage == "head" else f" ({e.stage})"
            line = (
                f"Epoch {e.epoch}/{e.epochs}{stage}: loss {e.loss:.3f}, accuracy {e.accuracy:.1%}"
            )
            if e.val_loss is not None:
                line += f"; validation loss {e.val_loss:.3f}, accuracy {e.val_accuracy:.1%}"
            self._say(line)

    def _done(self) -> None:
        self.progress.finish()
        self._form_changed()

    def _finished(self, config: TrainConfig, outcome: TrainOutcome) -> None:
        self._done()
        if outcome.stopped_early:
            self._say(
                f"Stopped early: validation loss had not improved for {config.patience} "
                f"epochs; kept the weights of epoch {outcome.best_epoch}."
            )
        if outcome.problems:
            self._say(f"{len(outcome.problems)} image(s) could not be read and were skipped.")
        if outcome.extraction is not None:
            self._say(f"Image features: {outcome.extraction.breakdown()}.")
        self._say(
            f"Test accuracy {outcome.evaluation.accuracy:.1%} "
            f"(baseline {outcome.evaluation.baseline_accuracy:.1%})."
        )
        self.stage.setText("Finished. Review the results, then save the model.")
        self.runs.append((config, outcome, None))
        self._add_run_row(len(self.runs) - 1)
        self.show_run(len(self.runs) - 1)
        self.state.status.emit(
            f"Training finished: test accuracy {outcome.evaluation.accuracy:.1%}"
        )

    def _failed(self, info: ErrorInfo) -> None:
        self._done()
        self.stage.setText("Training failed.")
        self._say(f"Failed: {info.what}")
        show_error(self, info)

    def _cancelled(self) -> None:
        self._done()
        self.stage.setText("Cancelled. Nothing was saved; any earlier model is unchanged.")
        self._say("Cancelled by you. Features computed so far stay cached for the next run.")
        self.state.status.emit("Training cancelled")

    # --- results ----------------------------------------------------------------------

    def _add_run_row(self, index: int) -> None:
        config, outcome, saved = self.runs[index]
        ev = outcome.evaluation
        self.runs_table.setRowCount(len(self.runs))
        values = [
            str(index + 1),
            model_title(config),
            f"{len(outcome.history)}/{config.epochs + fine_tune_epochs(config)}",
            f"{config.learning_rate:g}",
            config.optimizer,
            str(config.hidden_units) if config.hidden_units else "no",
            run_summary(config),
            f"{ev.accuracy:.1%} ({ev.baseline_accuracy:.1%})",
            str(saved) if saved else "not saved",
        ]
        for column, value in enumerate(values):
            self.runs_table.setItem(index, column, QTableWidgetItem(value))

    def show_run(self, index: int) -> None:
        if not 0 <= index < len(self.runs):
            return
        _, outcome, _ = self.runs[index]
        self.current = outcome
        ev = outcome.evaluation
        self.summary.setText(summary_text(ev))
        self.per_class.setRowCount(len(ev.per_class))
        for row, (name, m) in enumerate(ev.per_class.items()):
            values = [name, f"{m.precision:.3f}", f"{m.recall:.3f}", f"{m.f1:.3f}", str(m.support)]
            for column, value in enumerate(values):
                self.per_class.setItem(row, column, QTableWidgetItem(value))
        self.confusion.show_matrix(ev)
        self.cell_images.show_items([])
        self.save_button.setEnabled(True)
        self.pages.setCurrentIndex(1)

    def show_cell(self, true_label: str, predicted: str) -> None:
        if self.current is None:
            return
        images = self.current.evaluation.cell(true_label, predicted)
        kind = "correct" if true_label == predicted else "mistakes"
        self.cell_title.setText(
            f"<b>{len(images)}</b> test image(s) of <b>{true_label}</b> "
            f"predicted as <b>{predicted}</b> ({kind})."
        )
        self.cell_images.show_items(
            [
                (
                    i.path,
                    f"{i.predicted_label} {i.confidence:.0%}",
                    f"{i.path}\ntrue: "
                    f"{i.true_label}\npredicted: {i.predicted_label} ({i.confidence:.1%})",
                )
                for i in images
            ]
        )

    def suggested_name(self) -> str:
        scan = self.state.scan
        stem = scan.root.name if scan is not None else "model"
        return f"{stem}-{date.today().isoformat()}.sortscope"

    def save(self) -> None:
        if self.current is None:
            return
        folder = str(self.settings.value("last_model_folder", str(Path.home())))
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save model",
            str(Path(folder) / self.suggested_name()),
            "Sortscope models (*.sortscope);;All files (*)",
        )
        if path:
            self.save_to(Path(path))

    def save_to(self, path: Path) -> None:
        """Save the shown run's model off the GUI thread and make it the current model."""
        outcome = self.current
        if outcome is None:
            return
        index = next(i for i, run in enumerate(self.runs) if run[1] is outcome)
        self.save_button.setEnabled(False)
        self.state.status.emit(f"Saving {path.name}…")

        def saved(_):
            self.save_button.setEnabled(True)
            config, _, _ = self.runs[index]
            self.runs[index] = (config, outcome, path)
            self._add_run_row(index)
            self.settings.setValue("last_model_folder", str(path.parent))
            self.settings.setValue("last_model", str(path))
            self.state.set_model(outcome.model, path)
            self.state.status.emit(f"Model saved to {path}; it is now the model for Classify.")

        def failed(info: ErrorInfo) -> None:
            self.save_button.setEnabled(True)
            show_error(self, info)

        self.runner.start(
            "save", lambda ctx: save_model(outcome.model, path), finished=saved, failed=failed
        )

    def shutdown(self) -> None:
        self.loader.shutdown()


def _scan_argument(_view, state: AppState, args: list[str]) -> None:
    if args:
        from classifier.scan import scan_dataset

        state.set_scan(scan_dataset(args[0]))


if __name__ == "__main__":
    from ui.standalone import run_view

    run_view(TrainView, _scan_argument)
