"""What each training option buys on a real multi-class image set, and what it costs.

    .venv/bin/python bench/bench_training_options.py [--per-class 60] [--classes 8]

Uses Debian's `tuxpaint-stamps-default` (clip-art and photos in category folders), installing
it with apt-get when missing. Classes are the stamp categories (animals, food, vehicles...),
PNG files only, at most --per-class each. Every configuration trains from a cold feature cache
(its own temporary cache), so times include feature extraction; accuracy is on the held-out
test split (20 %), identical for every configuration.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STAMPS = Path("/usr/share/tuxpaint/stamps")


def ensure_stamps() -> None:
    if STAMPS.is_dir():
        return
    print("Installing tuxpaint-stamps-default (about 160 MB)…", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "install", "-y", "tuxpaint-stamps-default"], check=True)


def build_dataset(root: Path, per_class: int, classes: int) -> dict[str, int]:
    """Link up to `per_class` PNG stamps of the largest categories into root/<category>/."""
    found = {}
    for category in sorted(p for p in STAMPS.iterdir() if p.is_dir()):
        files = sorted(category.rglob("*.png"))
        if len(files) >= 30:
            found[category.name] = files
    chosen = sorted(found, key=lambda c: -len(found[c]))[:classes]
    counts = {}
    for name in sorted(chosen):
        folder = root / name
        folder.mkdir(parents=True)
        # Every k-th file: a spread over the category's sub-folders, not its first few.
        files = found[name][:: max(1, len(found[name]) // per_class)][:per_class]
        for i, source in enumerate(files):
            (folder / f"{i:03d}_{source.name}").symlink_to(source)
        counts[name] = len(files)
    return counts


def configurations(args) -> list[tuple[str, dict]]:
    from classifier.backbones import get_backbone

    del args
    base = {"test_percent": 20.0, "validation_percent": 15.0, "epochs": 40, "seed": 1}
    augment = {
        "augment_copies": 3, "augment_flips": True, "augment_rotation": 15.0,
        "augment_zoom": 0.15, "augment_brightness": 0.2, "augment_contrast": 0.2,
    }  # fmt: skip
    runs = [
        ("Lite0, head only", {}),
        ("Lite0, head only, fast (int8)", {"int8": True}),
        ("Lite0, head + augmentation (3 copies)", augment),
        (
            "Lite0, head + fine-tuning (last 2 blocks, 5 epochs)",
            {"fine_tune_blocks": 2, "fine_tune_epochs": 5},
        ),
        ("MLP on 32x32 pixels (128 hidden)", {"model_type": "mlp", "epochs": 100}),
        ("Small CNN from scratch (64x64)", {"model_type": "small_cnn", "epochs": 30}),
    ]
    for name in ("efficientnet_lite1", "efficientnet_lite2"):
        backbone = get_backbone(name)
        if backbone.availability().available:
            short = backbone.title.replace("EfficientNet-", "")
            runs.append((f"{short}, head only", {"backbone": name}))
            runs.append((f"{short}, head only, fast (int8)", {"backbone": name, "int8": True}))
    return [(title, {**base, **options}) for title, options in runs]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--classes", type=int, default=8)
    parser.add_argument("--only", default="", help="run configurations whose title has this")
    args = parser.parse_args()
    ensure_stamps()
    work = Path(tempfile.mkdtemp(prefix="sortscope-bench-training-"))
    try:
        counts = build_dataset(work / "stamps", args.per_class, args.classes)
        print(f"Dataset: {sum(counts.values())} images, {len(counts)} classes: {counts}")
        from classifier.scan import scan_dataset
        from classifier.train import train
        from classifier.types import TrainConfig

        os.environ["SORTSCOPE_CACHE_DIR"] = str(work / "cache")
        scan = scan_dataset(work / "stamps")
        from classifier.backbones import fast, get_backbone
        from classifier.engine import load_engine

        for name in ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"):
            if get_backbone(name).availability().available:
                for backbone in (get_backbone(name), fast(get_backbone(name))):
                    start = time.perf_counter()  # convert once, outside the timings
                    load_engine(backbone)
                    seconds = time.perf_counter() - start
                    print(f"{backbone.engine_key}: converted in {seconds:.0f} s", flush=True)
        print("\n| configuration | test accuracy | balanced accuracy | training time (cold) |")
        print("|---|---|---|---|")
        for title, options in configurations(args):
            if args.only and args.only not in title:
                continue
            # Cold features for every run; converted inference engines are kept (made once).
            shutil.rmtree(work / "cache" / "features", ignore_errors=True)
            start = time.perf_counter()
            outcome = train(scan, TrainConfig(**options))
            seconds = time.perf_counter() - start
            ev = outcome.evaluation
            print(
                f"| {title} | {ev.accuracy:.1%} | {ev.balanced_accuracy:.1%} | {seconds:.0f} s |",
                flush=True,
            )
        print(f"\n({ev.n_images} test images; majority baseline {ev.baseline_accuracy:.1%})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
