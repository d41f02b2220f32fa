"""Batch classification: every image under a folder through a saved model, streamed in chunks.

Features come through the same cache as training, so images seen before (or re-classified) are
not decoded again; only the small head runs for them. A file that cannot be read becomes a row
with its error and the run continues.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier import fits_reader, images
from classifier.errors import ImageError, SortscopeError
from classifier.features import DEFAULT_BATCH_SIZE, FeatureRow, iter_features, open_cache
from classifier.modelfile import SortscopeModel
from classifier.names import UNCERTAIN, UNFAMILIAR
from classifier.progress import CancelToken, ProgressCallback
from classifier.types import DEFAULT_THRESHOLD, ExtractionStats, Prediction

RowsCallback = Callable[[list[Prediction]], None]


@dataclass(frozen=True)
class ClassifyResult:
    folder: Path
    rows: list[Prediction]  # sorted by file
    stats: ExtractionStats
    extra_columns: tuple[str, ...] = ()  # FITS header keywords each row has values for

    @property
    def n_errors(self) -> int:
        return sum(1 for r in self.rows if r.error)


def iter_image_files(folder: Path, recursive: bool = False) -> Iterator[Path]:
    """Image files under `folder` in sorted order, hidden files and folders skipped."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if recursive else []
        for name in sorted(filenames):
            if not name.startswith(".") and images.is_image_name(name):
                yield Path(dirpath) / name


def image_folder(folder: str | Path) -> Path:
    """`folder` as a Path; raises a SortscopeError saying what to do if it is not a folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SortscopeError(
            f"The folder {folder} does not exist or is not a folder.",
            "Choose the folder that holds the images to classify.",
        )
    return folder


def list_image_files(folder: str | Path, recursive: bool = False) -> list[Path]:
    folder = image_folder(folder)
    return sorted(
        iter_image_files(folder, recursive), key=lambda p: p.relative_to(folder).as_posix()
    )


def label_for(probabilities: Sequence[float], class_names: Sequence[str], threshold: float) -> str:
    """The most probable class, or UNCERTAIN when its probability is below `threshold`.

    Pure Python on purpose: the results table relabels every row with it when the threshold
    moves (a million rows), and for one row a NumPy call would be slower.
    """
    best = max(range(len(probabilities)), key=probabilities.__getitem__)
    return class_names[best] if probabilities[best] >= threshold else UNCERTAIN


def header_columns(path: Path, keys: Sequence[str], hdu: str | int | None) -> tuple[str, ...]:
    """Values of FITS header `keys` for one file; blanks for other files and missing keys."""
    if not keys:
        return ()
    blank = ("",) * len(keys)
    if not fits_reader.is_fits_name(path.name):
        return blank
    try:
        values = fits_reader.header_values(path, keys, hdu)
    except ImageError:
        return blank
    return tuple(values[key] for key in keys)


@dataclass(frozen=True)
class NoveltyOptions:
    """Score each image's novelty; above `threshold` (when given) it is labelled UNFAMILIAR."""

    threshold: float | None = None


def novelty_label(label: str, novelty: float | None, threshold: float | None) -> str:
    """UNFAMILIAR above the novelty threshold, otherwise `label` (a class or UNCERTAIN)."""
    if threshold is not None and novelty is not None and novelty > threshold:
        return UNFAMILIAR
    return label


def _to_predictions(
    chunk: list[FeatureRow], files, folder, model, threshold, fits_keys, novelty
) -> list[Prediction]:
    good = [row for row in chunk if row.features is not None]
    features = np.stack([r.features for r in good]) if good else None
    probabilities = model.predict_head(features) if good else np.zeros((0, len(model.class_names)))
    by_index = {row.index: p for row, p in zip(good, probabilities, strict=True)}
    scores = {}
    if novelty is not None and model.novelty is not None and good:
        values = model.novelty.score(features)
        scores = {row.index: float(v) for row, v in zip(good, values, strict=True)}
    out = []
    for row in chunk:
        path = Path(files[row.index])
        rel = path.relative_to(folder).as_posix()
        if row.features is None:  # its headers are not read either: it may be a pipe
            message = f"{row.problem.message} {row.problem.advice}".strip()
            blank = ("",) * len(fits_keys)
            out.append(Prediction(rel, "", None, None, message, path, blank, row.digest or ""))
            continue
        extra = header_columns(path, fits_keys, model.preprocessing.hdu)
        probabilities = tuple(float(v) for v in by_index[row.index])
        label = label_for(probabilities, model.class_names, threshold)
        score = scores.get(row.index)
        if novelty is not None:
            label = novelty_label(label, score, novelty.threshold)
        confidence = max(probabilities)
        digest = row.digest or ""
        out.append(
            Prediction(rel, label, confidence, probabilities, "", path, extra, digest, score)
        )
    return out


def classify_files(
    files: list[Path],
    folder: str | Path,
    model: SortscopeModel,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    on_rows: RowsCallback | None = None,
    cache_dir: str | Path | None = None,
    fits_keys: Sequence[str] = (),
    max_pixels: int = images.DEFAULT_MAX_PIXELS,
    novelty: NoveltyOptions | None = None,
    workers: int | None = None,
) -> ClassifyResult:
    """Classify `files` (all under `folder`); `on_rows` receives each chunk as it is ready.

    `fits_keys` names FITS header keywords whose values each row carries in `extra`; images
    above `max_pixels` become error rows. With `novelty`, rows carry a novelty score when the
    model has a description of its training features (`model.novelty`). `workers`: threads
    (default one per core).
    """
    if not 0.0 <= threshold <= 1.0:
        raise SortscopeError(
            f"The confidence threshold {threshold:g} is outside 0..1.", "Use e.g. 0.6."
        )
    limit = novelty.threshold if novelty is not None else None
    if limit is not None and not 0.0 <= limit <= 1.0:
        raise SortscopeError(
            f"The novelty threshold {limit:g} is outside 0..1.",
            "Use e.g. 0.99 (more unusual than 99 % of the training images).",
        )
    folder = Path(folder)
    backbone = model.backbone
    prep = model.preprocessing
    stats: list[ExtractionStats] = []
    rows: list[Prediction] = []
    chunks = iter_features(
        files,
        backbone,
        open_cache(backbone, cache_dir, prep),
        batch_size=batch_size,
        progress=progress,
        cancel=cancel,
        max_pixels=max_pixels,
        stats=stats,
        prep=prep,
        workers=workers,
    )
    for chunk in chunks:
        predictions = _to_predictions(chunk, files, folder, model, threshold, fits_keys, novelty)
        rows.extend(predictions)
        if on_rows is not None:
            on_rows(predictions)
    rows.sort(key=lambda r: r.file)
    return ClassifyResult(folder, rows, stats[0], tuple(fits_keys))


def classify_folder(
    folder: str | Path,
    model: SortscopeModel,
    *,
    recursive: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    on_rows: RowsCallback | None = None,
    cache_dir: str | Path | None = None,
    fits_keys: Sequence[str] = (),
    max_pixels: int = images.DEFAULT_MAX_PIXELS,
    novelty: NoveltyOptions | None = None,
) -> ClassifyResult:
    files = list_image_files(folder, recursive)
    return classify_files(
        files,
        folder,
        model,
        threshold=threshold,
        batch_size=batch_size,
        progress=progress,
        cancel=cancel,
        on_rows=on_rows,
        cache_dir=cache_dir,
        fits_keys=fits_keys,
        max_pixels=max_pixels,
        novelty=novelty,
    )
