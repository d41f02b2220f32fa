"""A 2-D map of images: their cached features projected so that similar images lie close.

PCA to 50 dimensions, then t-SNE (openTSNE, FFT-accelerated) of at most `LANDMARKS` points;
the other points are placed at the mean position of their nearest landmarks in the PCA space.
Measured on 2 busy cores: t-SNE of all 20,000 points took 235 s (110 s of CPU), far over the
30 s a map may take; landmarks keep the clusters (2-D neighbours share their class as often)
at a fraction of that. On 2 quiet cores 20,000 points of real features take 4.2 s, and a
point's nearest 2-D neighbour has its class 91 % of the time (the PCA plane alone: 55 %;
bench_quality.py). UMAP needs numba, a heavy install. Very small sets get the PCA plane
alone. Beyond `MAX_POINTS` a seeded random sample is mapped and the map says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.backbones import Backbone
from classifier.features import extract_features, open_cache
from classifier.novelty import principal_directions
from classifier.preprocessing import Preprocessing
from classifier.progress import CancelToken, Progress, ProgressCallback, ignore_progress

MAX_POINTS = 50_000  # more stay interactive in pyqtgraph only as a sample
PCA_DIMENSIONS = 50
MIN_TSNE_POINTS = 30  # below, t-SNE's neighbourhoods are meaningless: PCA alone
LANDMARKS = 2_000  # points t-SNE lays out; the rest are placed beside their neighbours
PLACE_NEIGHBOURS = 5
PROJECTING = "Drawing the map"  # the progress stage
_ITERATIONS = 250 + 500  # openTSNE's default early exaggeration + optimisation phases


@dataclass(frozen=True)
class Projection:
    xy: np.ndarray  # (m, 2)
    indices: np.ndarray  # (m,): which input row each point is
    method: str  # "t-SNE" or "PCA"
    total: int  # rows given; more than len(indices) when sampled

    @property
    def note(self) -> str:
        if len(self.indices) == self.total:
            return ""
        return f"A random sample of {len(self.indices):,} of {self.total:,} images is shown."


@dataclass(frozen=True)
class ImageMap:
    """Points of a map and the files they stand for (`paths[i]` is point `xy[i]`)."""

    projection: Projection
    paths: tuple[Path, ...]
    labels: tuple[str, ...]
    unreadable: int  # files whose features could not be computed: not on the map


def project(
    features: np.ndarray,
    *,
    max_points: int = MAX_POINTS,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Projection:
    """2-D coordinates for feature rows (a seeded sample of `max_points` beyond that)."""
    progress = progress or ignore_progress
    x = np.asarray(features, dtype=np.float32)
    total = len(x)
    indices = np.arange(total)
    if total > max_points:
        indices = np.sort(np.random.default_rng(seed).choice(total, max_points, replace=False))
        x = x[indices]
    if len(x) == 0:
        return Projection(np.zeros((0, 2)), indices, "PCA", total)
    reduced = _pca(x, PCA_DIMENSIONS)
    if len(x) < MIN_TSNE_POINTS:
        xy = np.zeros((len(x), 2))
        xy[:, : reduced.shape[1]] = reduced[:, :2]
        return Projection(xy, indices, "PCA", total)
    return Projection(_landmark_tsne(reduced, seed, progress, cancel), indices, "t-SNE", total)


def _landmark_tsne(reduced: np.ndarray, seed: int, progress, cancel) -> np.ndarray:
    if len(reduced) <= LANDMARKS:
        return _tsne(reduced, seed, progress, cancel)
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    landmarks = np.sort(rng.choice(len(reduced), LANDMARKS, replace=False))
    placed = _tsne(reduced[landmarks], seed, progress, cancel)
    index = NearestNeighbors(n_neighbors=PLACE_NEIGHBOURS).fit(reduced[landmarks])
    _, nearest = index.kneighbors(reduced)
    xy = placed[nearest].mean(axis=1)
    xy[landmarks] = placed
    return xy


def _pca(x: np.ndarray, dims: int) -> np.ndarray:
    centred = x - x.mean(axis=0)
    return centred @ principal_directions(centred, dims).T


def _tsne(reduced: np.ndarray, seed: int, progress, cancel) -> np.ndarray:
    from openTSNE import TSNE

    done = [0]

    def callback(iteration, error, embedding) -> bool:
        done[0] += 25
        progress(Progress(PROJECTING, min(done[0], _ITERATIONS), _ITERATIONS))
        return bool(cancel is not None and cancel.cancelled)  # True stops openTSNE

    progress(Progress(PROJECTING, 0, _ITERATIONS))
    tsne = TSNE(
        perplexity=min(30.0, (len(reduced) - 1) / 3),
        n_jobs=2,
        random_state=seed,
        callbacks=callback,
        callbacks_every_iters=25,
        verbose=False,
    )
    embedding = np.asarray(tsne.fit(reduced))
    if cancel is not None:
        cancel.check()  # the callback stopped it part-way
    return embedding


def map_files(
    files: Sequence[Path],
    labels: Sequence[str],
    backbone: Backbone,
    *,
    prep: Preprocessing | None = None,
    digests: Sequence[str | None] | None = None,
    cache_dir: str | Path | None = None,
    max_pixels: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    max_points: int = MAX_POINTS,
) -> ImageMap:
    """A map of `files` (features from the cache, missing ones computed), each point with
    its file and label (the class folder, or the predicted class)."""
    prep = prep or Preprocessing()
    extra = {"max_pixels": max_pixels} if max_pixels is not None else {}
    result = extract_features(
        list(files),
        backbone,
        cache=open_cache(backbone, cache_dir, prep),
        digests=digests,
        progress=progress,
        cancel=cancel,
        prep=prep,
        **extra,
    )
    readable = np.flatnonzero(result.ok)
    projection = project(
        result.features[readable],
        max_points=max_points,
        progress=progress,
        cancel=cancel,
    )
    rows = readable[projection.indices]
    return ImageMap(
        projection,
        tuple(Path(files[i]) for i in rows),
        tuple(labels[i] for i in rows),
        int(len(files) - len(readable)),
    )
