"""`classify --engine dask` (an embedded LocalCluster) against the local engine, cold caches.

    .venv/bin/python bench/bench_cluster.py [--images 3000] [--chunk-files 256]

Trains a small EfficientNet-Lite0 model on generated images first (not timed), then classifies
the same JPEGs with each engine as a whole process, each with an empty feature cache of its
own, and prints images/s, the dask share of the local rate, and the overhead: the fixed part
(both engines on a folder of one task's worth of images: the cluster's start-up, workers
importing and loading the model) and the part per task (the rest of the extra seconds over the
local run, divided by the remaining tasks). Never the user's caches.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
from bench_classify import run  # noqa: E402
from bench_features import make_jpegs  # noqa: E402
from datasets import make_dataset  # noqa: E402
from workdir import work_folder  # noqa: E402


def classify(work: Path, folder: Path, engine: str, chunk_files: int) -> float:
    env = {**os.environ, "SORTSCOPE_CACHE_DIR": str(work / f"cache-{engine}-{folder.name}")}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "classify", str(folder), "--model",
         str(work / "m.sortscope"), "--csv", str(work / f"{engine}-{folder.name}.csv"), "--quiet",
         "--engine", engine, "--chunk-files", str(chunk_files)],
        check=True, env=env,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--chunk-files", type=int, default=256)
    args = parser.parse_args()
    work = work_folder("sortscope-bench-cluster-")
    env = {**os.environ, "SORTSCOPE_CACHE_DIR": str(work / "cache-train")}
    make_dataset(work / "train", per_class=20)
    run("train", str(work / "train"), "--model", str(work / "m.sortscope"), "--epochs", "10",
        "--quiet", env=env)  # fmt: skip
    folder = work / "night"
    make_jpegs(folder, args.images, (1024, 768), 3)
    print(f"machine: {os.cpu_count()} cores; {args.images} JPEGs 1024x768; EfficientNet-Lite0")
    small = work / "one-task"
    make_jpegs(small, args.chunk_files, (1024, 768), 4)
    # Every run has a cold cache of its own (the backbone converted in each): they compare.
    small_local = classify(work, small, "local", args.chunk_files)
    small_dask = classify(work, small, "dask", args.chunk_files)
    local = classify(work, folder, "local", args.chunk_files)
    dask = classify(work, folder, "dask", args.chunk_files)
    same = (work / "local-night.csv").read_bytes() == (work / "dask-night.csv").read_bytes()
    tasks = math.ceil(args.images / args.chunk_files)
    fixed = small_dask - small_local
    print(f"local engine (whole process): {local:6.1f}s  {args.images / local:7.1f} img/s")
    print(f"dask LocalCluster:            {dask:6.1f}s  {args.images / dask:7.1f} img/s")
    print(f"dask share of local: {local / dask:.2f}; identical CSV: {same}")
    print(f"one task ({args.chunk_files} JPEGs): local {small_local:.1f}s, dask {small_dask:.1f}s")
    print(f"fixed overhead (cluster start-up): {fixed:.2f}s")
    per_task = (dask - local - fixed) / max(tasks - 1, 1)
    print(f"overhead per further task ({tasks} tasks of {args.chunk_files}): {per_task:.2f}s")
    share = args.images / (dask - fixed) / (args.images / local) if dask > fixed else float("nan")
    print(f"dask share of local without the fixed start-up: {share:.2f}")


if __name__ == "__main__":
    main()
