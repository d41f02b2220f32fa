"""Transfer learning as retrain.py did it, done right: cached features, then a small Keras head.

`train` runs the whole flow on a scanned dataset: split, extract (cached) features, fit the head
with per-epoch reports and cancellation, evaluate on the held-out test split, and compose the
backbone and head into one inference model, ready for `modelfile.save_model`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from classifier import __version__, modelfile
from classifier.backbones import get_backbone, load_feature_model
from classifier.errors import DatasetError, SortscopeError
from classifier.evaluate import evaluate_predictions
from classifier.features import extract_features, open_cache
from classifier.progress import CancelToken, Progress, ProgressCallback, ignore_progress
from classifier.split import assign_splits, split_key
from classifier.types import (
    OPTIMIZERS,
    EpochStats,
    Evaluation,
    Problem,
    ScanResult,
    Split,
    TrainConfig,
)

EpochCallback = Callable[[EpochStats], None]


@dataclass
class SplitData:
    x: np.ndarray
    y: np.ndarray
    paths: list[Path]


@dataclass
class TrainOutcome:
    model: modelfile.SortscopeModel
    evaluation: Evaluation
    history: list[EpochStats]
    best_epoch: int
    stopped_early: bool
    problems: list[Problem] = field(default_factory=list)  # images that failed to decode


def validate_config(config: TrainConfig) -> None:
    """Reject settings that cannot work, in words the user can act on."""
    checks = [
        (config.epochs >= 1, "The number of epochs must be at least 1."),
        (config.batch_size >= 1, "The batch size must be at least 1."),
        (0 < config.learning_rate <= 1, "The learning rate must be above 0 and at most 1."),
        (config.optimizer in OPTIMIZERS, f"Unknown optimizer '{config.optimizer}'."),
        (config.hidden_units >= 0, "Hidden units must be 0 (none) or more."),
        (0 <= config.dropout < 1, "Dropout must be at least 0 and below 1."),
        (config.patience >= 1, "Early-stopping patience must be at least 1 epoch."),
    ]
    for ok, message in checks:
        if not ok:
            raise SortscopeError(message, f"Optimizers: {', '.join(OPTIMIZERS)}.")
    config.preprocessing  # noqa: B018 - raises a SortscopeError for an unknown stretch


def gather_splits(
    scan: ScanResult,
    config: TrainConfig,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    cache_dir: str | Path | None = None,
) -> tuple[dict[Split, SplitData], list[Problem]]:
    """Features and labels of every usable image, grouped by split."""
    if not scan.usable:
        raise DatasetError(scan.errors[0].message, scan.errors[0].advice)
    backbone = get_backbone(config.backbone)
    prep = config.preprocessing
    splits = assign_splits(scan.images, config.split)
    records = list(scan.images)
    result = extract_features(
        [r.path for r in records],
        backbone,
        cache=open_cache(backbone, cache_dir, prep),
        digests=[r.digest for r in records],
        progress=progress,
        cancel=cancel,
        prep=prep,
    )
    index = {name: i for i, name in enumerate(scan.classes)}
    grouped: dict[Split, SplitData] = {}
    for split in Split:
        rows = [i for i, r in enumerate(records) if result.ok[i] and splits[split_key(r)] == split]
        grouped[split] = SplitData(
            result.features[rows],
            np.array([index[records[i].class_name] for i in rows], dtype=np.int64),
            [records[i].path for i in rows],
        )
    missing = [c for c, i in index.items() if not (grouped[Split.TRAIN].y == i).any()]
    if missing:
        raise DatasetError(
            "No training images could be read for: " + ", ".join(missing) + ".",
            "Add readable images to those classes or remove their folders.",
        )
    return grouped, list(result.errors.values())


def balanced_class_weights(y: np.ndarray, n_classes: int) -> dict[int, float]:
    counts = np.bincount(y, minlength=n_classes)
    return {i: float(len(y) / (n_classes * c)) if c else 0.0 for i, c in enumerate(counts)}


def _optimizer(k, config: TrainConfig):
    if config.optimizer == "sgd":
        return k.optimizers.SGD(config.learning_rate, momentum=0.9)
    if config.optimizer == "rmsprop":
        return k.optimizers.RMSprop(config.learning_rate)
    return k.optimizers.Adam(config.learning_rate)


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


def train_head(
    train: SplitData,
    validation: SplitData,
    n_classes: int,
    config: TrainConfig,
    on_epoch: EpochCallback | None = None,
    cancel: CancelToken | None = None,
    on_batch: ProgressCallback | None = None,
):
    """Fit a head on features; returns (head, history, best_epoch, stopped_early)."""
    from classifier.tf_runtime import keras

    k = keras()
    cancel = cancel or CancelToken()
    k.utils.set_random_seed(config.seed)  # same data + same seed = same model
    head = build_head(train.x.shape[1], n_classes, config)
    head.compile(
        optimizer=_optimizer(k, config),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    has_val = len(validation.y) > 0
    reporter = _make_reporter(config.epochs, on_epoch, cancel, on_batch)
    callbacks = [reporter]
    stopper = None
    if config.early_stopping:
        stopper = k.callbacks.EarlyStopping(
            monitor="val_loss" if has_val else "loss",
            patience=config.patience,
            restore_best_weights=True,
        )
        callbacks.append(stopper)
    head.fit(
        train.x,
        train.y,
        validation_data=(validation.x, validation.y) if has_val else None,
        epochs=config.epochs,
        batch_size=config.batch_size,
        class_weight=balanced_class_weights(train.y, n_classes) if config.class_weights else None,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    cancel.check()
    best = (stopper.best_epoch + 1) if stopper is not None else len(reporter.history)
    stopped_early = stopper is not None and stopper.stopped_epoch > 0
    return head, reporter.history, best, stopped_early


def _make_reporter(epochs: int, on_epoch, cancel: CancelToken, on_batch):
    """A Keras callback adapter: epoch stats out, cancellation in (checked every batch).

    Defined inside a function so the module imports without TensorFlow.
    """
    from classifier.tf_runtime import keras

    class Reporter(keras().callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.history: list[EpochStats] = []
            self._start = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()
            self._epoch = epoch + 1

        def on_train_batch_end(self, batch, logs=None):
            if cancel.cancelled:
                self.model.stop_training = True
            if on_batch is not None:
                steps = self.params.get("steps") or 0
                on_batch(
                    Progress("Training", batch + 1, steps, 0.0, f"epoch {self._epoch}/{epochs}")
                )

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            stats = EpochStats(
                epoch=epoch + 1,
                epochs=epochs,
                loss=float(logs["loss"]),
                accuracy=float(logs["accuracy"]),
                val_loss=float(logs["val_loss"]) if "val_loss" in logs else None,
                val_accuracy=float(logs["val_accuracy"]) if "val_accuracy" in logs else None,
                seconds=time.perf_counter() - self._start,
            )
            self.history.append(stats)
            if on_epoch is not None:
                on_epoch(stats)

    return Reporter()


def train(
    scan: ScanResult,
    config: TrainConfig | None = None,
    progress: ProgressCallback | None = None,
    on_epoch: EpochCallback | None = None,
    cancel: CancelToken | None = None,
    cache_dir: str | Path | None = None,
    on_batch: ProgressCallback | None = None,
) -> TrainOutcome:
    """Scan result in, trained and evaluated model out (not yet saved).

    `progress` covers feature extraction; `on_batch` reports steps within each epoch.
    """
    config = config or TrainConfig()
    validate_config(config)
    progress = progress or ignore_progress
    cancel = cancel or CancelToken()
    backbone = get_backbone(config.backbone)
    data, problems = gather_splits(scan, config, progress, cancel, cache_dir)
    n_classes = len(scan.classes)
    progress(Progress("Training", 0, config.epochs, message="Fitting the classifier head"))
    head, history, best_epoch, stopped_early = train_head(
        data[Split.TRAIN], data[Split.VALIDATION], n_classes, config, on_epoch, cancel, on_batch
    )
    test = data[Split.TEST]
    baseline = int(np.bincount(data[Split.TRAIN].y, minlength=n_classes).argmax())
    probabilities = (
        np.asarray(head.predict_on_batch(test.x)) if len(test.y) else np.zeros((0, n_classes))
    )
    evaluation = evaluate_predictions(test.y, probabilities, scan.classes, test.paths, baseline)
    metadata = {
        "training": asdict(config),
        "dataset": {
            "root": str(scan.root),
            "classes": scan.counts(),
            # Images actually used, per class and split (no second pass over the hashes).
            "splits": {
                c: {s.value: int((data[s].y == i).sum()) for s in Split}
                for i, c in enumerate(scan.classes)
            },
            "images_used": int(sum(len(d.y) for d in data.values())),
            "images_skipped": len(problems),
            "high_range_images": scan.high_range_images,  # FITS, 16-bit: the stretch matters
        },
        "history": [asdict(h) for h in history],
        "best_epoch": best_epoch,
        "stopped_early": stopped_early,
        "test_metrics": evaluation.to_json(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "app_version": __version__,
    }
    model = modelfile.compose(
        backbone, load_feature_model(backbone), head, scan.classes, metadata, config.preprocessing
    )
    return TrainOutcome(model, evaluation, history, best_epoch, stopped_early, problems)
