"""`classify --engine dask`: the same classification mapped over a dask.distributed cluster.

The files are cut into chunks; each chunk is one task, `classify_chunk`, which runs
`predict.classify_files` on a worker with one thread (a worker process per core). The model
file's bytes are scattered to every worker once with the run, so workers need no copy of it;
the images are read by the workers at the same paths, so the folder must be on a file system
every node sees (NFS, Lustre, GPFS...). Rows come back as chunks finish, in any order, and go
into the same part files and CSV as a local run's, so the CSV is identical. Dask itself redoes
the chunks of a worker lost mid-run; Ctrl+C cancels the tasks still queued or running.

Without an address, an embedded LocalCluster runs on this machine; with one, an existing
cluster (`dask scheduler` and `dask worker`, or dask-jobqueue on SLURM/PBS) is used.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from classifier.errors import SortscopeError
from classifier.predict import ClassifyResult, RowsCallback
from classifier.progress import ProgressCallback, Stage, StageClock
from classifier.types import ExtractionStats

CHUNK_FILES = 256  # files per task: long enough that a task's overhead is a small share
INSTALL = 'pip install "sortscope[cluster]" (or, in a checkout, pip install -e ".[cluster]")'

_models: dict[str, object] = {}  # on a worker: the loaded model of each run, by SHA-256


def require_dask():
    try:
        import distributed
    except ImportError as exc:
        raise SortscopeError(
            "--engine dask needs Dask (dask.distributed), which is not installed.",
            f"Install it with: {INSTALL}",
        ) from exc
    return distributed


def _model(sha256: str, data: bytes):
    from classifier.modelfile import load_model

    if sha256 not in _models:
        path = Path(tempfile.gettempdir()) / f"sortscope-model-{sha256[:16]}-{os.getpid()}"
        path.write_bytes(data)
        try:
            _models.clear()  # one run's model at a time: a long-lived worker does not fill up
            _models[sha256] = load_model(path, lazy=True)  # no TensorFlow for the head
        finally:
            path.unlink(missing_ok=True)
    return _models[sha256]


def classify_chunk(
    files: Sequence[str], folder: str, model_sha256: str, model_bytes: bytes, options: dict
) -> ClassifyResult:
    """One task: a chunk of files classified on a worker, in one thread."""
    from classifier.predict import classify_files

    model = _model(model_sha256, model_bytes)
    paths = [Path(f) for f in files]
    return classify_files(paths, folder, model, workers=1, **options)


def _summed(parts: list[ExtractionStats], total: int, seconds: float) -> ExtractionStats:
    def add(name: str) -> float:
        return sum(getattr(s, name) for s in parts)

    engines = [s for s in parts if s.engine]
    return ExtractionStats(
        total=total,
        from_cache=int(add("from_cache")),
        computed=int(add("computed")),
        failed=int(add("failed")),
        seconds=seconds,
        decode_seconds=add("decode_seconds"),
        inference_seconds=add("inference_seconds"),
        engine=engines[0].engine if engines else "",
        read_seconds=add("read_seconds"),
        startup_seconds=max((s.startup_seconds for s in parts), default=0.0),
        workers=1,
        engine_fallback=engines[0].engine_fallback if engines else "",
        cache_warning=next((s.cache_warning for s in parts if s.cache_warning), ""),
    )


class DaskEngine:
    """A classify function with `classify_files`' arguments, run on a Dask cluster."""

    def __init__(
        self, model_path: Path, scheduler: str | None = None, chunk_files: int = CHUNK_FILES
    ) -> None:
        self.model_path = Path(model_path)
        self.scheduler = scheduler
        self.chunk_files = max(1, chunk_files)

    def _client(self):
        distributed = require_dask()
        if self.scheduler:
            try:
                return distributed.Client(self.scheduler, timeout="30s"), None
            except OSError as exc:
                raise SortscopeError(
                    f"The Dask scheduler at {self.scheduler} cannot be reached ({exc}).",
                    "Check the address (tcp://HOST:8786) and that 'dask scheduler' runs there.",
                ) from exc
        cluster = distributed.LocalCluster(
            n_workers=os.cpu_count() or 2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        return distributed.Client(cluster), cluster

    def __call__(
        self,
        files: list[Path],
        folder: str | Path,
        model,
        *,
        progress: ProgressCallback | None = None,
        on_rows: RowsCallback | None = None,
        batch_size: int = 0,  # chunks are the unit here
        **options,
    ) -> ClassifyResult:
        from classifier.batch import file_sha256

        distributed = require_dask()
        start = time.perf_counter()
        folder = Path(folder)
        if not files:  # a continued run with nothing left: no cluster to start
            return ClassifyResult(
                folder, [], ExtractionStats(), tuple(options.get("fits_keys", ()))
            )
        clock = StageClock(Stage.EXTRACTING_FEATURES, len(files), progress)
        if not self.scheduler:
            # Convert the backbone once here (into this machine's cache), before the workers
            # start: each would otherwise convert it at the same time on the same cores.
            from classifier.engine import load_engine

            clock.report(0, f"Loading {model.backbone.title}…")
            load_engine(model.backbone)
        clock.report(0, "Starting the Dask cluster…" if not self.scheduler else "")
        client, cluster = self._client()
        futures = []
        try:
            data = self.model_path.read_bytes()
            sha = file_sha256(self.model_path)
            shared = client.scatter(data, broadcast=True)
            chunks = [
                [str(f) for f in files[i : i + self.chunk_files]]
                for i in range(0, len(files), self.chunk_files)
            ]
            futures = [
                client.submit(classify_chunk, chunk, str(folder), sha, shared, options, pure=False)
                for chunk in chunks
            ]
            rows, stats, done = [], [], 0
            for future in distributed.as_completed(futures):
                result = future.result()
                rows.extend(result.rows)
                stats.append(result.stats)
                done += len(result.rows)
                if on_rows is not None:
                    on_rows(result.rows)
                clock.report(done)
        finally:
            if futures:
                client.cancel(futures)  # Ctrl+C or a failure: nothing left running there
            client.close()
            if cluster is not None:
                cluster.close()
        rows.sort(key=lambda r: r.file)
        extra = tuple(options.get("fits_keys", ()))
        summed = _summed(stats, len(files), time.perf_counter() - start)
        return ClassifyResult(folder, rows, summed, extra)
