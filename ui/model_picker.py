"""The model to classify with: recent models to pick from, Open…, and the model's card.

Models load off the GUI thread; the one loaded becomes the app's current model, so the Train
area's newest model and a model opened here are the same choice.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from classifier.model_info import model_title
from classifier.modelfile import SortscopeModel, load_model
from ui import settings as keys
from ui.errors import ErrorInfo, show_error
from ui.state import AppState
from ui.tasks import TaskRunner

MAX_RECENT_MODELS = 8
NO_MODEL = "No model yet: train one in the Train area, or open a saved model."


def saw_high_range_images(model: SortscopeModel) -> bool:
    """Whether the model was trained on FITS (or 16-bit) images, as its description says.
    A description without its dataset counts as having seen them: nothing is hidden."""
    dataset = model.info.run.dataset
    return dataset is None or bool(dataset.high_range_images) or not model.preprocessing.is_default


def model_card(model: SortscopeModel, path: Path | None) -> str:
    """The model in a few lines: its classes, network, score, training and stretch."""
    info = model.info
    run = info.run
    metrics = run.test_metrics
    score = "no test score"
    if metrics is not None:
        score = f"test accuracy {metrics.accuracy:.1%} (baseline {metrics.baseline_accuracy:.1%})"
    t = run.config
    settings = (
        f"{len(run.history)}/{t.epochs} epochs, {t.optimizer} lr {t.learning_rate}, "
        f"{'hidden layer, ' if t.hidden_units else ''}"
        f"class weights {'on' if t.class_weights else 'off'}, seed {t.seed}"
    )
    prep = info.preprocessing
    if (run.dataset and run.dataset.high_range_images) or not prep.is_default:
        settings += f"<br>FITS and 16-bit images stretched with {prep.summary()}"
    return (
        f"<b>{escape(path.name) if path else 'Model from this session'}</b> · "
        f"{len(info.class_names)} classes: {escape(', '.join(info.class_names))}<br>"
        f"{model_title(info)} · {score} · {run.created[:10]}<br><small>{settings}</small>"
    )


class ModelPicker(QWidget):
    """The model row of the Classify area; the card describes the current model."""

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
        self.model_choice = QComboBox()
        self.model_choice.setMinimumWidth(260)
        self.model_choice.activated.connect(self._recent_model_chosen)
        open_model = QPushButton("Open model…")
        open_model.clicked.connect(self.choose_model)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("TFLite, SavedModel, Keras or ONNX, for use elsewhere")
        self.export_button.clicked.connect(self.export_model)
        self.card = QLabel(NO_MODEL)
        self.card.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.model_choice, 1)
        row.addWidget(open_model)
        row.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.card)
        self._refresh_recent_models()
        state.model_changed.connect(self._model_changed)
        self._model_changed(state.model)

    def _recent_models(self) -> list[str]:
        value = self.settings.value(keys.RECENT_MODELS, [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def _refresh_recent_models(self) -> None:
        self.model_choice.blockSignals(True)
        self.model_choice.clear()
        if self.state.model is not None and self.state.model_path is None:
            self.model_choice.addItem("Model trained in this session (not saved)", "")
        for path in self._recent_models():
            self.model_choice.addItem(Path(path).name, path)
            self.model_choice.setItemData(
                self.model_choice.count() - 1, path, Qt.ItemDataRole.ToolTipRole
            )
        current = str(self.state.model_path) if self.state.model_path else ""
        index = self.model_choice.findData(current)
        self.model_choice.setCurrentIndex(max(index, 0))
        self.model_choice.blockSignals(False)

    def _model_changed(self, model: SortscopeModel | None) -> None:
        path = self.state.model_path
        if path is not None:
            recent = [str(path)] + [p for p in self._recent_models() if p != str(path)]
            self.settings.setValue(keys.RECENT_MODELS, recent[:MAX_RECENT_MODELS])
            self.settings.setValue(keys.LAST_MODEL, str(path))
        self.card.setText(model_card(model, path) if model is not None else NO_MODEL)
        self._refresh_recent_models()
        self.export_button.setEnabled(model is not None)

    def export_model(self) -> None:
        from ui.export_actions import ask_export

        if self.state.model is None:
            return
        path = self.state.model_path
        folder = path.parent if path else Path.home()
        ask_export(self, self.runner, self.state.model, path, folder, self.state.status.emit)

    def load_last_model(self) -> Path | None:
        """Open the model used last time, quietly: a missing or broken file just leaves none
        (a broken one is named in the status bar). Returns the file, or None if there was none."""
        last = self.settings.value(keys.LAST_MODEL)
        if not last:
            return None
        path = Path(str(last))
        if path.is_file():
            self.open_model(path, quiet=True)
        return path

    def choose_model(self) -> None:
        start = str(self.settings.value(keys.LAST_MODEL_FOLDER, str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(
            self, "Open model", start, "Sortscope models (*.sortscope);;All files (*)"
        )
        if path:
            self.open_model(Path(path))

    def _recent_model_chosen(self, index: int) -> None:
        path = self.model_choice.itemData(index)
        if path:
            self.open_model(Path(path))

    def open_model(self, path: Path, quiet: bool = False) -> None:
        """Load a model file off the GUI thread; it becomes the current model."""
        self.card.setText(f"Loading {path.name}…")

        def failed(info: ErrorInfo) -> None:
            self._model_changed(self.state.model)
            if quiet:
                self.state.status.emit(
                    f"The last model, {path.name}, could not be opened: {info.what}"
                )
            else:
                show_error(self, info)

        self.runner.start(
            "load-model",
            lambda ctx: load_model(path),
            finished=lambda model: self.state.set_model(model, path),
            failed=failed,
        )
