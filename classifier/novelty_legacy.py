"""The first novelty description (Sortscope models saved before the nearest-neighbour one):
a PCA basis of the training features, class means in it and a shared within-class covariance
(the "tied Gaussian" of Lee et al. 2018, Mahalanobis distance to the nearest class), plus the
size of what the basis leaves out. Kept so that those model files still load and score; new
models get classifier/novelty.py's NeighbourNovelty, which separated a left-out category of
the tuxpaint benchmark better (bench/README.md).
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass

import numpy as np

from classifier.novelty import (
    QUANTILES,
    CalibratedScore,
    NoveltyInfo,
    principal_directions,
)

METHOD = "pca-tied-mahalanobis"
MAX_COMPONENTS = 32
MAX_FIT_ROWS = 20_000  # a larger training set is subsampled for the fit (seeded)
_ARRAYS = ("mean", "basis", "class_means", "precision", "scales", "quantiles")


@dataclass(frozen=True)
class MahalanobisNovelty(CalibratedScore):
    mean: np.ndarray  # (d,)
    basis: np.ndarray  # (k, d): principal directions, rows orthonormal
    class_means: np.ndarray  # (c, k) in the basis' coordinates
    precision: np.ndarray  # (k, k): inverse of the shared within-class covariance
    scales: np.ndarray  # (2,): typical distance and residual of training images
    quantiles: np.ndarray  # (QUANTILES,): training scores, ascending
    training_images: int = 0

    @property
    def info(self) -> NoveltyInfo:
        return NoveltyInfo(METHOD, int(self.basis.shape[0]), int(self.training_images))

    def parts(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Squared Mahalanobis distance to the nearest class mean, and squared residual."""
        x = np.asarray(features, dtype=np.float64) - self.mean
        z = x @ self.basis.T
        residual = np.maximum(np.einsum("ij,ij->i", x, x) - np.einsum("ij,ij->i", z, z), 0.0)
        diff = z[:, None, :] - self.class_means[None, :, :]  # (n, c, k)
        distance = np.einsum("nck,kl,ncl->nc", diff, self.precision, diff).min(axis=1)
        return distance, residual

    def raw_scores(self, features: np.ndarray) -> np.ndarray:
        distance, residual = self.parts(features)
        return distance / self.scales[0] + residual / self.scales[1]

    def to_npz(self) -> bytes:
        buffer = io.BytesIO()
        arrays = {name: getattr(self, name).astype(np.float32) for name in _ARRAYS}
        np.savez(buffer, **arrays)
        return buffer.getvalue()


def fit_mahalanobis(features: np.ndarray, labels: np.ndarray, n_classes: int, seed: int = 0):
    """The description of training `features` (n, d) with class `labels`; None with fewer
    than 4 images (nothing to describe).

    The training scores it keeps are out-of-sample (each half scored by a description of the
    other half): scored by a description fitted on themselves, training images would look
    more typical than any new image of the same classes ever does.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    if len(x) < 4:
        return None
    rng = np.random.default_rng(seed)
    if len(x) > MAX_FIT_ROWS:
        rows = rng.choice(len(x), MAX_FIT_ROWS, replace=False)
        x, y = x[rows], y[rows]
    half = rng.permutation(len(x)) < len(x) // 2
    held_out = np.concatenate(
        [
            _fit(x[half], y[half], n_classes).raw_scores(x[~half]),
            _fit(x[~half], y[~half], n_classes).raw_scores(x[half]),
        ]
    )
    model = _fit(x, y, n_classes)
    quantiles = np.quantile(held_out, np.linspace(0, 1, QUANTILES))
    return dataclasses.replace(model, quantiles=quantiles, training_images=len(features))


def _fit(x: np.ndarray, y: np.ndarray, n_classes: int) -> MahalanobisNovelty:
    mean = x.mean(axis=0)
    centred = x - mean
    # Far fewer directions than images, so new images of known classes keep a residual of
    # the same size as training images.
    k = max(1, min(MAX_COMPONENTS, len(x) // 4, x.shape[1]))
    basis = principal_directions(centred, k)
    z = centred @ basis.T
    present = [c for c in range(n_classes) if (y == c).any()]
    class_means = np.stack([z[y == c].mean(axis=0) for c in present])
    nearest = {c: i for i, c in enumerate(present)}
    within = z - class_means[[nearest[c] for c in y]]
    covariance = within.T @ within / len(z)
    # Shrinkage keeps the inverse finite when few images span the space.
    covariance += np.eye(k) * (1e-3 * np.trace(covariance) / k + 1e-12)
    precision = np.linalg.inv(covariance)
    unscaled = MahalanobisNovelty(mean, basis, class_means, precision, np.ones(2), np.zeros(1))
    distance, residual = unscaled.parts(x)
    scales = np.array([max(distance.mean(), 1e-12), max(residual.mean(), 1e-12)])
    return dataclasses.replace(unscaled, scales=scales)


def mahalanobis_from_npz(data: bytes, info: NoveltyInfo, feature_dim: int) -> MahalanobisNovelty:
    """The arrays of novelty.npz, checked against each other; raises ValueError if they do not
    fit (the caller calls the file damaged)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {name: np.asarray(npz[name], dtype=np.float64) for name in _ARRAYS}
    k = info.components
    shapes_ok = (
        arrays["mean"].shape == (feature_dim,)
        and arrays["basis"].shape == (k, feature_dim)
        and arrays["class_means"].ndim == 2
        and arrays["class_means"].shape[1] == k
        and arrays["precision"].shape == (k, k)
        and arrays["scales"].shape == (2,)
        and arrays["quantiles"].ndim == 1
        and len(arrays["quantiles"]) >= 2
    )
    if not shapes_ok:
        raise ValueError("novelty.npz does not fit the model's features")
    if not all(np.isfinite(a).all() for a in arrays.values()) or (arrays["scales"] <= 0).any():
        raise ValueError("novelty.npz holds values that are not finite")
    return MahalanobisNovelty(**arrays, training_images=info.training_images)
