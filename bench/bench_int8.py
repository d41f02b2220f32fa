"""Which calibration set the int8 engine should use: Sortscope's generated one, or a dataset's
own training images. Feature agreement with float32 and test accuracy of the same head.

    .venv/bin/python bench/bench_int8.py [--per-class 60] [--backbone efficientnet_lite0]

On the tuxpaint stamps of bench_training_options.py (same split: 65/15/20 %, seed 1): float32
features, int8 features calibrated on the generated set (classifier/int8_engine.py) and int8
features calibrated on up to 100 of the dataset's training images. Agreement is the mean (and
lowest) cosine similarity to float32 features on the test images; accuracy is a logistic
regression fitted on the training split's features of each engine, scored on the test split.
Also the speed of each engine: one interpreter on all cores, one image per invoke.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from bench_training_options import build_dataset, ensure_stamps  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--classes", type=int, default=8)
    parser.add_argument("--backbone", default="efficientnet_lite0")
    args = parser.parse_args()
    ensure_stamps()
    from sklearn.linear_model import LogisticRegression

    from classifier.backbones import get_backbone, load_feature_model
    from classifier.engine import TFLiteEngine, convert
    from classifier.images import load_for_model
    from classifier.int8_engine import agreement, convert_int8, generic_images
    from classifier.model_dataset import spread
    from classifier.scan import scan_dataset
    from classifier.split import assign_splits, split_key
    from classifier.types import Split, SplitConfig

    work = Path(tempfile.mkdtemp(prefix="sortscope-bench-int8-"))
    try:
        build_dataset(work / "stamps", args.per_class, args.classes)
        scan = scan_dataset(work / "stamps")
        splits = assign_splits(scan.images, SplitConfig(15.0, 20.0))
        backbone = get_backbone(args.backbone)
        size = backbone.input_size
        network = load_feature_model(backbone)
        index = {c: i for i, c in enumerate(scan.classes)}
        by_split = {}
        for split in (Split.TRAIN, Split.TEST):
            records = [r for r in scan.images if splits[split_key(r)] == split]
            pixels = np.stack([load_for_model(r.path, size)[0] for r in records])
            labels = np.array([index[r.class_name] for r in records])
            by_split[split] = (pixels.astype(np.float32), labels, records)
        train_pixels, train_y, train_records = by_split[Split.TRAIN]
        chosen = {id(r) for r in spread(train_records, 100)}
        own = train_pixels[[i for i, r in enumerate(train_records) if id(r) in chosen]]
        flatbuffers = {"float32": convert(network)}
        flatbuffers["int8, generated calibration"] = convert_int8(network, generic_images(size))
        flatbuffers[f"int8, {len(own)} training images"] = convert_int8(network, own)
        features, speed = {}, {}
        for name, content in flatbuffers.items():
            path = work / f"{len(features)}.tflite"
            path.write_bytes(content)
            engine = TFLiteEngine(path, instances=1)
            features[name] = {s: engine.predict(p) for s, (p, _, _) in by_split.items()}
            start = time.perf_counter()
            engine.predict(by_split[Split.TEST][0][:64])
            speed[name] = 1000 * (time.perf_counter() - start) / 64
        test_y = by_split[Split.TEST][1]
        print(f"{args.backbone}: {len(train_y)} training, {len(test_y)} test images")
        print(
            "| engine | ms/image, one interpreter on all cores "
            "| cosine to fp32 (mean / lowest) | test accuracy |"
        )
        print("|---|---|---|---|")
        reference = features["float32"][Split.TEST]
        for name, rows in features.items():
            a = rows[Split.TEST]
            cosines = [agreement(a[i : i + 1], reference[i : i + 1]) for i in range(len(a))]
            head = LogisticRegression(max_iter=2000, C=1.0).fit(rows[Split.TRAIN], train_y)
            accuracy = np.mean(head.predict(a) == test_y)
            print(
                f"| {name} | {speed[name]:.1f} | {np.mean(cosines):.4f} / {np.min(cosines):.4f} "
                f"| {accuracy:.1%} ({round(accuracy * len(test_y))}/{len(test_y)}) |"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
