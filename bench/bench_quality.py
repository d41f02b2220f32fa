"""Label checks, novelty and the map on real images, and what they cost.

    .venv/bin/python bench/bench_quality.py [--per-class 24] [--classes 5]

On Debian's tuxpaint stamps (see bench_training_options.py): --classes categories of
--per-class PNG stamps, 10 of them moved into a wrong category. Reports
- how many of the 10 are among the top 20 suspected label errors (target >= 8);
- novelty AUROC between held-out stamps of the trained categories and stamps of a category
  left out of training (target >= 0.9);
- seconds to check the labels of 5,000 cached images and to project 20,000 points, on
  feature vectors of the default backbone's size (targets < 10 s and < 30 s on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_training_options import STAMPS, ensure_stamps
from workdir import work_folder

MOVED = 10


def categories(classes: int) -> dict[str, list[Path]]:
    found = {}
    for category in sorted(p for p in STAMPS.iterdir() if p.is_dir()):
        files = sorted(category.rglob("*.png"))
        if len(files) >= 34:
            found[category.name] = files
    return {c: found[c] for c in sorted(found, key=lambda c: -len(found[c]))[: classes + 1]}


def build(root: Path, found: dict[str, list[Path]], per_class: int):
    """Dataset of all but the last category, held-out stamps of those, and the left-out one."""
    names = list(found)[:-1]
    held_out, dataset = root / "held_out", root / "dataset"
    for name in names:
        files = found[name][:: max(1, len(found[name]) // (per_class + 10))]
        (dataset / name).mkdir(parents=True)
        for i, source in enumerate(files[:per_class]):
            (dataset / name / f"{i:03d}_{source.name}").symlink_to(source)
        held_out.mkdir(exist_ok=True)
        for i, source in enumerate(files[per_class : per_class + 10]):
            (held_out / f"known_{name}_{i}_{source.name}").symlink_to(source)
    unseen = root / "unseen"
    unseen.mkdir()
    left_out = list(found)[-1]
    for i, source in enumerate(found[left_out][::5][:40]):
        (unseen / f"new_{i}_{source.name}").symlink_to(source)
    rng = np.random.default_rng(0)
    moved = set()
    for k in range(MOVED):
        source_class = names[k % len(names)]
        files = sorted((dataset / source_class).iterdir())
        victim = files[rng.integers(len(files))]
        target = names[(k + 1 + int(rng.integers(len(names) - 1))) % len(names)]
        if target == source_class:
            target = names[(names.index(source_class) + 1) % len(names)]
        victim.rename(dataset / target / victim.name)
        moved.add(f"{target}/{victim.name}")
    return dataset, held_out, unseen, left_out, moved


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=24)
    parser.add_argument("--classes", type=int, default=5)
    args = parser.parse_args()
    ensure_stamps()
    work = work_folder("sortscope-bench-quality-")
    os.environ["SORTSCOPE_CACHE_DIR"] = str(work / "cache")
    os.environ["SORTSCOPE_DATA_DIR"] = str(work / "data")
    from sklearn.metrics import roc_auc_score

    from classifier.backbones import DEFAULT_BACKBONE, get_backbone
    from classifier.predict import NoveltyOptions, classify_folder
    from classifier.projection import project
    from classifier.quality import _ranked_issues, check_labels, out_of_fold_probabilities
    from classifier.scan import scan_dataset
    from classifier.train import train
    from classifier.types import TrainConfig

    dataset, held_out, unseen, left_out, moved = build(
        work, categories(args.classes), args.per_class
    )
    scan = scan_dataset(dataset)
    print(f"Dataset: {len(scan.images)} stamps in {len(scan.classes)} categories; {MOVED} moved")
    backbone = get_backbone(DEFAULT_BACKBONE)
    start = time.perf_counter()
    check = check_labels(scan, backbone)
    print(f"Label check (features computed cold): {time.perf_counter() - start:.1f} s")
    top = [i.file for i in check.issues[:20]]
    found = len(moved & set(top))
    print(f"Moved stamps among the top 20 suspects: {found} of {MOVED} (target >= 8)")

    model = train(scan, TrainConfig(backbone=DEFAULT_BACKBONE)).model
    known = classify_folder(held_out, model, novelty=NoveltyOptions()).rows
    new = classify_folder(unseen, model, novelty=NoveltyOptions()).rows
    scores = [r.novelty for r in known + new if r.novelty is not None]
    truth = [0] * sum(r.novelty is not None for r in known) + [1] * sum(
        r.novelty is not None for r in new
    )
    auroc = roc_auc_score(truth, scores)
    print(
        f"Novelty AUROC, {truth.count(0)} held-out known vs {truth.count(1)} '{left_out}': "
        f"{auroc:.3f} (target >= 0.9)"
    )

    rng = np.random.default_rng(0)
    dim = backbone.feature_dim
    centres = rng.normal(0, 1, (10, dim))

    def synthetic(n):
        y = rng.integers(0, 10, n)
        return (centres[y] + rng.normal(0, 1.5, (n, dim))).astype(np.float32), y

    x, y = synthetic(5_000)
    start = time.perf_counter()
    probabilities = out_of_fold_probabilities(x, y, 10)
    _ranked_issues(y, probabilities, np.ones(10, dtype=bool))
    print(f"Check labels of 5,000 cached images: {time.perf_counter() - start:.1f} s (< 10 s)")
    x, y = synthetic(20_000)
    start = time.perf_counter()
    project(x)
    print(f"Project 20,000 points: {time.perf_counter() - start:.1f} s (< 30 s)")


if __name__ == "__main__":
    main()
