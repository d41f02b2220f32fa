"""The digest index at a million entries: its size, and what a warm run pays for it.

    .venv/bin/python bench/bench_digest_index.py [--entries 1000000] [--files 1500]

SQLite (what Sortscope uses) against the alternative that was measured: one NumPy structured
array rewritten atomically after each run, loaded whole and searched with searchsorted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from workdir import work_folder  # noqa: E402

from classifier import digest_index  # noqa: E402
from classifier.digest_index import DigestIndex  # noqa: E402

ROW = np.dtype(
    [
        ("key", "<i8"),
        ("size", "<i8"),
        ("mtime", "<i8"),
        ("ctime", "<i8"),
        ("inode", "<u8"),
        ("device", "<u8"),
        ("digest", "S16"),
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=1500)
    args = parser.parse_args()
    work = work_folder("sortscope-bench-index-")
    real = []
    for i in range(args.files):
        real.append(work / "files" / f"{i:05d}.jpg")
        real[-1].parent.mkdir(exist_ok=True)
        real[-1].write_bytes(os.urandom(64))
    digest_index.RACY_NS = 0  # the files were just made
    info = os.stat(real[0])
    index = DigestIndex(work / "sqlite")
    start = time.perf_counter()
    for first in range(0, args.entries, 50_000):
        fake = [work / f"other/{i:07d}/IMG_{i:07d}.jpg" for i in range(first, first + 50_000)]
        index.record([(p, info, f"{i:032x}") for i, p in enumerate(fake)])
    fill = time.perf_counter() - start
    index.close()
    size = index.path.stat().st_size

    runs = []
    for _ in range(3):  # a new process's view: open, stat and look up every file, record them
        start = time.perf_counter()
        fresh = DigestIndex(work / "sqlite")
        known = []
        for first in range(0, len(real), 8):
            known += fresh.lookup(real[first : first + 8])
        looked = time.perf_counter() - start
        fresh.record([(p, os.stat(p), f"{i:032x}") for i, p in enumerate(real)])
        fresh.close()
        runs.append((looked, time.perf_counter() - start - looked))
    looked, recorded = min(runs)
    print(f"SQLite, {args.entries:,} entries: {size / 1e6:.0f} MB, filled in {fill:.1f} s")
    print(
        f"  a run over {args.files} files: look-ups {1000 * looked:.0f} ms, "
        f"recording them {1000 * recorded:.0f} ms"
    )

    table = np.zeros(args.entries, dtype=ROW)
    table["key"] = np.sort(np.random.default_rng(0).integers(-(2**63), 2**63, args.entries))
    npy = work / "index.npy"
    start = time.perf_counter()
    np.save(npy, table)
    saved = time.perf_counter() - start
    start = time.perf_counter()
    loaded = np.load(npy, allow_pickle=False)
    keys = np.array([hash(str(p)) for p in real], dtype=np.int64)
    np.searchsorted(loaded["key"], keys)
    load = time.perf_counter() - start
    print(
        f"NumPy array, {args.entries:,} entries: {npy.stat().st_size / 1e6:.0f} MB, "
        f"load + look-ups {1000 * load:.0f} ms, rewriting it after a run {1000 * saved:.0f} ms"
    )


if __name__ == "__main__":
    main()
