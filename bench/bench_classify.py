"""Batch classification end to end: `sortscope classify` as a whole process, cold and warm cache.

    .venv/bin/python bench/bench_classify.py [--images 1000]

Trains a small EfficientNet-Lite0 model on generated images first (not timed). Uses temporary
cache folders; never the user's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
from bench_features import make_jpegs  # noqa: E402
from datasets import make_dataset  # noqa: E402
from workdir import work_folder  # noqa: E402


def run(*args: str, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=1000)
    args = parser.parse_args()
    work = work_folder("sortscope-bench-classify-")
    env = {**os.environ, "SORTSCOPE_CACHE_DIR": str(work / "cache")}
    make_dataset(work / "train", per_class=20)
    run(
        "train",
        str(work / "train"),
        "--model",
        str(work / "m.sortscope"),
        "--epochs",
        "10",
        "--quiet",
        env=env,
    )
    folder = work / "night"
    make_jpegs(folder, args.images, (1024, 768), 3)
    print(f"machine: {os.cpu_count()} cores; {args.images} JPEGs 1024x768; EfficientNet-Lite0")
    for label in ("cold", "warm"):
        seconds = run(
            "classify",
            str(folder),
            "--model",
            str(work / "m.sortscope"),
            "--csv",
            str(work / f"{label}.csv"),
            "--quiet",
            env=env,
        )
        print(
            f"classify {label} (whole process): {seconds:6.1f}s  {args.images / seconds:7.1f} img/s"
        )


if __name__ == "__main__":
    main()
