"""One worker's share of feature extraction: a chunk of files read, hashed, decoded (augmented
when asked) and run through the backbone in the worker's own thread. Files whose features the
cache already holds are not decoded at all; the pool and the cache writes are in `features`."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifier import images
from classifier.augment import Variants
from classifier.errors import ImageError
from classifier.feature_cache import FeatureCache
from classifier.preprocessing import Preprocessing
from classifier.progress import CancelToken
from classifier.types import Problem

if TYPE_CHECKING:
    from classifier.features import EngineSlot


@dataclass
class Output:
    copy: int
    key: str  # the feature cache key: the digest, or a variant's key
    features: np.ndarray | None = None  # from the cache, or computed
    pixels: np.ndarray | None = None  # to run through the backbone
    computed: bool = False  # features are new: the cache does not hold them yet


@dataclass
class Prepared:
    digest: str | None = None
    outputs: list[Output] = field(default_factory=list)
    problem: Problem | None = None
    info: os.stat_result | None = None  # the stat before the file was read, if it was
    read_seconds: float = 0.0  # reading and hashing the file
    decode_seconds: float = 0.0


@dataclass
class Chunk:
    index: int  # the first file's index
    prepared: list[Prepared]
    inference_seconds: float = 0.0


def _keys(digest: str, variants: Variants | None) -> list[tuple[int, str]]:
    if variants is None:
        return [(0, digest)]
    return [(copy, variants.key(digest, copy)) for copy in range(variants.copies)]


def _cached_outputs(digest: str, variants, cache: FeatureCache) -> list[Output] | None:
    """Every output from the cache, or None if any is missing."""
    outputs = []
    for copy, key in _keys(digest, variants):
        cached = cache.get(key)
        if cached is None:
            return None
        outputs.append(Output(copy, key, features=cached))
    return outputs


def _prepare(
    path: Path,
    digest: str | None,
    size: int,
    cache: FeatureCache,
    max_pixels: int,
    prep: Preprocessing,
    variants: Variants | None,
    decode: str,
):
    start = time.perf_counter()
    prepared = Prepared(digest=digest)
    try:
        if digest is not None and (outputs := _cached_outputs(digest, variants, cache)):
            prepared.outputs = outputs
            return prepared
        reader = images.reading(path, max_pixels)
        with reader as data:
            prepared.digest, prepared.info = images.content_digest(data), reader.info
            read = time.perf_counter()
            prepared.read_seconds = read - start
            prepared.outputs = _decode_outputs(
                data, prepared.digest, size, cache, max_pixels, prep, variants, decode
            )
        prepared.decode_seconds = time.perf_counter() - read
    except (ImageError, MemoryError) as exc:
        prepared.outputs = []  # a file that failed half-way has no rows
        prepared.problem = Problem.of_file(exc, Path(path))
    return prepared


def _infer(engine, outputs: list[Output]) -> float:
    """Run decoded outputs through the backbone in place; the seconds it took."""
    if not outputs:
        return 0.0
    start = time.perf_counter()
    batch = np.stack([o.pixels for o in outputs]).astype(np.float32)
    # Round as the cache stores them, so a first run and a cached rerun see equal features.
    features = engine.predict(batch).astype(np.float16).astype(np.float32)
    for output, row in zip(outputs, features, strict=True):
        output.features, output.pixels, output.computed = row, None, True
    return time.perf_counter() - start


def _waiting(prepared: list[Prepared]) -> list[Output]:
    return [o for p in prepared for o in p.outputs if o.pixels is not None]


def run_chunk(
    index: int,
    files: Sequence[Path],
    digests: Sequence[str | None],
    slot: EngineSlot,
    cancel: CancelToken,
    prepare_args: tuple,
) -> Chunk:
    """Decode a few files, then run the new ones through the engine in this thread (the
    engine lends each worker an interpreter of its own)."""
    prepared = []
    for path, digest in zip(files, digests, strict=True):
        if cancel.cancelled:
            break  # the caller sees the cancellation before it reads this chunk
        prepared.append(_prepare(Path(path), digest, *prepare_args))
    chunk = Chunk(index, prepared)
    waiting = _waiting(prepared)
    if waiting and not cancel.cancelled:
        chunk.inference_seconds = _infer(slot.get(), waiting)
    return chunk


def _decode_outputs(
    data, digest, size, cache, max_pixels, prep, variants, decode: str
) -> list[Output]:
    """Cached rows as they are; the others decoded (once per file, with the backbone's JPEG
    draft rule `decode`) and augmented if asked (from twice the input size: the rule does not
    apply to augmented copies)."""
    outputs = [Output(copy, key, features=cache.get(key)) for copy, key in _keys(digest, variants)]
    missing = [o for o in outputs if o.features is None]
    if not missing:
        return outputs
    if variants is None:
        missing[0].pixels = images.decode_for_model(data, size, max_pixels, prep, decode)
        return outputs
    # Augment at twice the input size, so crops and rotations keep detail.
    image = images.decode_rgb(data, (2 * size, 2 * size), max_pixels, prep)
    for output in missing:
        variant = variants.augmentation.apply(image, variants.rng(digest, output.copy))
        output.pixels = images.to_model_input(variant, size)
    return outputs
