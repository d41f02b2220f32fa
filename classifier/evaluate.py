"""Honest scores for a classifier on held-out images, next to the majority-class baseline."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.errors import SortscopeError
from classifier.modelfile import SortscopeModel
from classifier.predict import classify_files
from classifier.progress import CancelToken, ProgressCallback
from classifier.types import (
    FILE_FAILURES,
    ClassMetrics,
    Evaluation,
    ScanResult,
    ScoredImage,
    Split,
)

CONFIDENCE_LEVEL = 0.95
Z_95 = 1.959964  # the normal quantile for a two-sided 95% interval
MIN_TEST_IMAGES = 5  # below this many test images a class's scores are a guess


def evaluate_predictions(
    y_true: np.ndarray,
    probabilities: np.ndarray,
    classes: Sequence[str],
    paths: Sequence[Path],
    baseline_class: int,
) -> Evaluation:
    """Scores from true class indices and predicted probabilities (n, n_classes).

    `baseline_class` is the class a do-nothing model would always answer (the largest class in
    training data); its accuracy on these images is reported beside the model's.
    """
    n_classes = len(classes)
    y_true = np.asarray(y_true, dtype=int)
    y_pred = probabilities.argmax(axis=1) if len(y_true) else np.zeros(0, dtype=int)
    confusion = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(confusion, (y_true, y_pred), 1)
    n = len(y_true)
    per_class = {}
    recalls = []
    for i, name in enumerate(classes):
        tp = confusion[i, i]
        support = int(confusion[i].sum())
        predicted = int(confusion[:, i].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = ClassMetrics(float(precision), float(recall), float(f1), support)
        if support:
            recalls.append(recall)
    scored = tuple(
        ScoredImage(
            Path(paths[i]),
            classes[y_true[i]],
            classes[y_pred[i]],
            float(probabilities[i, y_pred[i]]),
        )
        for i in range(n)
    )
    misclassified = tuple(
        sorted(
            (s for s in scored if s.true_label != s.predicted_label),
            key=lambda s: -s.confidence,
        )
    )
    return Evaluation(
        classes=tuple(classes),
        n_images=n,
        accuracy=float((y_pred == y_true).mean()) if n else 0.0,
        balanced_accuracy=float(np.mean(recalls)) if recalls else 0.0,
        per_class=per_class,
        confusion_matrix=tuple(tuple(int(v) for v in row) for row in confusion),
        misclassified=misclassified,
        baseline_accuracy=float((y_true == baseline_class).mean()) if n else 0.0,
        baseline_class=classes[baseline_class],
        images=scored,
    )


@dataclass(frozen=True)
class SplitScores:
    """One split's images as the model scored them: probabilities (n, classes), true class
    indices and paths, row for row."""

    probabilities: np.ndarray
    y: np.ndarray
    paths: Sequence[Path]


def evaluate_splits(
    scored: Mapping[Split, SplitScores], classes: Sequence[str], baseline_class: int
) -> dict[Split, Evaluation]:
    """Every split's scores, with the same baseline class (the largest in training)."""
    return {
        split: evaluate_predictions(s.y, s.probabilities, classes, s.paths, baseline_class)
        for split, s in scored.items()
    }


def misclassified_images(splits: Mapping[Split, Evaluation]) -> list[tuple[Split, ScoredImage]]:
    """Every image the model gets wrong, training images first, then validation and test;
    the most confident mistakes first within each (those are the likeliest wrong labels)."""
    return [
        (split, image)
        for split in Split
        if split in splits
        for image in splits[split].misclassified
    ]


@dataclass(frozen=True)
class Interval:
    """Where the true accuracy lies with `level` confidence, given the test set's size."""

    low: float
    high: float
    level: float = CONFIDENCE_LEVEL


def wilson_interval(correct: int, total: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for `correct` successes out of `total`: unlike the normal
    approximation it stays inside 0..1 and is honest for small sets and scores near 100%."""
    if total <= 0:
        return 0.0, 1.0
    p = correct / total
    z2 = z * z
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    half = z / (1 + z2 / total) * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy_interval(evaluation: Evaluation) -> Interval:
    """The 95% interval of the test accuracy: 9 test images leave a wide one."""
    correct = sum(evaluation.confusion_matrix[i][i] for i in range(len(evaluation.classes)))
    return Interval(*wilson_interval(correct, evaluation.n_images))


def verdict(evaluation: Evaluation) -> str:
    """How the model compares with always answering the largest class, in a few words that
    fit "the model is ... that baseline": "clearly better" only when the whole confidence
    interval of its accuracy lies above the baseline's score."""
    interval = accuracy_interval(evaluation)
    baseline = evaluation.baseline_accuracy
    if evaluation.n_images and interval.low > baseline:
        return "clearly better than"
    if evaluation.n_images and interval.high < baseline:
        return "worse than"
    if evaluation.accuracy > baseline:
        return "not clearly better than"  # the test set is too small to tell
    return "no better than"


def small_test_classes(evaluation: Evaluation) -> dict[str, int]:
    """Classes with fewer than MIN_TEST_IMAGES test images: their scores are a guess."""
    return {
        name: m.support for name, m in evaluation.per_class.items() if m.support < MIN_TEST_IMAGES
    }


def reliability_warning(evaluation: Evaluation) -> str:
    """A sentence warning about classes with too few test images, or "" when there are none."""
    small = small_test_classes(evaluation)
    if not small or not evaluation.n_images:
        return ""
    listed = ", ".join(f"'{name}' {n}" for name, n in small.items())
    return (
        f"Few test images in {listed} (fewer than {MIN_TEST_IMAGES}): their precision and "
        "recall are rough guesses. Add images to these classes, or raise the test share."
    )


def evaluation_text(evaluation: Evaluation) -> str:
    """A few lines in plain words for the terminal and the log."""
    if evaluation.n_images == 0:
        return (
            "Not tested: no image was held out for the test (the test percentage is 0, or the "
            "classes are too small to spare one). To get a test score, hold some out "
            "(--test-percent 10, or Test % in the window) with at least 3 images per class, or "
            "run 'sortscope evaluate' on a separate labelled folder."
        )
    interval = accuracy_interval(evaluation)
    lines = [
        f"Test accuracy {evaluation.accuracy:.1%} on {evaluation.n_images} held-out images "
        f"({interval.level:.0%} confidence interval {interval.low:.1%} to {interval.high:.1%}; "
        f"balanced accuracy {evaluation.balanced_accuracy:.1%}).",
        f"Always answering '{evaluation.baseline_class}' would score "
        f"{evaluation.baseline_accuracy:.1%}: the model is {verdict(evaluation)} that baseline.",
    ]
    warning = reliability_warning(evaluation)
    if warning:
        lines.append(f"Warning: {warning}")
    width = max(len(c) for c in evaluation.classes)
    lines.append(f"{'class':<{width}}  precision  recall     f1  support")
    for name, m in evaluation.per_class.items():
        lines.append(
            f"{name:<{width}}  {m.precision:9.3f}  {m.recall:6.3f}  {m.f1:5.3f}  {m.support:7d}"
        )
    return "\n".join(lines)


def evaluate_scan(
    scan: ScanResult,
    model: SortscopeModel,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    cache_dir: str | Path | None = None,
) -> tuple[Evaluation, int]:
    """Score `model` on every image of a labelled folder; also returns how many were unreadable.

    The baseline is the class the model saw most often in training.
    """
    names = model.class_names
    unknown = [c for c in scan.classes if c not in names]
    if unknown:
        raise SortscopeError(
            "The model does not know these classes of the test data: "
            + ", ".join(unknown)
            + f". It knows: {', '.join(names)}.",
            "Evaluate on folders named like the classes the model was trained on.",
        )
    if not scan.images:
        raise SortscopeError(
            f"No readable images under {scan.root}.",
            "Point evaluate at a folder with one sub-folder per class.",
        )
    result = classify_files(
        [r.path for r in scan.images],
        scan.root,
        model,
        progress=progress,
        cancel=cancel,
        cache_dir=cache_dir,
        max_pixels=scan.max_pixels,
    )
    by_path = {r.path: r for r in result.rows}
    good = [r for r in scan.images if not by_path[r.path].error]
    index = {c: i for i, c in enumerate(names)}
    probabilities = np.array([by_path[r.path].probabilities for r in good]).reshape(
        len(good), len(names)
    )
    dataset = model.info.run.dataset
    trained = dataset.classes if dataset else {}
    baseline = max(range(len(names)), key=lambda i: trained.get(names[i], 0))
    evaluation = evaluate_predictions(
        np.array([index[r.class_name] for r in good], dtype=int),
        probabilities,
        names,
        [r.path for r in good],
        baseline,
    )
    unreadable = len(scan.images) - len(good) + sum(p.kind in FILE_FAILURES for p in scan.problems)
    return evaluation, unreadable
