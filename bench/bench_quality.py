"""Label checks, novelty and the map on real images, and what they cost.

    .venv/bin/python bench/bench_quality.py [--per-class 40] [--classes 5] [--seeds 5]

On Debian's tuxpaint stamps (see bench_training_options.py): the --classes largest categories,
--per-class PNG stamps each, 10 of them moved into a wrong category. Reports
- how many of the 10 are among the top 20 suspected label errors (target >= 8), for --seeds
  different sets of moved stamps (the features are cached after the first);
- novelty AUROC between held-out stamps of the trained categories (10 each) and every stamp
  of each category left out of training that has at least 30 (target >= 0.9);
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
MIN_UNSEEN = 30  # stamps a left-out category needs to be tested with


def categories(classes: int) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """The `classes` largest categories (trained on) and the other ones with at least
    `MIN_UNSEEN` stamps (left out of training, to test novelty with)."""
    found = {}
    for category in sorted(p for p in STAMPS.iterdir() if p.is_dir()):
        files = sorted(category.rglob("*.png"))
        if len(files) >= MIN_UNSEEN:
            found[category.name] = files
    ordered = sorted(found, key=lambda c: -len(found[c]))
    return {c: found[c] for c in ordered[:classes]}, {c: found[c] for c in ordered[classes:]}


def build(root: Path, known: dict[str, list[Path]], unseen: dict[str, list[Path]], per_class):
    """Clean dataset of the known categories, 10 held-out stamps of each, every stamp of the
    unseen ones (named by category)."""
    held_out, dataset, new = root / "held_out", root / "clean", root / "unseen"
    held_out.mkdir()
    new.mkdir()
    for name, files in known.items():
        files = files[:: max(1, len(files) // (per_class + 10))]
        if len(files) < per_class + 10:
            raise SystemExit(f"'{name}' has {len(files)} stamps, fewer than --per-class + 10")
        (dataset / name).mkdir(parents=True)
        for i, source in enumerate(files[:per_class]):
            (dataset / name / f"{i:03d}_{source.name}").symlink_to(source)
        for i, source in enumerate(files[per_class : per_class + 10]):
            (held_out / f"known_{name}_{i}_{source.name}").symlink_to(source)
    for name, files in unseen.items():
        for i, source in enumerate(files):
            (new / f"{name}__{i}_{source.name}").symlink_to(source)
    return dataset, held_out, new


def plant(clean: Path, dest: Path, seed: int) -> set[str]:
    """A copy of `clean` (links) with MOVED stamps moved into a wrong category; their new
    paths relative to `dest`."""
    names = sorted(p.name for p in clean.iterdir())
    for name in names:
        (dest / name).mkdir(parents=True)
        for link in (clean / name).iterdir():
            (dest / name / link.name).symlink_to(link.resolve())
    rng = np.random.default_rng(seed)
    files = sorted(dest.rglob("*.png"))
    moved = set()
    for row in rng.choice(len(files), MOVED, replace=False):
        victim = files[row]
        others = [n for n in names if n != victim.parent.name]
        target = others[int(rng.integers(len(others)))]
        victim.rename(dest / target / victim.name)
        moved.add(f"{target}/{victim.name}")
    return moved


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=5, help="sets of moved stamps")
    parser.add_argument("--classes", type=int, default=5)
    args = parser.parse_args()
    ensure_stamps()
    work = work_folder("sortscope-bench-quality-")
    os.environ["SORTSCOPE_CACHE_DIR"] = str(work / "cache")
    os.environ["SORTSCOPE_DATA_DIR"] = str(work / "data")
    from sklearn.metrics import roc_auc_score

    from classifier.backbones import DEFAULT_BACKBONE, get_backbone
    from classifier.features import extract_features, open_cache
    from classifier.novelty import principal_directions
    from classifier.predict import NoveltyOptions, classify_folder
    from classifier.projection import project
    from classifier.quality import _ranked_issues, check_labels, out_of_fold_probabilities
    from classifier.scan import scan_dataset
    from classifier.train import train
    from classifier.types import TrainConfig

    known, left_out = categories(args.classes)
    clean, held_out, unseen = build(work, known, left_out, args.per_class)
    backbone = get_backbone(DEFAULT_BACKBONE)
    counts = []
    for seed in range(args.seeds):
        dataset = work / f"dataset{seed}"
        moved = plant(clean, dataset, seed)
        scan = scan_dataset(dataset)
        start = time.perf_counter()
        check = check_labels(scan, backbone)
        took = time.perf_counter() - start
        counts.append(len(moved & {i.file for i in check.issues[:20]}))
        print(
            f"Seed {seed}: {len(scan.images)} stamps in {len(scan.classes)} categories, "
            f"{MOVED} moved; {counts[-1]} of them in the top 20 of {len(check.issues)} "
            f"suspects ({took:.1f} s{', features computed cold' if seed == 0 else ''})"
        )
    print(
        f"Moved stamps among the top 20 suspects: mean {np.mean(counts):.1f} of {MOVED}, "
        f"min {min(counts)}, max {max(counts)} over {len(counts)} seeds (target >= 8)"
    )

    model = train(scan_dataset(work / "dataset0"), TrainConfig(backbone=DEFAULT_BACKBONE)).model
    print(f"Novelty description: {model.novelty.info}, {len(model.novelty.to_npz()):,} bytes")
    options = NoveltyOptions()
    known_scores = [r.novelty for r in classify_folder(held_out, model, novelty=options).rows]
    by_category: dict[str, list[float]] = {}
    for row in classify_folder(unseen, model, novelty=options).rows:
        by_category.setdefault(row.file.split("__")[0], []).append(row.novelty)
    pooled = [score for scores in by_category.values() for score in scores]
    for name, scores in [*by_category.items(), ("all left out", pooled)]:
        auroc = roc_auc_score([0] * len(known_scores) + [1] * len(scores), known_scores + scores)
        print(
            f"Novelty AUROC, {len(known_scores)} held-out known vs {len(scores)} '{name}': "
            f"{auroc:.3f} (target >= 0.9)"
        )

    # Cached vectors like real ones: every stamp's features (all categories), each drawn
    # many times with a little noise, labelled by category with 5 % of the labels wrong.
    stamps = sorted(STAMPS.rglob("*.png"))
    names = sorted({p.relative_to(STAMPS).parts[0] for p in stamps})
    category = np.array([names.index(p.relative_to(STAMPS).parts[0]) for p in stamps])
    result = extract_features(stamps, backbone, cache=open_cache(backbone))
    real, category = result.features[result.ok], category[result.ok]
    rng = np.random.default_rng(0)
    spread = real.std(axis=0) * 0.2

    def synthetic(n):
        rows = rng.integers(0, len(real), n)
        x = real[rows] + rng.normal(0, 1, (n, real.shape[1])).astype(np.float32) * spread
        y = category[rows].copy()
        wrong = rng.random(n) < 0.05
        y[wrong] = rng.integers(0, len(names), int(wrong.sum()))
        return x.astype(np.float32), y

    x, y = synthetic(5_000)
    start = time.perf_counter()
    probabilities = out_of_fold_probabilities(x, y, len(names))
    _ranked_issues(y, probabilities, np.bincount(y, minlength=len(names)) >= 2)
    print(
        f"Check labels of 5,000 cached images ({len(names)} classes from {len(real)} stamps): "
        f"{time.perf_counter() - start:.1f} s (< 10 s)"
    )
    x, y = synthetic(20_000)
    start = time.perf_counter()
    projection = project(x)
    took = time.perf_counter() - start
    print(
        f"Project 20,000 points ({projection.method}): {took:.1f} s (< 30 s); "
        f"2-D nearest neighbour of the same category: {_agreement(projection.xy, y):.3f}"
    )
    centred = x - x.mean(axis=0)
    plane = centred @ principal_directions(centred, 2).T
    print(f"(PCA plane alone: same-category nearest neighbour {_agreement(plane, y):.3f})")


def _agreement(xy: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.neighbors import NearestNeighbors

    _, nearest = NearestNeighbors(n_neighbors=2).fit(xy).kneighbors(xy)
    return float((labels[nearest[:, 1]] == labels).mean())


if __name__ == "__main__":
    main()
