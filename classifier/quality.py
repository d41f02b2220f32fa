"""Suspected label errors: images whose folder disagrees with what the rest of the data says.

Every image gets out-of-fold class probabilities: the dataset's cached features are split into
k folds (scikit-learn, stratified by class), a logistic regression is fitted on k-1 of them and
predicts the one left out, so no image is judged by a model that saw its label. Confident
learning (cleanlab's `find_label_issues`) then picks and ranks the images whose label those
probabilities contradict. A logistic regression on the features stands in for the Keras head:
on 5,000 images it fits in about a second per fold, where the Keras head takes tens. Above
`REDUCE_ABOVE` images the features are first projected on their `REDUCED_DIMENSIONS` principal
directions (unsupervised, so no label leaks between folds), which makes the folds several
times faster.

Which images count as suspects: those whose out-of-fold prediction is another class
(cleanlab's `filter_by="predicted_neq_given"`), worst first by the out-of-fold probability of
their own class (self-confidence). On the tuxpaint benchmark (bench/README.md) that put more
of the moved stamps in the top 20 than cleanlab's default `prune_by_noise_rate`, which stops
at its estimate of the noise and so drops some moved stamps altogether.

Images a person looked at and kept ("Keep as is") are remembered by content and class in
`KeptLabels`, so they are not flagged again.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier import paths
from classifier.atomic import atomic_write
from classifier.backbones import Backbone
from classifier.features import extract_features, open_cache
from classifier.preprocessing import Preprocessing
from classifier.progress import CancelToken, Progress, ProgressCallback, ignore_progress
from classifier.types import Problem, ScanResult

CHECKING_LABELS = "Checking labels"  # the progress stage
FOLDS = 5
REDUCE_ABOVE = 1_000  # images; fewer are fitted on the full features
REDUCED_DIMENSIONS = 256
MIN_PER_CLASS = 2  # a class with fewer images cannot be cross-validated


@dataclass(frozen=True)
class LabelIssue:
    path: Path
    file: str  # relative to the dataset folder, '/' separators
    class_name: str  # the folder it is in
    suggested: str  # the class the out-of-fold probabilities favour
    score: float  # how likely the label is wrong: 1 - out-of-fold probability of its class
    suggested_probability: float  # how sure the suggestion is
    digest: str


@dataclass(frozen=True)
class LabelCheck:
    issues: tuple[LabelIssue, ...]  # worst first
    probabilities: np.ndarray  # (n, classes) out-of-fold, for the images in `checked`
    checked: tuple[int, ...]  # indices into scan.images whose features were read
    problems: tuple[Problem, ...]  # images whose features could not be computed
    kept: int  # suspects left out because a person kept them before
    note: str = ""  # why nothing could be checked, when so


class KeptLabels:
    """Images whose label a person confirmed ("Keep as is"), by content digest and class."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else paths.data_dir() / "kept_labels.json"
        self._lock = threading.Lock()
        self._kept: dict[str, str] = {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("kept"), dict):
                self._kept = {str(k): str(v) for k, v in data["kept"].items() if isinstance(v, str)}
        except (OSError, ValueError):
            pass  # no store yet, or a damaged one: nothing is kept, nothing is lost

    def is_kept(self, digest: str, class_name: str) -> bool:
        with self._lock:
            return self._kept.get(digest) == class_name

    def keep(self, digest: str, class_name: str) -> None:
        with self._lock:
            self._kept[digest] = class_name
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(self.path, "w", encoding="utf-8") as f:
                json.dump({"version": 1, "kept": self._kept}, f)


def out_of_fold_probabilities(
    features: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    folds: int = FOLDS,
    seed: int = 0,
    cancel: CancelToken | None = None,
    on_fold: ProgressCallback | None = None,
) -> np.ndarray:
    """(n, n_classes) probabilities, each row from a model fitted without that image."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features = reduce_dimensions(features)
    counts = np.bincount(labels, minlength=n_classes)
    k = int(max(2, min(folds, counts[counts > 0].min())))
    result = np.zeros((len(labels), n_classes))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for i, (train, test) in enumerate(splitter.split(features, labels)):
        if cancel is not None:
            cancel.check()
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=300))
        model.fit(features[train], labels[train])
        result[np.ix_(test, model.classes_)] = model.predict_proba(features[test])
        if on_fold is not None:
            on_fold(Progress(CHECKING_LABELS, i + 1, k))
    return result


def reduce_dimensions(features: np.ndarray) -> np.ndarray:
    """The features on their principal directions when there are many of them, else as given."""
    from classifier.novelty import principal_directions

    x = np.asarray(features, dtype=np.float32)
    if len(x) <= REDUCE_ABOVE or x.shape[1] <= REDUCED_DIMENSIONS:
        return x
    centred = x - x.mean(axis=0)
    return centred @ principal_directions(centred, REDUCED_DIMENSIONS).T.astype(np.float32)


def check_labels(
    scan: ScanResult,
    backbone: Backbone,
    *,
    prep: Preprocessing | None = None,
    cache_dir: str | Path | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    kept: KeptLabels | None = None,
    seed: int = 0,
) -> LabelCheck:
    """Suspected label errors of a scanned dataset, worst first; features come from the
    cache, the missing ones are computed (with `progress`, stopped by `cancel`)."""
    progress = progress or ignore_progress
    prep = prep or Preprocessing()
    records = list(scan.images)
    result = extract_features(
        [r.path for r in records],
        backbone,
        cache=open_cache(backbone, cache_dir, prep),
        digests=[r.digest for r in records],
        progress=progress,
        cancel=cancel,
        max_pixels=scan.max_pixels,
        prep=prep,
    )
    problems = tuple(result.errors.values())
    index = {name: i for i, name in enumerate(scan.classes)}
    checked = [i for i in range(len(records)) if result.ok[i]]
    labels = np.array([index[records[i].class_name] for i in checked], dtype=np.int64)
    counts = np.bincount(labels, minlength=len(scan.classes))
    usable = counts >= MIN_PER_CLASS
    note = ""
    if usable.sum() < 2:
        note = "Labels can be checked once at least two classes have two or more images each."
        return LabelCheck((), np.zeros((0, len(scan.classes))), (), problems, 0, note)
    # A class of one image cannot be cross-validated: it is left out of the check.
    checked = [i for i, y in zip(checked, labels, strict=True) if usable[y]]
    labels = np.array([index[records[i].class_name] for i in checked], dtype=np.int64)
    features = result.features[checked]
    progress(Progress(CHECKING_LABELS, 0, FOLDS))
    probabilities = out_of_fold_probabilities(
        features, labels, len(scan.classes), seed=seed, cancel=cancel, on_fold=progress
    )
    ranked = _ranked_issues(labels, probabilities, usable)
    kept = kept if kept is not None else KeptLabels()
    issues, n_kept = [], 0
    for row in ranked:
        record = records[checked[row]]
        if kept.is_kept(record.digest, record.class_name):
            n_kept += 1
            continue
        given = int(labels[row])
        best = int(np.argmax(probabilities[row]))
        issues.append(
            LabelIssue(
                path=record.path,
                file=record.path.relative_to(scan.root).as_posix(),
                class_name=record.class_name,
                suggested=scan.classes[best],
                score=float(1.0 - probabilities[row, given]),
                suggested_probability=float(probabilities[row, best]),
                digest=record.digest,
            )
        )
    return LabelCheck(tuple(issues), probabilities, tuple(checked), problems, n_kept, note)


def _ranked_issues(labels: np.ndarray, probabilities: np.ndarray, usable: np.ndarray):
    """Indices of suspected label errors, worst first (cleanlab's confident learning)."""
    from cleanlab.filter import find_label_issues

    # cleanlab wants labels 0..m-1 of classes that occur: drop the unusable columns.
    columns = np.flatnonzero(usable)
    remap = {c: i for i, c in enumerate(columns)}
    local = np.array([remap[y] for y in labels], dtype=np.int64)
    probs = probabilities[:, columns]
    probs = probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-12, None)
    ranked = find_label_issues(
        labels=local,
        pred_probs=probs,
        filter_by="predicted_neq_given",
        return_indices_ranked_by="self_confidence",
        n_jobs=1,
    )
    return [int(i) for i in ranked]
