"""How unsure the model is of each result, and the review order: least certain first (or the
most unfamiliar first, for a model that scores novelty).

Works on a results array, (rows, classes) probabilities, with NaN rows for files that failed:

    p = probability_matrix(result.rows, len(model.class_names))
    order = review_order(p, by="margin", skip=reviewed_mask)  # row indices, least certain first

- margin: the best probability minus the second best (0: a coin toss between two classes);
- entropy: -sum(p log p) in nats (highest when the probability is spread over every class);
- novelty: the rows' novelty scores (classifier/novelty.py), highest first; rows without a score
  are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from classifier.types import Prediction

ORDERS = ("margin", "entropy", "novelty")


def probability_matrix(rows: Sequence[Prediction], n_classes: int) -> np.ndarray:
    """The rows' probabilities as one float32 array; rows without any (errors) are NaN."""
    out = np.full((len(rows), n_classes), np.nan, dtype=np.float32)
    for i, row in enumerate(rows):
        if row.probabilities is not None and not row.error:
            out[i] = row.probabilities
    return out


def margins(probabilities: np.ndarray) -> np.ndarray:
    """Best minus second-best probability per row (the best itself with a single class)."""
    p = np.asarray(probabilities, dtype=np.float32)
    if p.shape[1] < 2:
        return p[:, 0].copy()
    top2 = np.partition(p, p.shape[1] - 2, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def entropies(probabilities: np.ndarray) -> np.ndarray:
    """Shannon entropy per row, in nats (0 for a certain answer, log(classes) at most)."""
    p = np.asarray(probabilities, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    out = -terms.sum(axis=1)
    out[np.isnan(p).any(axis=1)] = np.nan
    return out


def novelty_scores(rows: Sequence[Prediction]) -> np.ndarray:
    """The rows' novelty scores as one float32 array; NaN where a row has none."""
    values = [r.novelty if r.novelty is not None and not r.error else np.nan for r in rows]
    return np.asarray(values, dtype=np.float32).reshape(len(rows))


def review_order(
    probabilities: np.ndarray,
    by: str = "margin",
    skip: np.ndarray | None = None,
    novelty: np.ndarray | None = None,
) -> np.ndarray:
    """Row indices to review, least certain first (by="novelty": most unfamiliar first, from
    `novelty`, one score per row); rows without probabilities (or without a novelty score) and
    rows in `skip` (a boolean mask, e.g. those already reviewed) are left out. Ties keep row
    order."""
    if by == "novelty":
        if novelty is None:
            raise ValueError("the novelty order needs the rows' novelty scores")
        failed = np.isnan(np.asarray(probabilities, dtype=np.float32)).any(axis=1)
        key = np.where(failed, np.nan, -np.asarray(novelty, dtype=np.float32))  # high: first
    elif by == "margin":
        key = margins(probabilities)  # small margin: unsure
    elif by == "entropy":
        key = -entropies(probabilities)  # high entropy: unsure
    else:
        raise ValueError(f"unknown review order {by!r}; one of {ORDERS}")
    keep = ~np.isnan(key)
    if skip is not None:
        keep &= ~np.asarray(skip, dtype=bool)
    rows = np.flatnonzero(keep)
    return rows[np.argsort(key[rows], kind="stable")]
