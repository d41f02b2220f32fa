"""Re-score classified rows with another head, from cached features: no decoding, no network.

Every row of a batch result carries its file's content digest, and the batch's features are
in the feature cache under that digest; a retrained head (same backbone and preprocessing)
gives every row new probabilities with NumPy alone (100,000 rows in well under a second, see
bench/bench_review.py):

    p, found = rescore(result.rows, new_model)          # NaN rows where no feature is cached
    rows = relabel(result.rows, p, new_model.class_names, threshold)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from classifier.features import open_cache
from classifier.modelfile import SortscopeModel
from classifier.predict import label_for
from classifier.types import Prediction

CHUNK_ROWS = 16384  # features gathered and scored per step: bounded memory for huge batches


def rescore(
    rows: Sequence[Prediction], model: SortscopeModel, cache_dir: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """New probabilities (rows, classes) for every row whose features are cached, NaN for the
    others (error rows, rows from another backbone or preprocessing); and the found mask."""
    cache = open_cache(model.backbone, cache_dir, model.preprocessing)
    n_classes = len(model.class_names)
    out = np.full((len(rows), n_classes), np.nan, dtype=np.float32)
    found = np.zeros(len(rows), dtype=bool)
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        digests = [None if r.error else r.digest for r in chunk]
        features, ok = cache.get_many(digests)
        if ok.any():
            where = start + np.flatnonzero(ok)
            out[where] = model.predict_head(features[ok])
            found[where] = True
    return out, found


def relabel(
    rows: Sequence[Prediction],
    probabilities: np.ndarray,
    class_names: Sequence[str],
    threshold: float = 0.0,
) -> list[Prediction]:
    """Rows with new labels, confidences and probabilities where `probabilities` has them;
    rows with NaN probabilities are returned unchanged."""
    scored = ~np.isnan(probabilities).any(axis=1)
    out = list(rows)
    for i in np.flatnonzero(scored):
        p = tuple(probabilities[i].tolist())
        label = label_for(p, class_names, threshold)
        out[i] = replace(rows[i], label=label, confidence=max(p), probabilities=p)
    return out
