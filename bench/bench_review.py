"""The labelling loop's speed: journal writes, adding reviewed images, retraining, re-scoring.

.venv/bin/python bench/bench_review.py [--images 5000] [--added 100] [--rows 100000] [--keras]

- review journal: cost per decision over 1,000 decisions (append + fsync, as the journal does)
  against an atomic rewrite of the whole file per decision;
- adding 100 reviewed images to a dataset of 5,000 (plan with duplicate check + copy);
- retraining with corrections after that, every feature cached (EfficientNet-Lite0's 1,280
  dimensions; synthetic vectors stand in for real ones, the images are tiny PNGs): from the
  call to the new score, scan included. Target: under 10 s on 2 cores; with --keras, once more
  with the Keras model.fit head fit Sortscope used before (bench_head_fit.keras_train_head);
- re-scoring 100,000 rows from the feature cache with the new head. Target: under 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from workdir import work_folder

CLASSES = ("alpha", "beta", "gamma", "delta", "epsilon")
DIM = 1280  # EfficientNet-Lite0's feature size


def journal_costs(folder: Path, n: int = 1000) -> tuple[float, float]:
    """ms per decision: the journal (append + fsync) and an atomic rewrite per decision."""
    from classifier.atomic import atomic_write
    from classifier.review import ReviewJournal

    journal = ReviewJournal.open(folder / "night", "bench", root=folder / "journals")
    start = time.perf_counter()
    for i in range(n):
        journal.decide(f"{i:032x}", f"night/img_{i:05d}.png", CLASSES[i % 5])
    appended = (time.perf_counter() - start) / n * 1000
    journal.close()
    lines = []
    start = time.perf_counter()
    for i in range(n):
        lines.append(json.dumps({"digest": f"{i:032x}", "label": CLASSES[i % 5]}) + "\n")
        with atomic_write(folder / "rewrite.jsonl", "w", encoding="utf-8") as f:
            f.write("".join(lines))
    rewritten = (time.perf_counter() - start) / n * 1000
    return appended, rewritten


def make_images(folder: Path, names: list[str], rng) -> list[Path]:
    paths = []
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def cache_features(cache, paths: list[Path], classes: list[int], centres, rng, shift=None):
    """Synthetic features for each file's digest: its class centre plus noise."""
    from classifier import images

    digests = [images.content_digest(p.read_bytes()) for p in paths]
    x = centres[classes] + rng.normal(0, 3.0, (len(paths), DIM))
    if shift is not None:
        x += shift
    for start in range(0, len(paths), 8192):
        cache.put_many(digests[start : start + 8192], x[start : start + 8192])
    return digests


def time_retrain(old, corrections, data: Path, name: str):
    """Retrain with corrections from the call to the new score, scan included; prints where
    the time went."""
    from classifier.retrain import retrain_with_corrections
    from classifier.scan import scan_dataset

    start = time.perf_counter()
    scan = scan_dataset(data)
    scanned = time.perf_counter() - start
    result = retrain_with_corrections(old, corrections, scan=scan)
    total = time.perf_counter() - start
    stats = result.outcome.extraction
    history = result.outcome.history
    fitted = sum(h.seconds for h in history)
    print(
        f"retrain with corrections, {name} ({len(scan.images)} images, {stats.from_cache} from "
        f"the cache, {stats.computed} computed, {len(history)} epochs): scan {scanned:.1f} s, "
        f"head fit {fitted:.1f} s, total {total:.1f} s (target < 10 s); "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(f"  {result.text()}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--added", type=int, default=100)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--keras", action="store_true", help="also retrain with the former Keras head fit"
    )
    args = parser.parse_args()
    work = work_folder("sortscope-bench-review-")
    os.environ["SORTSCOPE_CACHE_DIR"] = str(work / "cache")
    os.environ["SORTSCOPE_DATA_DIR"] = str(work / "data-dir")
    from classifier.backbones import get_backbone
    from classifier.dataset_add import AddItem, execute_add, plan_add
    from classifier.features import open_cache
    from classifier.rescore import relabel, rescore
    from classifier.scan import scan_dataset
    from classifier.train import train
    from classifier.types import Prediction, TrainConfig

    print(f"{os.cpu_count()} cores")
    appended, rewritten = journal_costs(work)
    print(
        f"journal, 1,000 decisions: append + fsync {appended:.2f} ms/decision; "
        f"atomic rewrite {rewritten:.2f} ms/decision"
    )

    rng = np.random.default_rng(0)
    config = TrainConfig()  # the defaults: EfficientNet-Lite0, 30 epochs, early stopping
    backbone = get_backbone(config.backbone)
    cache = open_cache(backbone, prep=config.preprocessing)
    centres = rng.normal(0, 1, (len(CLASSES), DIM))
    labels = [i % len(CLASSES) for i in range(args.images)]
    names = [f"{CLASSES[c]}/img_{i:05d}.png" for i, c in enumerate(labels)]
    start = time.perf_counter()
    data = work / "dataset"
    cache_features(cache, make_images(data, names, rng), labels, centres, rng)
    night_labels = [i % len(CLASSES) for i in range(args.added)]
    night_names = [f"night_{i:04d}.png" for i in range(args.added)]
    night_paths = make_images(work / "night", night_names, rng)
    # The night's images drift towards the next class: the first model gets many wrong.
    drift = (np.roll(centres, -1, axis=0) - centres)[night_labels] * 0.6
    night_digests = cache_features(cache, night_paths, night_labels, centres, rng, drift)
    print(f"setup: {args.images} + {args.added} images, features cached: "
          f"{time.perf_counter() - start:.1f} s")  # fmt: skip

    start = time.perf_counter()
    old = train(scan_dataset(data), config).model
    print(f"first training in this process (TensorFlow import, backbone build, scan): "
          f"{time.perf_counter() - start:.1f} s")  # fmt: skip

    items = [
        AddItem(p, CLASSES[c], d)
        for p, c, d in zip(night_paths, night_labels, night_digests, strict=True)
    ]
    start = time.perf_counter()
    plan = plan_add(items, data)  # hashes the dataset's 5,000 files for the duplicate check
    planned = time.perf_counter() - start
    report = execute_add(plan)
    added = time.perf_counter() - start
    print(f"add {report.done} reviewed images: plan (duplicate check) {planned:.2f} s, "
          f"with copying {added:.2f} s")  # fmt: skip

    corrections = {d: CLASSES[c] for d, c in zip(night_digests, night_labels, strict=True)}
    result = time_retrain(old, corrections, data, "NumPy head fit (Sortscope's)")
    if args.keras:  # the same retrain with the Keras model.fit head that Sortscope used before
        from bench_head_fit import keras_train_head

        import classifier.train

        numpy_train_head = classifier.train.train_head
        classifier.train.train_head = keras_train_head
        try:
            time_retrain(old, corrections, data, "Keras head fit (before 2026-12)")
        finally:
            classifier.train.train_head = numpy_train_head

    rows_cache = work / "rows-cache"
    big = open_cache(backbone, rows_cache, config.preprocessing)
    digests = [f"{i:032x}" for i in range(args.rows)]
    y = rng.integers(0, len(CLASSES), args.rows)
    for s in range(0, args.rows, 16384):
        x = centres[y[s : s + 16384]] + rng.normal(0, 3.0, (len(y[s : s + 16384]), DIM))
        big.put_many(digests[s : s + 16384], x)
    probs = (0.2,) * len(CLASSES)
    rows = [
        Prediction(f"night/{i:06d}.png", CLASSES[0], 0.2, probs, digest=d)
        for i, d in enumerate(digests)
    ]
    new = result.outcome.model
    start = time.perf_counter()
    p, found = rescore(rows, new, rows_cache)
    scored = time.perf_counter() - start
    relabelled = relabel(rows, p, new.class_names)
    both = time.perf_counter() - start
    agree = np.mean([r.label == CLASSES[c] for r, c in zip(relabelled, y, strict=True)])
    print(
        f"re-score {found.sum():,} rows from the cache: {scored:.2f} s; with new rows "
        f"(labels, probabilities) {both:.2f} s (target < 5 s); {agree:.1%} match their class"
    )


if __name__ == "__main__":
    main()
