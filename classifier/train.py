"""Training runs, from a scanned dataset to an evaluated model ready for `modelfile.save_model`.

- transfer (the default), retrain.py done right: cached backbone features (plus cached
  augmented copies when asked), a small Keras head, then optionally the backbone's last blocks
  fine-tuned end to end from images;
- mlp: the same head machinery on raw 32x32 pixels (the "pixels_32" backbone);
- small_cnn: a small convolutional network trained from scratch on 64x64 images.
Each evaluates on the held-out test split and composes one inference model: pixels in,
probabilities out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from classifier import end_to_end, modelfile
from classifier.backbones import (
    SMALL_CNN,
    Availability,
    Backbone,
    get_backbone,
    load_feature_model,
)
from classifier.errors import DatasetError, SortscopeError
from classifier.evaluate import SplitScores, evaluate_splits
from classifier.features import extract_features, open_cache
from classifier.keras_loop import (
    EpochCallback,
    RunLog,
    build_head,
    class_weight,
    optimizer,
    oversample_indices,
)
from classifier.model_info import DatasetSummary, FineTuneInfo, RunSummary
from classifier.novelty import fit_novelty
from classifier.progress import (
    CancelToken,
    FitStage,
    ProgressCallback,
    ignore_progress,
)
from classifier.split import assign_splits, split_key
from classifier.types import (
    LR_SCHEDULES,
    MODEL_TYPES,
    OPTIMIZERS,
    EpochStats,
    Evaluation,
    ExtractionStats,
    Problem,
    ScanResult,
    Split,
    TrainConfig,
)


@dataclass
class SplitData:
    x: np.ndarray
    y: np.ndarray
    paths: list[Path]
    augmented: np.ndarray | None = None  # (m, copies, dim): augmented copies' features
    augmented_y: np.ndarray | None = None  # (m,): their labels


@dataclass
class TrainOutcome:
    model: modelfile.SortscopeModel
    evaluation: Evaluation
    history: list[EpochStats]
    best_epoch: int
    stopped_early: bool
    problems: list[Problem] = field(default_factory=list)  # images that failed to decode
    extraction: ExtractionStats | None = None  # where feature extraction spent its time
    # Every split scored by the final model (the test one is `evaluation`): the training and
    # validation images it gets wrong are often images filed in the wrong class.
    splits: dict[Split, Evaluation] = field(default_factory=dict)


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
        (config.model_type in MODEL_TYPES, f"Unknown model type '{config.model_type}'."),
        (config.lr_schedule in LR_SCHEDULES, f"Unknown schedule '{config.lr_schedule}'."),
        (0 <= config.augment_copies <= 50, "Augmented copies must be between 0 and 50."),
        (config.fine_tune_blocks >= 0, "Blocks to fine-tune must be 0 (off) or more."),
        (config.fine_tune_epochs >= 1, "Fine-tuning needs at least 1 epoch."),
        (
            0 < config.fine_tune_learning_rate <= 0.1,
            "The fine-tuning learning rate must be above 0 and at most 0.1 (try 0.0001).",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise SortscopeError(
                message,
                f"Optimizers: {', '.join(OPTIMIZERS)}; model types: {', '.join(MODEL_TYPES)}; "
                f"schedules: {', '.join(LR_SCHEDULES)}.",
            )
    config.preprocessing  # noqa: B018 - raises a SortscopeError for an unknown stretch
    if config.augment_copies and not config.augmentation.enabled:
        raise SortscopeError(
            "Augmented copies are asked for, but no change to make them is chosen.",
            "Turn on flips, rotations, zoom, brightness or contrast, or set copies to 0.",
        )


def feature_backbone(config: TrainConfig) -> Backbone:
    """The network whose cached features the head learns from."""
    return get_backbone("pixels_32" if config.model_type == "mlp" else config.backbone)


def head_config(config: TrainConfig) -> TrainConfig:
    """The MLP baseline is a head with one hidden layer (128 units unless told otherwise)."""
    if config.model_type == "mlp" and not config.hidden_units:
        return replace(config, hidden_units=128)
    return config


def _names(names: list[str], at_most: int = 5) -> str:
    """'a', 'b', 'c' and 1,997 more: a bounded line however many classes there are."""
    shown = ", ".join(f"'{n}'" for n in names[:at_most])
    return shown if len(names) <= at_most else f"{shown} and {len(names) - at_most:,} more"


def _no_training_images(missing: list[str], read: set[str]) -> DatasetError:
    """Why some classes have nothing to train on: unreadable, or all held out."""
    held_out = [c for c in missing if c in read]
    unreadable = [c for c in missing if c not in read]
    parts, todo = [], []
    if held_out:
        parts.append(
            f"{len(held_out):,} class(es) have no image left for training: "
            f"{_names(held_out)}. Their images were read, but with one or two images a class's "
            "images can all fall into the validation and test shares."
        )
        todo.append(
            "Give every class at least 3 images (one each for training, validation and test), "
            "or set the validation and test percentages to 0 to train on every image "
            "(--validation-percent 0 --test-percent 0, or Validation % and Test % in the window)."
        )
    if unreadable:
        parts.append(f"No image could be read in {_names(unreadable)}.")
        todo.append("Add readable images to those classes or remove their folders.")
    return DatasetError(" ".join(parts), " ".join(todo))


def gather_splits(
    scan: ScanResult,
    config: TrainConfig,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    cache_dir: str | Path | None = None,
) -> tuple[dict[Split, SplitData], list[Problem], ExtractionStats]:
    """Features and labels of every usable image, grouped by split; training images also get
    their augmented copies when `config` asks for them. `scan` must be usable. The stats are
    those of the images themselves (augmented copies not counted)."""
    backbone = feature_backbone(config)
    prep = config.preprocessing
    cache = open_cache(backbone, cache_dir, prep)
    splits = assign_splits(scan.images, config.split)
    records = list(scan.images)
    result = extract_features(
        [r.path for r in records],
        backbone,
        cache=cache,
        digests=[r.digest for r in records],
        progress=progress,
        cancel=cancel,
        max_pixels=scan.max_pixels,
        prep=prep,
    )
    index = {name: i for i, name in enumerate(scan.classes)}
    grouped: dict[Split, SplitData] = {}
    rows_of: dict[Split, list[int]] = {}
    for split in Split:
        rows = [i for i, r in enumerate(records) if result.ok[i] and splits[split_key(r)] == split]
        rows_of[split] = rows
        grouped[split] = SplitData(
            result.features[rows],
            np.array([index[records[i].class_name] for i in rows], dtype=np.int64),
            [records[i].path for i in rows],
        )
    missing = [c for c, i in index.items() if not (grouped[Split.TRAIN].y == i).any()]
    if missing:
        read = {records[i].class_name for i in range(len(records)) if result.ok[i]}
        raise _no_training_images(missing, read)
    if config.variants is not None:
        train_rows = rows_of[Split.TRAIN]
        augmented = extract_features(
            [records[i].path for i in train_rows],
            backbone,
            cache=cache,
            digests=[result.digests[i] for i in train_rows],
            progress=progress,
            cancel=cancel,
            max_pixels=scan.max_pixels,
            prep=prep,
            variants=config.variants,
        )
        # A copy that failed (the file changed since) must not train as a zero vector.
        grouped[Split.TRAIN].augmented = augmented.features[augmented.ok]
        grouped[Split.TRAIN].augmented_y = grouped[Split.TRAIN].y[augmented.ok]
    return grouped, list(result.errors.values()), result.stats


def training_arrays(train: SplitData, n_classes: int, config: TrainConfig):
    """The head's training set: images, their augmented copies, oversampled if asked."""
    x, y = train.x, train.y
    if train.augmented is not None and train.augmented.size:
        copies = train.augmented.shape[1]
        x = np.concatenate([x, train.augmented.reshape(-1, x.shape[1])])
        y = np.concatenate([y, np.repeat(train.augmented_y, copies)])
    if config.oversample:
        rows = oversample_indices(y, n_classes, config.seed)
        x, y = x[rows], y[rows]
    return x, y


def train_head(
    train: SplitData,
    validation: SplitData,
    n_classes: int,
    config: TrainConfig,
    log: RunLog | None = None,
):
    """Fit a head on features; returns (head, best_epoch, stopped_early)."""
    from classifier.tf_runtime import keras

    k = keras()
    log = log or RunLog(config)
    k.utils.set_random_seed(config.seed)  # same data + same seed = same model
    config = head_config(config)
    head = build_head(train.x.shape[1], n_classes, config)
    head.compile(
        optimizer=optimizer(config, config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    has_val = len(validation.y) > 0
    x, y = training_arrays(train, n_classes, config)
    log.training_rows = len(y)
    callbacks = log.callbacks(FitStage.HEAD, config.epochs, config.learning_rate, has_val)
    fitted = head.fit(
        x,
        y,
        validation_data=(validation.x, validation.y) if has_val else None,
        epochs=config.epochs,
        batch_size=config.batch_size,
        class_weight=class_weight(y, n_classes, config),
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    log.cancel.check()
    best, stopped = RunLog.outcome(callbacks, len(fitted.epoch))
    return head, best, stopped


def train(
    scan: ScanResult,
    config: TrainConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
    on_epoch: EpochCallback | None = None,
    cancel: CancelToken | None = None,
    cache_dir: str | Path | None = None,
    on_batch: ProgressCallback | None = None,
) -> TrainOutcome:
    """Scan result in, trained and evaluated model out (not yet saved).

    `progress` covers feature extraction and image loading; `on_batch` reports steps within
    each epoch; `on_epoch` gets every epoch of every stage, numbered continuously.
    """
    config = config or TrainConfig()
    validate_config(config)
    if not scan.usable:
        raise DatasetError(scan.errors[0].message, scan.errors[0].advice)
    log = RunLog(config, on_epoch, cancel, on_batch)
    try:
        if config.model_type == "small_cnn":
            return _train_small_cnn(scan, config, progress or ignore_progress, log)
        return _train_on_features(scan, config, progress or ignore_progress, log, cache_dir)
    finally:
        log.close()


def _train_on_features(scan, config, progress, log: RunLog, cache_dir) -> TrainOutcome:
    backbone = feature_backbone(config)
    data, problems, extraction = gather_splits(scan, config, progress, log.cancel, cache_dir)
    n_classes = len(scan.classes)
    progress(log.stage_progress(FitStage.HEAD, config.epochs, "Fitting the classifier head"))
    head, best_epoch, stopped_early = train_head(
        data[Split.TRAIN], data[Split.VALIDATION], n_classes, config, log
    )
    feature_model = load_feature_model(backbone)
    fine_tune = None
    if config.fine_tunes:
        feature_model, fit, fine_tune = _fine_tune(
            data, feature_model, head, config, progress, log, scan.max_pixels
        )
        backbone = trained_backbone(backbone, feature_model, "ft")
        problems += fit.problems
        scored = fit.scored
    else:  # from the cached features: no image goes through the network again
        scored = {
            s: SplitScores(_predict_features(head, data[s].x, n_classes), data[s].y, data[s].paths)
            for s in Split
        }
    baseline = int(np.bincount(data[Split.TRAIN].y, minlength=n_classes).argmax())
    splits = evaluate_splits(scored, scan.classes, baseline)
    evaluation = splits[Split.TEST]
    counts = {s: data[s].y for s in Split}
    run = _run_summary(
        scan, config, counts, problems, log, best_epoch, stopped_early, evaluation, fine_tune
    )
    prep = config.preprocessing
    # A fine-tuned backbone gives other features than the ones the description is fitted on.
    train_data = data[Split.TRAIN]
    description = None if config.fine_tunes else fit_novelty(train_data.x, train_data.y, n_classes)
    model = modelfile.compose(
        backbone, feature_model, head, scan.classes, run, prep, novelty=description
    )
    return TrainOutcome(
        model, evaluation, log.history, best_epoch, stopped_early, problems, extraction, splits
    )


def _predict_features(head, x: np.ndarray, n_classes: int) -> np.ndarray:
    return np.asarray(head.predict_on_batch(x)) if len(x) else np.zeros((0, n_classes))


@dataclass
class FitResult:
    scored: dict[Split, SplitScores]  # every split's images that loaded
    best_epoch: int
    stopped_early: bool
    problems: list[Problem]


def _fine_tune(data, feature_model, head, config, progress, log: RunLog, max_pixels: int):
    """Train the backbone's last blocks and the head together, from images."""
    from classifier.tf_runtime import keras

    k = keras()
    network = end_to_end.clone_network(feature_model)
    trainable = end_to_end.unfreeze_last_blocks(network, config.fine_tune_blocks)
    size = network.input_shape[1]
    inputs = k.Input((size, size, 3), name="image")
    model = k.Model(inputs, head(network(inputs)), name="fine_tuning")
    fit = _fit_from_images(
        model,
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


def _fit_from_images(
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


def _train_small_cnn(scan, config, progress, log: RunLog) -> TrainOutcome:
    """A small CNN from scratch: the baseline that shows what pretrained features buy."""
    from classifier.tf_runtime import keras

    k = keras()
    index = {name: i for i, name in enumerate(scan.classes)}
    splits = assign_splits(scan.images, config.split)
    data = {}
    for split in Split:
        chosen = [r for r in scan.images if splits[split_key(r)] == split]
        labels = np.array([index[r.class_name] for r in chosen], dtype=np.int64)
        data[split] = SplitData(np.zeros((len(chosen), 0)), labels, [r.path for r in chosen])
    n_classes = len(scan.classes)
    network = end_to_end.build_small_cnn(config.seed)
    head = build_head(network.output_shape[-1], n_classes, config)
    size = end_to_end.SMALL_CNN_SIZE
    inputs = k.Input((size, size, 3), name="image")
    model = k.Model(inputs, head(network(inputs)), name="small_cnn_training")
    fit = _fit_from_images(
        model,
        data,
        config,
        progress,
        log,
        stage=FitStage.END_TO_END,
        epochs=config.epochs,
        learning_rate=config.learning_rate,
        max_pixels=scan.max_pixels,
    )
    network.trainable = False
    baseline = int(np.bincount(data[Split.TRAIN].y, minlength=n_classes).argmax())
    evaluations = evaluate_splits(fit.scored, scan.classes, baseline)
    evaluation = evaluations[Split.TEST]
    counts = {s: data[s].y for s in Split}
    run = _run_summary(
        scan, config, counts, fit.problems, log, fit.best_epoch, fit.stopped_early, evaluation
    )
    backbone = Backbone(
        SMALL_CNN,
        "Small CNN (trained from scratch)",
        size,
        network.output_shape[-1],
        f"1+w{end_to_end.weights_digest(network)}",
        "Convolutional network trained by Sortscope on this dataset only.",
        lambda: network,
        lambda: Availability(True),
        listed=False,
    )
    trained = modelfile.compose(backbone, network, head, scan.classes, run, config.preprocessing)
    return TrainOutcome(
        trained,
        evaluation,
        log.history,
        fit.best_epoch,
        fit.stopped_early,
        fit.problems,
        splits=evaluations,
    )


def _run_summary(
    scan, config, labels_by_split, problems, log, best, stopped, evaluation, fine_tune=None
) -> RunSummary:
    dataset = DatasetSummary(
        # Absolute: the dataset reviewed images are added to later, from any folder.
        root=str(Path(scan.root).absolute()),
        classes=scan.counts(),
        # Images actually used, per class and split (no second pass over the hashes).
        splits={
            c: {s.value: int((labels_by_split[s] == i).sum()) for s in Split}
            for i, c in enumerate(scan.classes)
        },
        images_used=int(sum(len(y) for y in labels_by_split.values())),
        images_skipped=len(problems),
        training_rows=log.training_rows,
        high_range_images=scan.high_range_images,
    )
    return RunSummary(
        model_type=config.model_type,
        config=config,
        dataset=dataset,
        history=tuple(log.history),
        best_epoch=best,
        stopped_early=stopped,
        test_metrics=evaluation,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        tensorboard_run=str(log.tensorboard_run) if log.tensorboard_run else None,
        fine_tune=fine_tune,
    )
