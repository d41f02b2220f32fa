"""`classify --engine dask` (an embedded LocalCluster) against the local engine, cold caches.

    .venv/bin/python bench/bench_cluster.py [--images 3000] [--chunk-files 256]

Trains a small EfficientNet-Lite0 model on generated images first (not timed), then classifies
the same JPEGs with each engine as a whole process, each with an empty feature cache of its
own, and prints images/s, the dask share of the local rate, and the overhead per task (the
extra seconds over the local run divided by the number of tasks). Never the user's caches.
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
    env = {**os.environ, "SORTSCOPE_CACHE_DIR": str(work / f"cache-{engine}")}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "classify", str(folder), "--model",
         str(work / "m.sortscope"), "--csv", str(work / f"{engine}.csv"), "--quiet",
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
    local = classify(work, folder, "local", args.chunk_files)
    dask = classify(work, folder, "dask", args.chunk_files)
    same = (work / "local.csv").read_bytes() == (work / "dask.csv").read_bytes()
    tasks = math.ceil(args.images / args.chunk_files)
    print(f"local engine (whole process): {local:6.1f}s  {args.images / local:7.1f} img/s")
    print(f"dask LocalCluster:            {dask:6.1f}s  {args.images / dask:7.1f} img/s")
    print(f"dask share of local: {local / dask:.2f}; identical CSV: {same}")
    print(f"overhead per task ({tasks} tasks of {args.chunk_files}): {(dask - local) / tasks:.2f}s")


if __name__ == "__main__":
    main()
