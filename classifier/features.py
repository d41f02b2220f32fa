"""Batched feature extraction through a backbone, reusing the on-disk cache.

Files are read, hashed and decoded in a thread pool while the backbone runs on whole batches in
the calling thread, so decoding and inference overlap. Only cache misses are decoded at all: a
file whose content digest is cached costs one read and one hash. Each computed batch is written
to the cache before it is reported, so a cancelled or killed run keeps everything finished.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classifier import images, paths
from classifier.augment import Variants
from classifier.backbones import Backbone
from classifier.engine import load_engine
from classifier.errors import Cancelled, ImageError
from classifier.feature_cache import FeatureCache
from classifier.preprocessing import Preprocessing
from classifier.progress import CancelToken, ProgressCallback, StageClock
from classifier.types import ExtractionStats, FeatureSet, Problem, ProblemKind

DEFAULT_BATCH_SIZE = 32


@dataclass(frozen=True)
class FeatureRow:
    index: int
    digest: str | None  # the file's content digest
    features: np.ndarray | None  # float32 (dim,), None when the file failed
    problem: Problem | None = None
    copy: int = 0  # which augmented copy, when extracting Variants


@dataclass
class _Output:
    copy: int
    key: str  # the feature cache key: the digest, or a variant's key
    features: np.ndarray | None = None  # from the cache
    pixels: np.ndarray | None = None  # to run through the backbone


@dataclass
class _Prepared:
    digest: str | None = None
    outputs: list[_Output] = field(default_factory=list)
    problem: Problem | None = None
    seconds: float = 0.0


def open_cache(
    backbone: Backbone,
    cache_dir: str | Path | None = None,
    prep: Preprocessing = images.DEFAULT_PREPROCESSING,
) -> FeatureCache:
    """The cache for one backbone and one way of preparing pixels.

    A stretch changes the pixels of high-range images, so each preprocessing has a folder of its
    own (caches from before stretches existed, keyed by the backbone alone, are not reused:
    their 16-bit images were mapped differently).
    """
    root = Path(cache_dir) if cache_dir else paths.cache_dir()
    name = f"{backbone.cache_key}--{prep.key}"
    return FeatureCache(root / "features" / name, backbone.feature_dim)


def _keys(digest: str, variants: Variants | None) -> list[tuple[int, str]]:
    if variants is None:
        return [(0, digest)]
    return [(copy, variants.key(digest, copy)) for copy in range(variants.copies)]


def _cached_outputs(digest: str, variants, cache: FeatureCache) -> list[_Output] | None:
    """Every output from the cache, or None if any is missing."""
    outputs = []
    for copy, key in _keys(digest, variants):
        cached = cache.get(key)
        if cached is None:
            return None
        outputs.append(_Output(copy, key, features=cached))
    return outputs


def _prepare(
    path: Path,
    digest: str | None,
    size: int,
    cache: FeatureCache,
    max_pixels: int,
    prep: Preprocessing,
    variants: Variants | None,
):
    start = time.perf_counter()
    prepared = _Prepared(digest=digest)
    try:
        if digest is not None and (outputs := _cached_outputs(digest, variants, cache)):
            prepared.outputs = outputs
            return prepared
        data = images.read_file(path)
        prepared.digest = images.content_digest(data)
        prepared.outputs = _decode_outputs(
            data, prepared.digest, size, cache, max_pixels, prep, variants
        )
    except ImageError as exc:
        prepared.problem = Problem(ProblemKind(exc.kind), exc.what, exc.todo, path=Path(path))
    prepared.seconds = time.perf_counter() - start
    return prepared


def _decode_outputs(data, digest, size, cache, max_pixels, prep, variants) -> list[_Output]:
    """Cached rows as they are; the others decoded (once per file) and augmented if asked."""
    outputs = [_Output(copy, key, features=cache.get(key)) for copy, key in _keys(digest, variants)]
    missing = [o for o in outputs if o.features is None]
    if not missing:
        return outputs
    if variants is None:
        missing[0].pixels = images.decode_for_model(data, size, max_pixels, prep)
        return outputs
    # Augment at twice the input size, so crops and rotations keep detail.
    image = images.decode_rgb(data, (2 * size, 2 * size), max_pixels, prep)
    for output in missing:
        variant = variants.augmentation.apply(image, variants.rng(digest, output.copy))
        output.pixels = images.to_model_input(variant, size)
    return outputs


class _Stats:
    def __init__(self, total: int) -> None:
        self.total = total
        self.from_cache = self.computed = self.failed = 0
        self.decode = self.inference = 0.0
        self.engine = ""
        self.start = time.perf_counter()

    def frozen(self) -> ExtractionStats:
        return ExtractionStats(
            self.total,
            self.from_cache,
            self.computed,
            self.failed,
            time.perf_counter() - self.start,
            self.decode,
            self.inference,
            self.engine,
        )


def iter_features(
    files: Sequence[Path],
    backbone: Backbone,
    cache: FeatureCache,
    digests: Sequence[str | None] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    max_pixels: int = images.DEFAULT_MAX_PIXELS,
    stats: list[ExtractionStats] | None = None,
    prep: Preprocessing = images.DEFAULT_PREPROCESSING,
    variants: Variants | None = None,
) -> Iterator[list[FeatureRow]]:
    """Yield chunks of FeatureRow (in no particular order) until every file is covered.

    `digests`, when the caller already knows them (from a scan), lets cached files skip even the
    read. If `stats` is given, the run's ExtractionStats is appended to it at the end. `prep`
    must be the preprocessing `cache` was opened for. With `variants`, each file gives one row
    per augmented copy (a failed file gives one row with its problem); counts are in rows.
    """
    cancel = cancel or CancelToken()
    per_file = variants.copies if variants is not None else 1
    total = len(files) * per_file
    counters = _Stats(total)
    stage = "Augmenting images" if variants is not None else "Extracting features"
    clock = StageClock(stage, total, progress)
    workers = workers or os.cpu_count() or 2
    window = batch_size * 2 + workers  # bounded read-ahead: memory stays flat for any folder
    size = backbone.input_size
    engine = None
    pending: list[tuple[int, str, _Output]] = []  # (file index, content digest, output)
    ready: list[FeatureRow] = []
    done = 0
    clock.report(0)

    def run_batch() -> None:
        nonlocal engine, done
        if engine is None:
            clock.report(done, f"Loading {backbone.title}…")
            engine = load_engine(backbone, on_status=lambda message: clock.report(done, message))
            counters.engine = engine.name
            clock.report(done, "")
        start = time.perf_counter()
        batch = np.stack([o.pixels for _, _, o in pending]).astype(np.float32)
        out = engine.predict(batch)
        # Round as the cache stores them, so a first run and a cached rerun see equal features.
        out = out.astype(np.float16).astype(np.float32)
        counters.inference += time.perf_counter() - start
        cache.put_many([o.key for _, _, o in pending], out)
        for (index, digest, output), row in zip(pending, out, strict=True):
            ready.append(FeatureRow(index, digest, row, copy=output.copy))
        counters.computed += len(pending)
        done += len(pending)
        pending.clear()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        in_flight: deque[tuple[int, Future]] = deque()
        next_index = 0
        try:
            while next_index < len(files) or in_flight:
                cancel.check()
                while next_index < len(files) and len(in_flight) < window:
                    known = digests[next_index] if digests is not None else None
                    path = Path(files[next_index])
                    future = pool.submit(
                        _prepare, path, known, size, cache, max_pixels, prep, variants
                    )
                    in_flight.append((next_index, future))
                    next_index += 1
                index, future = in_flight.popleft()
                prepared: _Prepared = future.result()
                counters.decode += prepared.seconds
                if prepared.problem is not None:
                    counters.failed += per_file
                    done += per_file
                    ready.append(FeatureRow(index, None, None, prepared.problem))
                for output in prepared.outputs:
                    if output.features is not None:
                        counters.from_cache += 1
                        done += 1
                        row = FeatureRow(index, prepared.digest, output.features, copy=output.copy)
                        ready.append(row)
                    else:
                        pending.append((index, prepared.digest, output))
                        if len(pending) >= batch_size:
                            run_batch()
                if not in_flight and pending:
                    run_batch()
                if len(ready) >= batch_size or (not in_flight and ready):
                    clock.report(done)
                    yield list(ready)
                    ready.clear()
        except (Cancelled, GeneratorExit):
            for _, future in in_flight:
                future.cancel()
            raise
        finally:
            cache.merge_small_shards()
            if stats is not None:
                stats.append(counters.frozen())


def extract_features(
    files: Sequence[Path],
    backbone: Backbone,
    cache: FeatureCache | None = None,
    digests: Sequence[str | None] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    max_pixels: int = images.DEFAULT_MAX_PIXELS,
    prep: Preprocessing = images.DEFAULT_PREPROCESSING,
    variants: Variants | None = None,
) -> FeatureSet:
    """Features for every file, in order; failed files have ok=False and a Problem.

    With `variants`, `features` has shape (files, copies, dim): the augmented copies.
    """
    cache = cache if cache is not None else open_cache(backbone, prep=prep)
    copies = (variants.copies,) if variants is not None else ()
    features = np.zeros((len(files), *copies, backbone.feature_dim), dtype=np.float32)
    ok = np.zeros(len(files), dtype=bool)
    found: list[str | None] = [None] * len(files)
    errors: dict[int, Problem] = {}
    stats: list[ExtractionStats] = []
    for chunk in iter_features(
        files,
        backbone,
        cache,
        digests,
        batch_size,
        workers,
        progress,
        cancel,
        max_pixels,
        stats,
        prep,
        variants,
    ):
        for row in chunk:
            found[row.index] = row.digest
            if row.features is None:
                errors[row.index] = row.problem
            else:
                features[(row.index, row.copy) if copies else row.index] = row.features
                ok[row.index] = True
    return FeatureSet(features, ok, tuple(found), errors, stats[0])
