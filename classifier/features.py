"""Feature extraction through a backbone, reusing the on-disk cache.

A pool with one worker per core takes small chunks of files: each worker reads, hashes and
decodes its chunk, then runs it through the backbone itself (the engine gives every worker an
interpreter of its own), so all cores stay busy and no thread waits on another. The calling
thread only stores results and reports. Only cache misses are decoded at all: a file whose
content digest is cached costs one read and one hash, and not even that when the cache's digest
index (`digest_index`) shows it unchanged since it was last hashed: then it costs one stat. New
features are written to the cache every few hundred rows and when a run ends, is cancelled or
fails, so a killed run loses at most a few seconds of work. What one worker does with its
chunk is in `feature_worker`.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier import images, paths
from classifier.augment import Variants
from classifier.backbones import Backbone
from classifier.digest_index import DigestIndex
from classifier.engine import load_engine
from classifier.feature_cache import FeatureCache
from classifier.feature_worker import Chunk, Output, run_chunk
from classifier.preprocessing import Preprocessing
from classifier.progress import CancelToken, ProgressCallback, Stage, StageClock
from classifier.types import ExtractionStats, FeatureSet, Problem

DEFAULT_BATCH_SIZE = 32  # rows per yielded chunk
TASK_FILES = 8  # files one worker decodes and runs through the backbone in one go
# New features are written to the cache in shards of this many rows, or after this long: a
# killed run loses at most a few seconds of work, and a big folder does not leave a shard file
# per chunk.
SAVE_EVERY_ROWS = 256
SAVE_EVERY_SECONDS = 3.0
WARM_CHUNKS = 2  # chunks in a row found whole in the cache before reading ahead stops


@dataclass(frozen=True)
class FeatureRow:
    index: int
    digest: str | None  # the file's content digest
    features: np.ndarray | None  # float32 (dim,), None when the file failed
    problem: Problem | None = None
    copy: int = 0  # which augmented copy, when extracting Variants


class EngineSlot:
    """The backbone's engine, loaded by the first worker that has something to run (a warm
    cache never loads it, so never imports TensorFlow); the others wait for it."""

    def __init__(self, backbone: Backbone, report: Callable[[str], None]) -> None:
        self.backbone = backbone
        self.report = report
        self.engine = None
        self.seconds = 0.0  # loading it, converting the network the first time included
        self._failure: Exception | None = None  # raised again, not retried, for other workers
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self.engine is None:
                start = time.perf_counter()
                self.report(f"Loading {self.backbone.title}…")
                try:
                    self.engine = load_engine(self.backbone, on_status=self.report)
                except Exception as exc:
                    self._failure = exc
                    raise
                self.report("")
                self.seconds = time.perf_counter() - start
        return self.engine


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


def cache_failure(cache: FeatureCache, exc: OSError) -> str:
    return (
        f"The feature cache in {cache.folder} cannot be written ({exc.strerror or exc}); "
        "this run goes on without it, so the next run computes these features again. Free "
        "disk space or make that folder writable, or choose another cache folder (--cache-dir)."
    )


class _Stats:
    def __init__(self, total: int, workers: int) -> None:
        self.total = total
        self.workers = workers
        self.from_cache = self.computed = self.failed = 0
        self.read = self.decode = self.inference = self.startup = 0.0
        self.engine = ""
        self.engine_fallback = ""
        self.cache_warning = ""
        self.index_warning = ""
        self.start = time.perf_counter()

    def add(self, chunk: Chunk) -> None:
        self.read += sum(p.read_seconds for p in chunk.prepared)
        self.decode += sum(p.decode_seconds for p in chunk.prepared)
        self.inference += chunk.inference_seconds

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
            self.read,
            self.startup,
            self.workers,
            self.engine_fallback,
            self.cache_warning or self.index_warning,
        )


def iter_features(
    files: Sequence[Path],
    backbone: Backbone,
    cache: FeatureCache,
    *,
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
    """Yield chunks of about `batch_size` FeatureRows (in no particular order) until every
    file is covered.

    `digests`, when the caller already knows them (from a scan), lets cached files skip even the
    read. If `stats` is given, the run's ExtractionStats is appended to it at the end. `prep`
    must be the preprocessing `cache` was opened for. With `variants`, each file gives one row
    per augmented copy (a failed file gives one row with its problem); counts are in rows.
    """
    cancel = cancel or CancelToken()
    digests = list(digests) if digests is not None else [None] * len(files)
    known = DigestIndex(cache.folder)  # digests of files unchanged since they were last read
    hashed: list[tuple[Path, os.stat_result, str]] = []  # to record in it
    per_file = variants.copies if variants is not None else 1
    workers = workers or os.cpu_count() or 2
    counters = _Stats(len(files) * per_file, workers)
    stage = Stage.AUGMENTING_IMAGES if variants is not None else Stage.EXTRACTING_FEATURES
    clock = StageClock(stage, counters.total, progress)
    window = 2 * workers  # chunks in flight: bounded read-ahead, flat memory for any folder
    slot = EngineSlot(backbone, lambda message: clock.report(done, message))
    prepare_args = (backbone.input_size, cache, max_pixels, prep, variants, backbone.decode)
    ready: list[FeatureRow] = []
    unsaved: list[Output] = []
    saved_at = time.perf_counter()
    done = 0
    warm_chunks = 0  # finished chunks in a row that needed no new features
    clock.report(0)

    def save() -> None:
        nonlocal saved_at
        known.record(hashed)
        hashed.clear()
        if known.warning and not counters.index_warning:
            counters.index_warning = known.warning
            clock.report(done, known.warning)
        if unsaved and not counters.cache_warning:
            try:
                cache.put_many([o.key for o in unsaved], np.stack([o.features for o in unsaved]))
            except OSError as exc:  # the cache is optional: warn once, carry on without it
                counters.cache_warning = cache_failure(cache, exc)
                clock.report(done, counters.cache_warning)
        unsaved.clear()
        saved_at = time.perf_counter()

    def collect(chunk: Chunk) -> None:
        """Store a finished chunk's new features and queue its rows (calling thread only)."""
        nonlocal done, warm_chunks
        counters.add(chunk)
        computed = [o for p in chunk.prepared for o in p.outputs if o.computed]
        warm_chunks = 0 if computed else warm_chunks + 1
        counters.computed += len(computed)
        unsaved.extend(computed)
        hashed.extend(
            (Path(files[i]), p.info, p.digest)
            for i, p in enumerate(chunk.prepared, chunk.index)
            if p.info is not None and p.digest is not None
        )
        if len(unsaved) >= SAVE_EVERY_ROWS or time.perf_counter() - saved_at > SAVE_EVERY_SECONDS:
            save()
        for index, prepared in enumerate(chunk.prepared, chunk.index):
            if prepared.problem is not None:
                counters.failed += per_file
                done += per_file
                ready.append(FeatureRow(index, None, None, prepared.problem))
            for output in prepared.outputs:
                counters.from_cache += not output.computed
                done += 1
                ready.append(FeatureRow(index, prepared.digest, output.features, copy=output.copy))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        in_flight: deque[Future] = deque()
        next_index = 0
        try:
            while next_index < len(files) or in_flight:
                cancel.check()
                while next_index < len(files) and len(in_flight) < window:
                    end = min(next_index + TASK_FILES, len(files))
                    _known_digests(known, files, digests, next_index, end)
                    # Files of unknown digest are read ahead unless the cache has held every
                    # file lately: then it only costs this thread an open per file (a warm
                    # 1,500-image run: ~0.1 s).
                    unknown_ahead = warm_chunks < WARM_CHUNKS
                    images.read_ahead(
                        files[i]
                        for i in range(next_index, end)
                        if (unknown_ahead if digests[i] is None else digests[i] not in cache)
                    )
                    in_flight.append(
                        pool.submit(
                            run_chunk,
                            next_index,
                            files[next_index:end],
                            digests[next_index:end],
                            slot,
                            cancel,
                            prepare_args,
                        )
                    )
                    next_index = end
                chunk = in_flight.popleft().result()
                cancel.check()  # a cancelled worker may have stopped part-way
                collect(chunk)
                if len(ready) >= batch_size or (not in_flight and ready):
                    clock.report(done)
                    yield list(ready)
                    ready.clear()
        except BaseException:  # cancelled, abandoned or failed: queued chunks never start
            for future in in_flight:
                future.cancel()
            raise
        finally:
            save()
            known.close()
            if not counters.cache_warning:
                try:
                    cache.merge_small_shards()
                except OSError as exc:
                    counters.cache_warning = cache_failure(cache, exc)
            if slot.engine is not None:
                counters.engine = slot.engine.name
                counters.engine_fallback = slot.engine.fallback_reason
            counters.startup = slot.seconds
            if stats is not None:
                stats.append(counters.frozen())


def _known_digests(
    index: DigestIndex, files: Sequence[Path], digests: list[str | None], start: int, end: int
) -> None:
    """Fill in the digests the index knows for files[start:end] not given by the caller."""
    unknown = [i for i in range(start, end) if digests[i] is None]
    if unknown:
        for i, digest in zip(unknown, index.lookup([files[i] for i in unknown]), strict=True):
            digests[i] = digest


def extract_features(
    files: Sequence[Path],
    backbone: Backbone,
    *,
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
        digests=digests,
        batch_size=batch_size,
        workers=workers,
        progress=progress,
        cancel=cancel,
        max_pixels=max_pixels,
        stats=stats,
        prep=prep,
        variants=variants,
    ):
        for row in chunk:
            found[row.index] = row.digest
            if row.features is None:
                errors[row.index] = row.problem
            else:
                features[(row.index, row.copy) if copies else row.index] = row.features
                ok[row.index] = True
    return FeatureSet(features, ok, tuple(found), errors, stats[0])
