"""Training the head on cached features: 5,000 vectors of 1,280 (EfficientNet-Lite0's size).

.venv/bin/python bench/bench_head_fit.py [--vectors 5000] [--epochs 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vectors", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    from classifier.keras_loop import RunLog
    from classifier.tf_runtime import keras
    from classifier.train import SplitData, train_head
    from classifier.types import TrainConfig

    keras()
    rng = np.random.default_rng(0)
    n_classes = 5
    y = rng.integers(0, n_classes, args.vectors)
    centres = rng.normal(0, 1, (n_classes, 1280))
    x = (centres[y] + rng.normal(0, 3, (args.vectors, 1280))).astype(np.float32)
    cut = int(args.vectors * 0.9)
    train = SplitData(x[:cut], y[:cut], [])
    validation = SplitData(x[cut:], y[cut:], [])
    for hidden in (0, 256):
        config = TrainConfig(epochs=args.epochs, hidden_units=hidden, early_stopping=False)
        start = time.perf_counter()
        log = RunLog(config)
        train_head(train, validation, n_classes, config, log)
        history = log.history
        seconds = time.perf_counter() - start
        print(
            f"{os.cpu_count()} cores: {args.vectors} vectors, {len(history)} epochs, "
            f"hidden {hidden or 'none'}: {seconds:.1f}s "
            f"(val accuracy {history[-1].val_accuracy:.1%})"
        )


if __name__ == "__main__":
    main()
