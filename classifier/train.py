"""Training runs, from a scanned dataset to an evaluated model ready for `modelfile.save_model`.

- transfer (the default), retrain.py done right: cached backbone features (plus cached
  augmented copies when asked), a small head fitted on them in NumPy (`head_fit`; its weights
  then live in the Keras head the model file stores), then optionally the backbone's last
  blocks fine-tuned end to end from images (with Keras);
- mlp: the same head machinery on raw 32x32 pixels (the "pixels_32" backbone);
- small_cnn: a small convolutional network trained from scratch on 64x64 images.
Each evaluates on the held-out test split and composes one inference model: pixels in,
probabilities out. The features and labels come from `training_data`, fits from images from
`image_fit`, the record stored with the model from `run_summary`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from classifier import end_to_end, modelfile
from classifier.backbones import SMALL_CNN, Availability, Backbone, load_feature_model
from classifier.errors import DatasetError, SortscopeError
from classifier.evaluate import SplitScores, evaluate_splits
from classifier.head_fit import HeadFit, HeadOptions, fit_head
from classifier.image_fit import (
    fine_tune_backbone,
    fit_from_images,
    image_model,
    trained_backbone,
)
from classifier.keras_loop import (
    EpochCallback,
    RunLog,
    build_head,
    head_weights,
    set_head_weights,
)
from classifier.novelty import fit_novelty
from classifier.progress import CancelToken, FitStage, ProgressCallback, ignore_progress
from classifier.run_summary import build_run_summary
from classifier.split import assign_splits, split_key
from classifier.training_data import (
    SplitData,
    feature_backbone,
    gather_splits,
    training_arrays,
)
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
    if config.int8 and (config.model_type != "transfer" or config.fine_tunes):
        raise SortscopeError(
            "Speed: fast (int8) applies to transfer learning without fine-tuning only.",
            "Choose Speed: standard (leave out --int8), or train the head only.",
        )
    if config.augment_copies and not config.augmentation.enabled:
        raise SortscopeError(
            "Augmented copies are asked for, but no change to make them is chosen.",
            "Turn on flips, rotations, zoom, brightness or contrast, or set copies to 0.",
        )


def head_config(config: TrainConfig) -> TrainConfig:
    """The MLP baseline is a head with one hidden layer (128 units unless told otherwise)."""
    if config.model_type == "mlp" and not config.hidden_units:
        return replace(config, hidden_units=128)
    return config


def train_head(
    train: SplitData,
    validation: SplitData,
    n_classes: int,
    config: TrainConfig,
    log: RunLog | None = None,
) -> tuple[object, HeadFit]:
    """Fit a head on features (in NumPy, `classifier.head_fit`); returns the Keras head holding
    the fitted weights, and the fit (its NumPy layers, best epoch, early stop)."""
    from classifier.tf_runtime import keras

    log = log or RunLog(config)
    keras().utils.set_random_seed(config.seed)  # same data + same seed = same model
    config = head_config(config)
    # Keras' seeded Glorot initialisation, as when Keras fitted the head: the same start.
    head = build_head(train.x.shape[1], n_classes, config)
    has_val = len(validation.y) > 0
    x, y = training_arrays(train, n_classes, config)
    log.training_rows = len(y)
    on_batch, on_epoch = log.stage_reports(FitStage.HEAD, config.epochs)
    fit = fit_head(
        x,
        y,
        n_classes,
        HeadOptions.from_config(config),
        validation=(validation.x, validation.y) if has_val else None,
        on_epoch=on_epoch,
        on_batch=on_batch,
        cancel=log.cancel,
        initial=head_weights(head),
    )
    log.cancel.check()
    set_head_weights(head, fit.layers)
    return head, fit


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
    head, fit = train_head(data[Split.TRAIN], data[Split.VALIDATION], n_classes, config, log)
    best_epoch, stopped_early = fit.best_epoch, fit.stopped_early
    feature_model = load_feature_model(backbone)
    fine_tune = None
    if config.fine_tunes:
        feature_model, fit, fine_tune = fine_tune_backbone(
            data, feature_model, head, config, progress, log, scan.max_pixels
        )
        backbone = trained_backbone(backbone, feature_model, "ft")
        problems += fit.problems
        scored = fit.scored
    else:  # from the cached features: no image goes through the network again
        scored = {s: SplitScores(fit.predict(data[s].x), data[s].y, data[s].paths) for s in Split}
    baseline = int(np.bincount(data[Split.TRAIN].y, minlength=n_classes).argmax())
    splits = evaluate_splits(scored, scan.classes, baseline)
    evaluation = splits[Split.TEST]
    counts = {s: data[s].y for s in Split}
    run = build_run_summary(
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


def _train_small_cnn(scan, config, progress, log: RunLog) -> TrainOutcome:
    """A small CNN from scratch: the baseline that shows what pretrained features buy."""
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
    fit = fit_from_images(
        image_model(network, head, "small_cnn_training"),
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
    run = build_run_summary(
        scan, config, counts, fit.problems, log, fit.best_epoch, fit.stopped_early, evaluation
    )
    backbone = Backbone(
        SMALL_CNN,
        "Small CNN (trained from scratch)",
        end_to_end.SMALL_CNN_SIZE,
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
