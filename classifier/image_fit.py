"""Fitting a network from images rather than cached features: fine-tuning a backbone's last
blocks with its head, and training the small CNN from scratch. The images are decoded once and
fed in batches (augmented on the fly for training)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from classifier import end_to_end
from classifier.backbones import Availability, Backbone
from classifier.evaluate import SplitScores
from classifier.keras_loop import RunLog, class_weight, optimizer, oversample_indices
from classifier.model_info import FineTuneInfo
from classifier.progress import FitStage
from classifier.types import Problem, Split


@dataclass
class FitResult:
    scored: dict[Split, SplitScores]  # every split's images that loaded
    best_epoch: int
    stopped_early: bool
    problems: list[Problem]


def fine_tune_backbone(data, feature_model, head, config, progress, log: RunLog, max_pixels: int):
    """Train the backbone's last blocks and the head together, from images."""
    network = end_to_end.clone_network(feature_model)
    trainable = end_to_end.unfreeze_last_blocks(network, config.fine_tune_blocks)
    fit = fit_from_images(
        image_model(network, head, "fine_tuning"),
        data,
        config,
        progress,
        log,
        stage=FitStage.FINE_TUNE,
        epochs=config.fine_tune_epochs,
        learning_rate=config.fine_tune_learning_rate,
        max_pixels=max_pixels,
    )
    network.trainable = False
    details = FineTuneInfo(config.fine_tune_blocks, trainable, fit.best_epoch, fit.stopped_early)
    return network, fit, details


def image_model(network, head, name: str):
    """The network and its head as one Keras model from pixels to probabilities."""
    from classifier.tf_runtime import keras

    size = network.input_shape[1]
    inputs = keras().Input((size, size, 3), name="image")
    return keras().Model(inputs, head(network(inputs)), name=name)


def fit_from_images(
    model,
    data,
    config,
    progress,
    log: RunLog,
    *,
    stage: FitStage,
    epochs: int,
    learning_rate: float,
    max_pixels: int,
) -> FitResult:
    """Fit `model` (pixels -> probabilities) on the splits' images, decoded once."""
    n_classes = model.output_shape[-1]
    size = model.input_shape[1]
    files = [p for s in Split for p in data[s].paths]
    store = end_to_end.decode_images(
        files, size, config.preprocessing, progress, log.cancel, max_pixels
    )
    try:
        offsets = np.cumsum([0, *(len(data[s].paths) for s in Split)])
        rows = {s: np.arange(offsets[i], offsets[i + 1]) for i, s in enumerate(Split)}
        # Images that failed to load drop out of their split, labels and paths alike.
        kept = {s: store.ok[rows[s]] for s in Split}
        rows = {s: rows[s][kept[s]] for s in Split}
        labels = {s: data[s].y[kept[s]] for s in Split}
        train_rows, train_labels = rows[Split.TRAIN], labels[Split.TRAIN]
        if config.oversample:
            pick = oversample_indices(train_labels, n_classes, config.seed)
            train_rows, train_labels = train_rows[pick], train_labels[pick]
        log.training_rows = len(train_labels)
        augmentation = config.augmentation if config.augmentation.enabled else None
        batches = end_to_end.image_batches
        train_batches = batches(
            store,
            train_rows,
            train_labels,
            config.batch_size,
            augmentation=augmentation,
            shuffle=True,
            seed=config.seed,
        )
        has_val = len(rows[Split.VALIDATION]) > 0
        val_batches = None
        if has_val:
            val_batches = batches(
                store, rows[Split.VALIDATION], labels[Split.VALIDATION], config.batch_size
            )
        model.compile(
            optimizer=optimizer(config, learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        progress(log.stage_progress(stage, epochs, f"{stage}: training from images"))
        callbacks = log.callbacks(stage, epochs, learning_rate, has_val)
        fitted = model.fit(
            train_batches,
            validation_data=val_batches,
            epochs=epochs,
            class_weight=class_weight(train_labels, n_classes, config),
            verbose=0,
            callbacks=callbacks,
        )
        log.cancel.check()
        best, stopped = RunLog.outcome(callbacks, len(fitted.epoch))
        scored = {}
        for split in Split:  # the final model on every split, without augmentation
            probabilities = np.zeros((0, n_classes))
            if len(rows[split]):
                split_batches = batches(store, rows[split], labels[split], config.batch_size)
                probabilities = np.asarray(model.predict(split_batches, verbose=0))
            paths = [p for p, keep in zip(data[split].paths, kept[split], strict=True) if keep]
            scored[split] = SplitScores(probabilities, labels[split], paths)
        return FitResult(scored, best, stopped, store.problems)
    finally:
        store.close()


def trained_backbone(base: Backbone, network, tag: str) -> Backbone:
    """A backbone whose weights Sortscope trained: its own feature-cache key and engine."""
    return replace(
        base,
        version=f"{base.version}+{tag}{end_to_end.weights_digest(network)}",
        builder=lambda: network,
        availability=lambda: Availability(True),
        listed=False,
    )
