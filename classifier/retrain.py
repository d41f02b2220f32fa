"""Retrain with corrections: the head fitted again on the grown dataset, in seconds.

After reviewed images were added to the dataset (`classifier.dataset_add`), the dataset is
trained again with the previous run's options (`training` in the model file). Every image
already in the feature cache costs a dictionary look-up (the scan knows its digest); only
images new to the cache go through the network. The split is a hash of each image's path in
its class folder, so the old test images are still the test images, and both models are
scored on exactly the same ones. The result says:

- the old and the new model's test scores on the same test images (the current test split;
  classes the old model did not know count as its mistakes);
- of the reviewed images the old model got wrong, how many the new model gets right.

API (the app's "Retrain with corrections" runs it off the GUI thread):

    result = retrain_with_corrections(old_model, corrections={digest: "galaxy", ...})
    result.outcome.model          # the new run, not saved (never overwrites a model file)
    result.old_score.accuracy, result.new_score.accuracy, result.corrected_accuracy

Only models whose head reads cached features can retrain this way (transfer learning without
fine-tuning, and the MLP baseline); others are trained again in the Train area.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.errors import SortscopeError
from classifier.evaluate import evaluate_predictions
from classifier.features import extract_features, open_cache
from classifier.keras_loop import EpochCallback
from classifier.model_info import ModelInfo
from classifier.modelfile import SortscopeModel
from classifier.progress import CancelToken, ProgressCallback
from classifier.scan import scan_dataset
from classifier.split import assign_splits, split_key
from classifier.train import TrainOutcome, feature_backbone, train
from classifier.types import Evaluation, ScanResult, Split, TrainConfig


@dataclass(frozen=True)
class RetrainResult:
    outcome: TrainOutcome  # the new run; its model is not saved
    old_score: Evaluation  # the previous model on the test images
    new_score: Evaluation  # the new model on the same images
    corrected: int  # reviewed images the old model got wrong (with cached features)
    corrected_right: int  # of those, how many the new model gets right

    @property
    def corrected_accuracy(self) -> float | None:
        return self.corrected_right / self.corrected if self.corrected else None

    def text(self) -> str:
        old, new = self.old_score, self.new_score
        line = (
            f"Test accuracy {old.accuracy:.1%} before, {new.accuracy:.1%} after, on the same "
            f"{new.n_images} test images."
        )
        if self.corrected:
            line += (
                f" Of the {self.corrected} reviewed images the old model got wrong, the new "
                f"one gets {self.corrected_right} right."
            )
        return line


def trained_on(info: ModelInfo) -> Path | None:
    """The dataset folder the model was trained on, as recorded in its file."""
    dataset = info.run.dataset
    return Path(dataset.root) if dataset and dataset.root else None


def check_retrainable(config: TrainConfig) -> None:
    if config.model_type == "small_cnn" or config.fine_tune_blocks > 0:
        raise SortscopeError(
            "This model was trained from images (a small CNN, or a fine-tuned backbone), so it "
            "cannot be retrained from cached features in seconds.",
            "Train it again in the Train area; the images you added are part of the dataset.",
        )


def retrain_with_corrections(
    old: SortscopeModel,
    corrections: Mapping[str, str] | None = None,
    *,
    scan: ScanResult | None = None,
    dataset: str | Path | None = None,
    progress: ProgressCallback | None = None,
    on_epoch: EpochCallback | None = None,
    cancel: CancelToken | None = None,
    cache_dir: str | Path | None = None,
    on_batch: ProgressCallback | None = None,
) -> RetrainResult:
    """Train again on the dataset (a fresh `scan` of it, or `dataset`, or the one recorded in
    `old`) with `old`'s options, and score both models on the same test images.

    `corrections` maps content digests of reviewed images to the class a person chose (the
    journal's decisions, "none of these" left out).
    """
    config = old.info.run.config  # the previous run's options, as its file records them
    check_retrainable(config)
    if scan is None:
        folder = dataset or trained_on(old.info)
        if folder is None:
            raise SortscopeError(
                "The model does not say which dataset it was trained on.",
                "Choose the dataset folder to retrain on.",
            )
        scan = scan_dataset(folder, progress, cancel, hdu=config.fits_hdu)
    outcome = train(
        scan,
        config,
        progress=progress,
        on_epoch=on_epoch,
        cancel=cancel,
        cache_dir=cache_dir,
        on_batch=on_batch,
    )
    new = outcome.model
    classes = tuple(new.class_names)
    backbone = feature_backbone(config)
    cache = open_cache(backbone, cache_dir, config.preprocessing)

    splits = assign_splits(scan.images, config.split)
    test = [r for r in scan.images if splits[split_key(r)] == Split.TEST]
    found = extract_features(
        [r.path for r in test],
        backbone,
        cache=cache,
        digests=[r.digest for r in test],
        prep=config.preprocessing,
        cancel=cancel,
    )  # all cached by the training run just made: no decoding
    index = {name: i for i, name in enumerate(classes)}
    x = found.features[found.ok]
    y = np.array([index[r.class_name] for r, ok in zip(test, found.ok, strict=True) if ok])
    paths = [r.path for r, ok in zip(test, found.ok, strict=True) if ok]
    baseline = index[outcome.evaluation.baseline_class]
    old_p = _in_order(old.predict_head(x), old.class_names, classes)
    old_score = evaluate_predictions(y, old_p, classes, paths, baseline)
    new_score = evaluate_predictions(y, new.predict_head(x), classes, paths, baseline)

    wrong, right = _corrections_score(old, new, corrections or {}, cache, index)
    return RetrainResult(outcome, old_score, new_score, wrong, right)


def _in_order(probabilities: np.ndarray, names, classes) -> np.ndarray:
    """An old model's probabilities as columns of `classes` (0 for classes it never knew)."""
    out = np.zeros((len(probabilities), len(classes)), dtype=np.float32)
    position = {name: i for i, name in enumerate(names)}
    for j, name in enumerate(classes):
        if name in position:
            out[:, j] = probabilities[:, position[name]]
    return out


def _corrections_score(old, new, corrections, cache, index) -> tuple[int, int]:
    usable = [(d, index[label]) for d, label in corrections.items() if label in index]
    if not usable:
        return 0, 0
    features, ok = cache.get_many([d for d, _ in usable])
    truth = np.array([c for _, c in usable])[ok]
    if not ok.any():
        return 0, 0
    old_guess = _in_order(old.predict_head(features[ok]), old.class_names, new.class_names)
    wrong = old_guess.argmax(axis=1) != truth
    new_guess = new.predict_head(features[ok][wrong]).argmax(axis=1)
    return int(wrong.sum()), int((new_guess == truth[wrong]).sum())
