"""What one poll of `classify --watch` costs on a big folder: the incremental listing of
classifier/watch.py against listing everything and stat-ing every file (the first version).

    .venv/bin/python bench/bench_watch.py [--files 200000] [--folders 200]

Makes FILES empty .png files spread over FOLDERS sub-folders (nothing is classified: this is
the watching alone), then times polls with nothing new, and polls after one new file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from workdir import work_folder  # noqa: E402

from classifier.predict import list_image_files  # noqa: E402
from classifier.watch import FolderListing  # noqa: E402


def full_poll(folder: Path) -> int:
    """The first version's poll: list every file, stat every one."""
    n = 0
    for path in list_image_files(folder, recursive=True):
        os.stat(path)
        n += 1
    return n


def timed(poll, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        poll()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--folders", type=int, default=200)
    args = parser.parse_args()
    work = work_folder("sortscope-bench-watch-")
    night = work / "night"
    per = args.files // args.folders
    for d in range(args.folders):
        sub = night / f"hour_{d:04d}"
        sub.mkdir(parents=True)
        for i in range(per):
            (sub / f"f{i:06d}.png").touch()
    old = time.time() - 60  # settled folders
    for sub in night.iterdir():
        os.utime(sub, (old, old))
    os.utime(night, (old, old))
    print(f"{per * args.folders} files in {args.folders} folders")
    listing = FolderListing(night, recursive=True)
    start = time.perf_counter()
    listing.poll()
    print(f"first poll (lists everything):        {time.perf_counter() - start:7.3f} s")
    print(f"full listing + stat of every file:    {timed(lambda: full_poll(night)):7.3f} s")
    print(f"incremental poll, nothing new:        {timed(listing.poll):7.4f} s")
    newest = night / f"hour_{args.folders - 1:04d}"

    def one_new() -> None:
        (newest / f"new_{time.perf_counter_ns()}.png").touch()
        listing.poll()

    print(f"incremental poll, one new file:       {timed(one_new):7.4f} s")


if __name__ == "__main__":
    main()
