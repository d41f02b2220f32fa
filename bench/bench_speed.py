"""The speed issue's targets, measured as ratios in one run on the same files.

    .venv/bin/python bench/bench_speed.py [--images 1500] [--large 40]

1. pure inference rate of the backbone (fast engine, random pixels): the best of one
   interpreter on all cores (batches of 32, or of 1) and one single-threaded interpreter per
   core side by side;
2. a plain sequential loop: Pillow draft decode + one interpreter on all cores, one image at a
   time;
3. `sortscope classify` end to end on fresh 1024x768 JPEGs, the whole process included
   (the converted engine is kept, as on any machine after the first run; features are not);
4. the same command again with a warm feature cache;
5. 24-megapixel JPEGs through the same extraction (engine already loaded): ms/image/core;
6. Speed: fast: the same model trained with --int8 (int8 engine, cheaper JPEG draft), its
   pure inference rate, `sortscope classify` cold and warm on the same files, and 24 MP JPEGs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
from bench_features import make_jpegs, pure_inference  # noqa: E402
from datasets import make_dataset  # noqa: E402
from workdir import work_folder  # noqa: E402


def classify(folder: Path, model: Path, csv: Path, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "classify",
            str(folder),
            "--model",
            str(model),
            "--csv",
            str(csv),
            "--quiet",
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    return time.perf_counter() - start


def train_model(data: Path, model: Path, env: dict, *extra: str) -> None:
    command = [sys.executable, str(ROOT / "main.py"), "train", str(data), "--model", str(model)]
    subprocess.run(
        [*command, "--epochs", "5", "--quiet", *extra],
        check=True,
        env=env,
        capture_output=True,
    )


def large_ms_per_core(large: Path, backbone, count: int, cores: int) -> float:
    """24 MP JPEGs through extraction (engine loaded): ms per image per core."""
    from classifier.features import extract_features, open_cache

    start = time.perf_counter()
    extract_features(sorted(large.glob("*.jpg")), backbone, cache=open_cache(backbone))
    return 1000 * (time.perf_counter() - start) * cores / count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=1500)
    parser.add_argument("--large", type=int, default=40)
    args = parser.parse_args()
    work = work_folder("sortscope-bench-speed-")
    cache = work / "cache"
    env = {**os.environ, "SORTSCOPE_CACHE_DIR": str(cache)}
    os.environ["SORTSCOPE_CACHE_DIR"] = str(cache)
    cores = os.cpu_count()

    make_dataset(work / "train", per_class=20)
    model, int8_model = work / "m.sortscope", work / "m-int8.sortscope"
    train_model(work / "train", model, env)
    train_model(work / "train", int8_model, env, "--int8")  # converts the int8 copy once
    folder = work / "night"
    make_jpegs(folder, args.images, (1024, 768), 7)
    large = work / "large"
    make_jpegs(large, args.large, (6000, 4000), 8)

    from PIL import Image

    from classifier.backbones import fast, get_backbone
    from classifier.engine import TFLiteEngine, _converted_path, load_engine
    from classifier.images import to_model_input

    backbone = get_backbone("efficientnet_lite0")
    engine = load_engine(backbone)
    engine_file = _converted_path(backbone)
    pure = max(  # one interpreter on all cores, batches of 32 or 1; one per core
        pure_inference([TFLiteEngine(engine_file, instances=1)], 32),
        pure_inference([TFLiteEngine(engine_file, instances=1)], 1),
        pure_inference([engine] * cores, 1),  # as extraction uses it
    )

    # The loop gets the best single-caller engine: one interpreter using every core.
    single = TFLiteEngine(engine_file, instances=1)
    start = time.perf_counter()
    loop_files = sorted(folder.glob("*.jpg"))[:300]
    for path in loop_files:
        with Image.open(path) as image:
            image.draft("RGB", (224, 224))
            pixels = to_model_input(image.convert("RGB"), 224)
        single.predict(pixels[None].astype(np.float32))
    loop = len(loop_files) / (time.perf_counter() - start)

    shutil.rmtree(cache / "features", ignore_errors=True)
    cold = args.images / classify(folder, model, work / "cold.csv", env)
    warm = args.images / classify(folder, model, work / "warm.csv", env)
    fast_backbone = fast(backbone)
    int8_engine = load_engine(fast_backbone)
    int8_pure = pure_inference([int8_engine] * cores, 1)
    shutil.rmtree(cache / "features", ignore_errors=True)
    int8_cold = args.images / classify(folder, int8_model, work / "int8-cold.csv", env)
    int8_warm = args.images / classify(folder, int8_model, work / "int8-warm.csv", env)
    # 24 MP: in this process, engine warm, so start-up does not hide the per-image cost.
    per_core_ms = large_ms_per_core(large, backbone, args.large, cores)
    large_seconds = per_core_ms * args.large / cores / 1000
    int8_per_core_ms = large_ms_per_core(large, fast_backbone, args.large, cores)

    print(f"machine: {cores} cores; engine {engine.name}; {args.images} fresh 1024x768 JPEGs")
    print(f"pure inference (best engine layout):      {pure:7.1f} img/s")
    print(f"plain sequential loop (draft + engine):   {loop:7.1f} img/s")
    print(
        f"sortscope classify, cold, whole process:  {cold:7.1f} img/s  "
        f"= {cold / loop:.2f}x the loop (target 1.3), {cold / pure:.2f}x pure inference "
        "(target 0.8)"
    )
    print(
        f"sortscope classify, warm, whole process:  {warm:7.1f} img/s  "
        f"= {warm / cold:.1f}x cold (target 10)"
    )
    print(
        f"24 MP JPEGs end to end: {args.large / large_seconds:.1f} img/s = {per_core_ms:.0f} ms "
        "per image per core (target ~70)"
    )
    print(f"Speed: fast (int8 engine {int8_engine.name}, JPEG draft 'draft75'):")
    print(f"pure inference, one interpreter per core:  {int8_pure:7.1f} img/s")
    print(
        f"sortscope classify, cold, whole process:  {int8_cold:7.1f} img/s  "
        f"= {int8_cold / cold:.2f}x the float32 model (target 1.7)"
    )
    print(
        f"sortscope classify, warm, whole process:  {int8_warm:7.1f} img/s  "
        f"= {int8_warm / int8_cold:.1f}x cold (target 10)"
    )
    print(f"24 MP JPEGs end to end: {int8_per_core_ms:.0f} ms per image per core (target 70)")


if __name__ == "__main__":
    main()
