"""Keras fitting shared by every training stage: optimizer, schedule, callbacks, logging.

(The head on cached features is fitted in NumPy by `classifier.head_fit`, from the Keras head's
seeded initial weights; `set_head_weights` puts the result back into the Keras head, and
`RunLog.stage_reports` logs its epochs like a Keras stage's.)

A `RunLog` follows one training run across its stages (head, fine-tuning, or end to end),
numbering epochs continuously so the curves of a run are one line, checking cancellation every
batch, and writing TensorBoard scalars when asked. Keras is imported inside functions only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np

from classifier.head_fit import Layers, balanced_class_weights
from classifier.progress import CancelToken, FitStage, Progress, ProgressCallback, Stage
from classifier.types import EpochStats, TrainConfig

EpochCallback = Callable[[EpochStats], None]


def optimizer(config: TrainConfig, learning_rate: float):
    from classifier.tf_runtime import keras

    k = keras()
    if config.optimizer == "sgd":
        return k.optimizers.SGD(learning_rate, momentum=0.9)
    if config.optimizer == "rmsprop":
        return k.optimizers.RMSprop(learning_rate)
    return k.optimizers.Adam(learning_rate)


def build_head(feature_dim: int, n_classes: int, config: TrainConfig):
    from classifier.tf_runtime import keras

    k = keras()
    layers = [k.Input((feature_dim,), name="features")]
    if config.hidden_units:
        layers += [
            k.layers.Dense(config.hidden_units, activation="relu", name="hidden"),
            k.layers.Dropout(config.dropout, name="dropout"),
        ]
    layers.append(k.layers.Dense(n_classes, activation="softmax", name="probabilities"))
    return k.Sequential(layers, name="head")


def head_weights(head) -> Layers:
    """(kernel, bias, activation) of each Dense layer of a Keras head, in order."""
    dense = [layer for layer in head.layers if type(layer).__name__ == "Dense"]
    return [
        (*(np.asarray(w, dtype=np.float32) for w in layer.get_weights()), layer.activation.__name__)
        for layer in dense
    ]


def set_head_weights(head, layers: Layers) -> None:
    """Put weights fitted elsewhere (`classifier.head_fit`) into a Keras head (`build_head`):
    the model file stores it, and fine-tuning trains on from it."""
    dense = [layer for layer in head.layers if type(layer).__name__ == "Dense"]
    for layer, (kernel, bias, _) in zip(dense, layers, strict=True):
        layer.set_weights([kernel, bias])


def oversample_indices(y: np.ndarray, n_classes: int, seed: int) -> np.ndarray:
    """Row indices in which every class appears as often as the largest one."""
    rng = np.random.default_rng(seed)
    counts = np.bincount(y, minlength=n_classes)
    target = counts.max(initial=0)
    parts = []
    for c in range(n_classes):
        rows = np.flatnonzero(y == c)
        if len(rows):
            parts += [rows, rng.choice(rows, target - len(rows), replace=True)]
    return np.sort(np.concatenate(parts)) if parts else np.arange(0)


def class_weight(y: np.ndarray, n_classes: int, config: TrainConfig) -> dict | None:
    """Balanced weights, unless turned off or replaced by oversampling."""
    if config.class_weights and not config.oversample:
        return balanced_class_weights(y, n_classes)
    return None


class RunLog:
    """One run's epochs across stages: reports, cancellation and TensorBoard."""

    def __init__(
        self,
        config: TrainConfig,
        on_epoch: EpochCallback | None = None,
        cancel: CancelToken | None = None,
        on_batch: ProgressCallback | None = None,
    ) -> None:
        self.config = config
        self.on_epoch = on_epoch
        self.cancel = cancel or CancelToken()
        self.on_batch = on_batch
        self.history: list[EpochStats] = []
        self.training_rows = 0  # examples per epoch of the last stage (augmented, oversampled)
        self._writer = None
        self.tensorboard_run: Path | None = None
        if config.tensorboard_dir:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            self.tensorboard_run = Path(config.tensorboard_dir) / f"{stamp}-{config.model_type}"

    def callbacks(self, stage: FitStage, epochs: int, learning_rate: float, has_val: bool) -> list:
        """Reporter, schedule and early stopping for one stage; call `stopper(...)` after."""
        from classifier.tf_runtime import keras

        k = keras()
        monitor = "val_loss" if has_val else "loss"
        out = [self._reporter(stage, epochs)]
        if self.config.lr_schedule == "cosine":

            def cosine(epoch: int, _lr: float) -> float:
                return learning_rate * 0.5 * (1 + math.cos(math.pi * epoch / max(1, epochs)))

            out.append(k.callbacks.LearningRateScheduler(cosine))
        elif self.config.lr_schedule == "plateau":
            out.append(
                k.callbacks.ReduceLROnPlateau(
                    monitor=monitor,
                    factor=0.5,
                    patience=max(1, self.config.patience // 2),
                    min_lr=learning_rate / 100,
                )
            )
        if self.config.early_stopping:
            out.append(
                k.callbacks.EarlyStopping(
                    monitor=monitor, patience=self.config.patience, restore_best_weights=True
                )
            )
        return out

    @staticmethod
    def outcome(callbacks: list, epochs_run: int) -> tuple[int, bool]:
        """(best epoch within the stage, 1-based; whether it stopped early)."""
        for callback in callbacks:
            if type(callback).__name__ == "EarlyStopping":
                return callback.best_epoch + 1, callback.stopped_epoch > 0
        return epochs_run, False

    def run_epochs(self, stage: FitStage, epochs: int) -> int:
        """The run's epochs as planned when `stage` (of `epochs` epochs) begins: the epochs
        already run, this stage's, and fine-tuning's still to come after the head. One
        numbering for the whole run: the log, the curves and the progress bar all use it."""
        later = (
            self.config.fine_tune_epochs if stage == FitStage.HEAD and self.config.fine_tunes else 0
        )
        return len(self.history) + epochs + later

    def stage_progress(self, stage: FitStage, epochs: int, message: str) -> Progress:
        """The report that a stage begins, counted in the whole run's epochs."""
        total = self.run_epochs(stage, epochs)
        return Progress(Stage.TRAINING, len(self.history), total, message=message)

    def stage_reports(self, stage: FitStage, epochs: int):
        """(on_batch(epoch), on_epoch(EpochReport)) for a head fit on cached features
        (`classifier.head_fit`): the same numbering, bar and log as a Keras stage."""
        offset = len(self.history)
        total = self.run_epochs(stage, epochs)

        def on_batch(epoch: int) -> None:
            self._batch_report(stage, offset + epoch, total)

        def on_epoch(report) -> None:
            self.add(
                EpochStats(
                    epoch=offset + report.epoch,
                    epochs=total,
                    loss=report.loss,
                    accuracy=report.accuracy,
                    val_loss=report.val_loss,
                    val_accuracy=report.val_accuracy,
                    seconds=report.seconds,
                    stage=stage,
                    learning_rate=report.learning_rate,
                )
            )

        return on_batch, on_epoch

    def _batch_report(self, stage: FitStage, epoch: int, total: int) -> None:
        if self.on_batch is not None:
            # The bar counts the run's epochs (not the steps of one epoch), and the message
            # changes once an epoch, so reports stay few (throttled in the GUI).
            named = "" if stage == FitStage.HEAD else f" ({stage})"
            message = f"epoch {epoch}/{total}{named}"
            self.on_batch(Progress(Stage.TRAINING, epoch - 1, total, 0.0, message))

    def _reporter(self, stage: FitStage, epochs: int):
        from classifier.tf_runtime import keras

        log = self
        offset = len(self.history)
        total = self.run_epochs(stage, epochs)

        class Reporter(keras().callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self._start = time.perf_counter()
                self._epoch = epoch + 1

            def on_train_batch_end(self, batch, logs=None):
                if log.cancel.cancelled:
                    self.model.stop_training = True
                log._batch_report(stage, offset + self._epoch, total)

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                stats = EpochStats(
                    epoch=offset + epoch + 1,
                    epochs=total,
                    loss=float(logs["loss"]),
                    accuracy=float(logs["accuracy"]),
                    val_loss=float(logs["val_loss"]) if "val_loss" in logs else None,
                    val_accuracy=float(logs["val_accuracy"]) if "val_accuracy" in logs else None,
                    seconds=time.perf_counter() - self._start,
                    stage=stage,
                    learning_rate=_current_rate(self.model),
                )
                log.add(stats)

        return Reporter()

    def add(self, stats: EpochStats) -> None:
        self.history.append(stats)
        self._log_scalars(stats)
        if self.on_epoch is not None:
            self.on_epoch(stats)

    def _log_scalars(self, stats: EpochStats) -> None:
        if self.tensorboard_run is None:
            return
        from classifier.tf_runtime import tensorflow

        tf = tensorflow()
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.tensorboard_run))
        values = {
            "loss/train": stats.loss,
            "accuracy/train": stats.accuracy,
            "loss/validation": stats.val_loss,
            "accuracy/validation": stats.val_accuracy,
            "learning_rate": stats.learning_rate,
        }
        with self._writer.as_default():
            for name, value in values.items():
                if value is not None:
                    # What tensorboard's own scalar summary writes, without needing that
                    # package installed to train (only to look at the curves).
                    tf.summary.write(
                        name, tf.constant(value, tf.float32), step=stats.epoch,
                        metadata=_scalar_metadata(),
                    )  # fmt: skip
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _scalar_metadata():
    """Marks a summary as a scalar for TensorBoard (built on use: it needs TensorFlow)."""
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "scalars"
    return metadata


def _current_rate(model) -> float | None:
    try:
        return float(np.asarray(model.optimizer.learning_rate))
    except (AttributeError, TypeError, ValueError):
        return None
