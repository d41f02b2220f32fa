"""On-disk cache of backbone features ("bottlenecks"), keyed by image content.

One folder per backbone cache key. Each write adds one shard: a single .npy file holding a
structured array of (digest, float16 features), written to a temporary name and renamed, so a
killed run loses at most the batch in flight and readers never see half a shard. Loading uses
NumPy without pickle. Small shards are merged into one as soon as there are many, so a
million-image folder leaves a few dozen large shards, not thousands of files and memory maps.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifier.atomic import atomic_write

DIGEST_BYTES = 32  # hex of a 16-byte blake2b digest
MERGE_ABOVE_SHARDS = 64  # small shards tolerated before they are merged
SMALL_SHARD_ROWS = 8192  # shards at least this big are never rewritten


class FeatureCache:
    """Thread-safe map from content digest to a feature vector, persisted in shards."""

    def __init__(self, folder: str | Path, feature_dim: int) -> None:
        self.folder = Path(folder)
        self.dim = feature_dim
        self._dtype = np.dtype(
            [("digest", f"S{DIGEST_BYTES}"), ("features", "<f2", (feature_dim,))]
        )
        self._lock = threading.Lock()
        self._index: dict[bytes, tuple[int, int]] = {}
        self._shards: list[np.ndarray] = []
        self._shard_paths: list[Path] = []
        self._load()

    def _load(self) -> None:
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("shard-*.npy")):
            self._add_shard(path)

    def _add_shard(self, path: Path) -> None:
        try:
            shard = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            return  # unreadable shard (e.g. from another version): those features are recomputed
        if shard.dtype != self._dtype:
            return
        number = len(self._shards)
        self._shards.append(shard)
        self._shard_paths.append(path)
        for row, digest in enumerate(shard["digest"]):
            self._index[bytes(digest)] = (number, row)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, digest: str) -> bool:
        return digest.encode("ascii") in self._index

    def get(self, digest: str) -> np.ndarray | None:
        with self._lock:
            where = self._index.get(digest.encode("ascii"))
            if where is None:
                return None
            shard, row = where
            return np.asarray(self._shards[shard][row]["features"], dtype=np.float32)

    def get_many(self, digests: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """Features of many digests at once: a float32 (n, dim) array (zero rows where
        missing) and a boolean mask of those found. One gather per shard, not per row."""
        out = np.zeros((len(digests), self.dim), dtype=np.float32)
        found = np.zeros(len(digests), dtype=bool)
        by_shard: dict[int, tuple[list[int], list[int]]] = {}
        with self._lock:
            for i, digest in enumerate(digests):
                where = self._index.get(digest.encode("ascii")) if digest else None
                if where is not None:
                    positions, rows = by_shard.setdefault(where[0], ([], []))
                    positions.append(i)
                    rows.append(where[1])
            for shard, (positions, rows) in by_shard.items():
                out[positions] = self._shards[shard]["features"][rows]
                found[positions] = True
        return out, found

    def put_many(self, digests: list[str], features: np.ndarray) -> None:
        """Persist one batch as a new shard, atomically."""
        if not digests:
            return
        records = np.empty(len(digests), dtype=self._dtype)
        records["digest"] = [d.encode("ascii") for d in digests]
        records["features"] = np.asarray(features, dtype=np.float32)
        path = self.folder / f"shard-{uuid.uuid4().hex}.npy"
        with atomic_write(path, durable=False) as f:
            np.save(f, records, allow_pickle=False)
        with self._lock:
            self._add_shard(path)
        self.merge_small_shards(MERGE_ABOVE_SHARDS)

    def merge_small_shards(self, above: int = 1) -> None:
        """Rewrite the small shards as one when there are more than `above` of them.

        Large shards stay as they are, so the work per merge does not grow with the cache.
        """
        with self._lock:
            small = {i for i, s in enumerate(self._shards) if len(s) < SMALL_SHARD_ROWS}
            if len(small) <= max(above, 1):
                return
            merged = np.concatenate([np.asarray(self._shards[i]) for i in sorted(small)])
            _, first = np.unique(merged["digest"], return_index=True)
            merged = merged[np.sort(first)]
            path = self.folder / f"shard-{uuid.uuid4().hex}.npy"
            with atomic_write(path, durable=False) as f:
                np.save(f, merged, allow_pickle=False)
            # The merged shard exists before any old one goes, so no feature is ever lost.
            paths = list(self._shard_paths)
            self._index.clear()
            self._shards.clear()
            self._shard_paths.clear()
            for i, old in enumerate(paths):
                if i in small:
                    with contextlib.suppress(OSError):
                        os.unlink(old)
                else:
                    self._add_shard(old)
            self._add_shard(path)
