"""Feature-extraction throughput: cold and warm cache, small and 24-megapixel JPEGs.

    .venv/bin/python bench/bench_features.py [--small 400] [--large 40]

Also measures the machine's peaks (decode alone, backbone inference alone) so the end-to-end
numbers can be read against them. Uses a temporary cache; never the user's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_jpegs(folder: Path, count: int, size: tuple[int, int], seed: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    # Smooth random fields compress like photographs, unlike white noise.
    small = (size[1] // 32, size[0] // 32, 3)
    files = []
    for i in range(count):
        field = Image.fromarray(rng.integers(0, 255, small, dtype=np.uint8)).resize(
            size, Image.Resampling.BICUBIC
        )
        path = folder / f"img_{i:05d}.jpg"
        field.save(path, quality=90)
        files.append(path)
    return files


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:8.1f} img/s ({1000 * seconds / count:6.1f} ms/img)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=400, help="1024x768 JPEGs")
    parser.add_argument("--large", type=int, default=40, help="6000x4000 (24 MP) JPEGs")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sortscope-bench-"))
    os.environ["SORTSCOPE_CACHE_DIR"] = str(work / "cache")
    from classifier import images
    from classifier.backbones import get_backbone, load_feature_model
    from classifier.features import extract_features

    backbone = get_backbone(args.backbone)
    print(f"machine: {os.cpu_count()} cores; backbone {backbone.title}")
    sets = {
        "1024x768 JPEG": make_jpegs(work / "small", args.small, (1024, 768), 1),
        "24 MP JPEG": make_jpegs(work / "large", args.large, (6000, 4000), 2),
    }
    from classifier.engine import KerasEngine, load_engine

    size = backbone.input_size
    batch = np.random.default_rng(0).uniform(0, 255, (32, size, size, 3)).astype(np.float32)
    # The fast engine is converted once per computer; do it before timing anything.
    for engine in (KerasEngine(load_feature_model(backbone)), load_engine(backbone)):
        engine.predict(batch)
        start = time.perf_counter()
        for _ in range(5):
            engine.predict(batch)
        print(
            f"peak inference (batch 32, {engine.name:>6}):       "
            f"{rate(160, time.perf_counter() - start)}"
        )

    for label, files in sets.items():
        start = time.perf_counter()
        for f in files[:40]:
            images.load_for_model(f, backbone.input_size)
        n = min(40, len(files))
        print(f"{label}: decode+resize, 1 thread:    {rate(n, time.perf_counter() - start)}")
        start = time.perf_counter()
        for f in files[:10]:
            with Image.open(f) as im:
                im.load()
        full = time.perf_counter() - start
        print(f"{label}: full decode (no draft):      {rate(min(10, len(files)), full)}")
        for run in ("cold", "warm"):
            start = time.perf_counter()
            result = extract_features(files, backbone)
            seconds = time.perf_counter() - start
            s = result.stats
            print(
                f"{label}: extract {run}:                {rate(len(files), seconds)}  "
                f"computed={s.computed} cached={s.from_cache}"
            )


if __name__ == "__main__":
    main()
