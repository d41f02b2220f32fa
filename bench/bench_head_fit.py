"""Training the head on cached features: 5,000 vectors of 1,280 (EfficientNet-Lite0's size).

.venv/bin/python bench/bench_head_fit.py [--vectors 5000] [--epochs 30] [--repeats 1] [--noise 3]

Sortscope fits the head in NumPy (`classifier.head_fit`, what `train()` uses); the Keras
`model.fit` it replaced runs here too, with the same options, for the time and accuracy side by
side: a softmax layer and a 256-unit hidden layer, 30 epochs without and with early stopping;
accuracy on 2,000 further vectors from the same classes (class centres drawn from N(0, 1) per
dimension, each vector its centre plus N(0, noise): 3 is easy, 20 is hard).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@dataclass
class KerasFit:
    """What `train_head` returns about its fit, for a Keras-fitted head."""

    head: object
    best_epoch: int
    stopped_early: bool

    def predict(self, x: np.ndarray) -> np.ndarray:
        if not len(x):
            return np.zeros((0, self.head.output_shape[-1]), dtype=np.float32)
        return np.asarray(self.head.predict_on_batch(x))


def keras_train_head(train, validation, n_classes: int, config, log=None):
    """`classifier.train.train_head` as it was with Keras' model.fit until 2026-12 (kept here
    for comparison only; bench_review.py --keras swaps it in)."""
    from classifier.keras_loop import RunLog, build_head, class_weight, optimizer
    from classifier.progress import FitStage
    from classifier.tf_runtime import keras
    from classifier.train import head_config
    from classifier.training_data import training_arrays

    k = keras()
    log = log or RunLog(config)
    k.utils.set_random_seed(config.seed)
    config = head_config(config)
    head = build_head(train.x.shape[1], n_classes, config)
    head.compile(
        optimizer=optimizer(config, config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    has_val = len(validation.y) > 0
    x, y = training_arrays(train, n_classes, config)
    log.training_rows = len(y)
    callbacks = log.callbacks(FitStage.HEAD, config.epochs, config.learning_rate, has_val)
    fitted = head.fit(
        x,
        y,
        validation_data=(validation.x, validation.y) if has_val else None,
        epochs=config.epochs,
        batch_size=config.batch_size,
        class_weight=class_weight(y, n_classes, config),
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    log.cancel.check()
    best, stopped = RunLog.outcome(callbacks, len(fitted.epoch))
    return head, KerasFit(head, best, stopped)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vectors", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--noise", type=float, default=3.0, help="spread around the class centres (20: harder)"
    )
    args = parser.parse_args()
    from classifier.keras_loop import RunLog
    from classifier.tf_runtime import keras
    from classifier.train import SplitData
    from classifier.train import train_head as numpy_train_head
    from classifier.types import TrainConfig

    keras()
    rng = np.random.default_rng(0)
    n_classes = 5
    y = rng.integers(0, n_classes, args.vectors + 2000)
    centres = rng.normal(0, 1, (n_classes, 1280))
    x = (centres[y] + rng.normal(0, args.noise, (len(y), 1280))).astype(np.float32)
    cut, end = int(args.vectors * 0.9), args.vectors
    train = SplitData(x[:cut], y[:cut], [])
    validation = SplitData(x[cut:end], y[cut:end], [])
    test_x, test_y = x[end:], y[end:]
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    for early in (False, True):
        for hidden in (0, 256):
            config = TrainConfig(epochs=args.epochs, hidden_units=hidden, early_stopping=early)
            for name, train_head in (("keras", keras_train_head), ("numpy", numpy_train_head)):
                times = []
                for _ in range(args.repeats):
                    log = RunLog(config)
                    start = time.perf_counter()
                    _, fit = train_head(train, validation, n_classes, config, log)
                    times.append(time.perf_counter() - start)
                    epochs = len(log.history)
                accuracy = (fit.predict(test_x).argmax(axis=1) == test_y).mean()
                print(
                    f"{name}: {args.vectors} vectors, hidden {hidden or 'none'}, "
                    f"early stopping {'on' if early else 'off'}: {epochs} epochs in "
                    f"{min(times):.2f} s (of {args.repeats}); test accuracy {accuracy:.1%}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
