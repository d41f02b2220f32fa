"""Feature-extraction throughput: cold and warm cache, small and 24-megapixel JPEGs.

    .venv/bin/python bench/bench_features.py [--small 400] [--large 40]

Also measures the machine's peaks (decode alone, backbone inference alone) so the end-to-end
numbers can be read against them. Uses a temporary cache; never the user's.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from workdir import work_folder


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


def pure_inference(engines: list, batch_size: int, size: int = 224, images: int = 320) -> float:
    """Images per second of the backbone alone on random pixels, each engine driven by a thread
    of its own (an engine listed twice serves two threads, an interpreter each); the first
    round warms up."""
    batch = np.random.default_rng(0).uniform(0, 255, (batch_size, size, size, 3))
    batch = batch.astype(np.float32)
    rounds = max(1, images // (batch_size * len(engines)))

    def run(engine) -> None:
        for _ in range(rounds):
            engine.predict(batch)

    for _ in range(2):
        start = time.perf_counter()
        threads = [threading.Thread(target=run, args=(e,)) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return rounds * batch_size * len(engines) / (time.perf_counter() - start)


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:8.1f} img/s ({1000 * seconds / count:6.1f} ms/img)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=400, help="1024x768 JPEGs")
    parser.add_argument("--large", type=int, default=40, help="6000x4000 (24 MP) JPEGs")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    args = parser.parse_args()

    work = work_folder("sortscope-bench-")
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
    # The fast engine is converted once per computer; do it before timing anything.
    engine = load_engine(backbone)
    keras_rate = pure_inference([KerasEngine(load_feature_model(backbone))], 32, size)
    print(f"peak inference, keras (batch 32):             {keras_rate:8.1f} img/s")
    cores = os.cpu_count() or 2
    fast_rate = pure_inference(
        [engine] * cores, 1, size
    )  # as extraction uses it: a caller per core
    print(f"peak inference, {engine.name} ({cores} callers, 1 image each): {fast_rate:8.1f} img/s")

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
