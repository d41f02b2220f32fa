"""The classifier head fitted on cached feature vectors, in NumPy: no per-step framework cost.

The head is a softmax layer on the features, or one ReLU hidden layer with dropout before it.
Training it is a few small matrix products per mini-batch; Keras spent most of its time on
per-step overhead around them (30 epochs of 5,000 vectors: ~15 s in Keras, well under a second
here, see bench/bench_head_fit.py). Every training path that learns from cached features
(transfer learning, the MLP baseline, retrain with corrections) fits its head here; the weights
are then put into the Keras head layers that the model file stores.

What it does is what `model.fit` did with Sortscope's settings, so results stay comparable:
sparse categorical cross-entropy (summed over the batch, divided by its size, each row weighted
by its class weight), Glorot-uniform kernels and zero biases, inverted dropout, mini-batches
reshuffled every epoch, Adam / SGD with momentum 0.9 / RMSprop with Keras' constants, a cosine
or reduce-on-plateau learning-rate schedule, and early stopping on the validation loss (the
training loss without validation images) that restores the best epoch's weights.

API (also for out-of-fold predictions elsewhere):

    fit = fit_head(x, y, n_classes, HeadOptions(epochs=30), validation=(x_val, y_val))
    probabilities = fit.predict(x_new)
    fit.layers        # [(kernel, bias, activation)], as `modelfile.dense_layers` gives them
    fit.best_epoch, fit.stopped_early, fit.epochs_run

`on_epoch` gets an `EpochReport` after every epoch; `cancel` (anything with a `cancelled`
attribute) is checked after every batch: a cancelled fit returns early with the best weights
so far, and the caller raises.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Layers = list[tuple[np.ndarray, np.ndarray, str]]  # (kernel, bias, activation) per Dense layer

OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULES = ("constant", "cosine", "plateau")
_EPSILON = 1e-7  # Keras' optimizer epsilon
_BETA_1, _BETA_2 = 0.9, 0.999  # Adam
_RHO = 0.9  # RMSprop
_MOMENTUM = 0.9  # SGD
_PLATEAU_FACTOR, _PLATEAU_MIN_DELTA = 0.5, 1e-4


@dataclass(frozen=True)
class HeadOptions:
    hidden_units: int = 0  # 0: softmax straight on the features
    dropout: float = 0.2  # on the hidden layer's output, when there is one
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 0.001
    optimizer: str = "adam"  # one of OPTIMIZERS
    class_weights: bool = True  # weight each class by n / (classes * its count)
    lr_schedule: str = "constant"  # one of SCHEDULES
    early_stopping: bool = True
    patience: int = 5  # epochs without improvement before stopping (plateau: half of it)
    seed: int = 42

    @classmethod
    def from_config(cls, config) -> HeadOptions:
        """The options of a `TrainConfig` (oversampling replaces class weights)."""
        return cls(
            hidden_units=config.hidden_units,
            dropout=config.dropout,
            epochs=config.epochs,
            batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            optimizer=config.optimizer,
            class_weights=config.class_weights and not config.oversample,
            lr_schedule=config.lr_schedule,
            early_stopping=config.early_stopping,
            patience=config.patience,
            seed=config.seed,
        )


@dataclass(frozen=True)
class EpochReport:
    epoch: int  # 1-based, within this fit
    loss: float  # weighted training loss, dropout on, averaged over the epoch's batches
    accuracy: float  # weighted training accuracy over the epoch's batches
    val_loss: float | None
    val_accuracy: float | None
    learning_rate: float  # the rate this epoch trained with
    seconds: float


@dataclass
class HeadFit:
    layers: Layers
    epochs_run: int
    best_epoch: int  # 1-based: the epoch whose weights these are
    stopped_early: bool
    history: list[EpochReport]

    def predict(self, x: np.ndarray) -> np.ndarray:
        return predict(self.layers, x)


def predict(layers: Layers, x: np.ndarray) -> np.ndarray:
    """Class probabilities of feature vectors (dropout off)."""
    h = np.asarray(x, dtype=np.float32)
    for kernel, bias, activation in layers:
        h = h @ kernel + bias
        if activation == "relu":
            np.maximum(h, 0.0, out=h)
        elif activation == "softmax":
            h = _softmax(h)
    return h


def balanced_class_weights(y: np.ndarray, n_classes: int) -> dict[int, float]:
    counts = np.bincount(y, minlength=n_classes)
    return {i: float(len(y) / (n_classes * c)) if c else 0.0 for i, c in enumerate(counts)}


def fit_head(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    options: HeadOptions | None = None,
    *,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    cancel=None,
    initial: Layers | None = None,
) -> HeadFit:
    """Fit a head on `x` (n, dim) with labels `y` (n,) in [0, n_classes).

    `on_batch(epoch)` is called at the first batch of each epoch (1-based): a heartbeat.
    `initial`: start from these weights (same shapes) instead of Glorot-uniform ones."""
    options = options or HeadOptions()
    _check(options, len(y))
    rng = np.random.default_rng(options.seed)
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    has_val = validation is not None and len(validation[1]) > 0
    if has_val:
        val_x = np.ascontiguousarray(validation[0], dtype=np.float32)
        val_y = np.asarray(validation[1], dtype=np.int64)
    weights = np.ones(n_classes, dtype=np.float32)
    if options.class_weights:
        weights = np.array(list(balanced_class_weights(y, n_classes).values()), np.float32)
    net = _Net(x.shape[1], n_classes, options, rng)
    if initial is not None:
        net.load(initial)
    step = _Optimizer(options.optimizer, net.params)
    stop = _Stopper(options) if options.early_stopping else None
    plateau = _Plateau(options) if options.lr_schedule == "plateau" else None
    rate = options.learning_rate
    history: list[EpochReport] = []
    for epoch in range(options.epochs):
        start = time.perf_counter()
        if options.lr_schedule == "cosine":
            rate = options.learning_rate * 0.5 * (1 + math.cos(math.pi * epoch / options.epochs))
        order = rng.permutation(len(y))  # rows gathered per batch: no copy of all of `x`
        loss_sum = right_sum = weight_sum = 0.0
        for first in range(0, len(y), options.batch_size):
            if first == 0 and on_batch is not None:
                on_batch(epoch + 1)
            rows = order[first : first + options.batch_size]
            xb, yb = x[rows], y[rows]
            wb = weights[yb]
            loss, right = net.train_step(xb, yb, wb, rng)
            step.apply(net.params, net.grads, rate)
            loss_sum += loss
            right_sum += right
            weight_sum += float(wb.sum())
            if cancel is not None and cancel.cancelled:
                break
        if cancel is not None and cancel.cancelled:
            break
        val_loss = val_accuracy = None
        if has_val:
            p = net.predict(val_x)
            val_loss, val_accuracy = _cross_entropy(p, val_y), _accuracy(p, val_y)
        report = EpochReport(
            epoch=epoch + 1,
            loss=loss_sum / len(y),
            accuracy=right_sum / weight_sum if weight_sum else 0.0,
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            learning_rate=rate,
            seconds=time.perf_counter() - start,
        )
        history.append(report)
        if on_epoch is not None:
            on_epoch(report)
        monitored = report.val_loss if has_val else report.loss
        if plateau is not None:
            rate = plateau.update(monitored, rate)
        if stop is not None and stop.update(epoch, monitored, net):
            break
    if stop is not None and stop.best_params is not None:
        net.params = stop.best_params
    best, stopped = (stop.best_epoch + 1, stop.stopped) if stop else (len(history), False)
    return HeadFit(net.layers(), len(history), best, stopped, history)


def _check(options: HeadOptions, rows: int) -> None:
    if options.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {options.optimizer!r}")
    if options.lr_schedule not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {options.lr_schedule!r}")
    if options.epochs < 1 or options.batch_size < 1 or rows < 1:
        raise ValueError("a head fit needs at least one epoch, one row and a batch size >= 1")
    if not 0 <= options.dropout < 1:
        raise ValueError("dropout must be at least 0 and below 1")


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _cross_entropy(p: np.ndarray, y: np.ndarray) -> float:
    picked = np.clip(p[np.arange(len(y)), y], _EPSILON, 1.0)
    return float(-np.log(picked).mean())


def _accuracy(p: np.ndarray, y: np.ndarray) -> float:
    return float((p.argmax(axis=1) == y).mean())


def _glorot(rng, fan_in: int, fan_out: int) -> np.ndarray:
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)


class _Net:
    """Parameters [kernel, bias] (+ [kernel, bias] of the hidden layer first), and one step."""

    def __init__(self, dim: int, n_classes: int, options: HeadOptions, rng) -> None:
        self.hidden = options.hidden_units
        self.keep = 1.0 - options.dropout
        widths = [dim, self.hidden, n_classes] if self.hidden else [dim, n_classes]
        self.params: list[np.ndarray] = []
        for fan_in, fan_out in itertools.pairwise(widths):
            self.params += [_glorot(rng, fan_in, fan_out), np.zeros(fan_out, np.float32)]
        self.grads = [np.zeros_like(p) for p in self.params]

    def load(self, layers: Layers) -> None:
        given = [np.asarray(w, np.float32) for kernel, bias, _ in layers for w in (kernel, bias)]
        if [w.shape for w in given] != [p.shape for p in self.params]:
            raise ValueError("the initial weights do not fit this head's shape")
        self.params = [w.copy() for w in given]

    def layers(self, copy: bool = True) -> Layers:
        kinds = ["relu", "softmax"] if self.hidden else ["softmax"]
        pairs = zip(self.params[0::2], self.params[1::2], kinds, strict=True)
        return [(k.copy(), b.copy(), a) if copy else (k, b, a) for k, b, a in pairs]

    def predict(self, x: np.ndarray) -> np.ndarray:
        return predict(self.layers(copy=False), x)

    def train_step(self, xb, yb, wb, rng) -> tuple[float, float]:
        """Gradients of the batch's weighted loss into `grads`; (sum of w * loss, of w * right)."""
        rows = np.arange(len(yb))
        h = xb
        if self.hidden:
            pre = xb @ self.params[0] + self.params[1]
            active = pre > 0
            h = np.maximum(pre, np.float32(0))
            if self.keep < 1.0:
                mask = (rng.random(h.shape, dtype=np.float32) < self.keep) / np.float32(self.keep)
                h *= mask
        kernel, bias = self.params[-2], self.params[-1]
        p = _softmax(h @ kernel + bias)
        picked = np.clip(p[rows, yb], _EPSILON, 1.0)
        loss = float((wb * -np.log(picked)).sum())
        right = float(wb[p.argmax(axis=1) == yb].sum())
        g = p
        g[rows, yb] -= 1.0
        g *= (wb / np.float32(len(yb)))[:, None]
        np.matmul(h.T, g, out=self.grads[-2])
        np.sum(g, axis=0, out=self.grads[-1])
        if self.hidden:
            back = g @ kernel.T
            if self.keep < 1.0:
                back *= mask
            back *= active
            np.matmul(xb.T, back, out=self.grads[0])
            np.sum(back, axis=0, out=self.grads[1])
        return loss, right


class _Optimizer:
    """Keras' Adam, SGD (momentum 0.9) and RMSprop update rules, in place."""

    def __init__(self, name: str, params: list[np.ndarray]) -> None:
        self.name = name
        self.steps = 0
        self.first = [np.zeros_like(p) for p in params]
        self.second = [np.zeros_like(p) for p in params] if name == "adam" else []
        self.scratch = [np.zeros_like(p) for p in params]

    def apply(self, params, grads, rate: float) -> None:
        self.steps += 1
        if self.name == "adam":
            t = self.steps
            alpha = rate * math.sqrt(1 - _BETA_2**t) / (1 - _BETA_1**t)
            moments = zip(params, grads, self.first, self.second, self.scratch, strict=True)
            for p, g, m, v, s in moments:
                m += (g - m) * (1 - _BETA_1)
                np.square(g, out=s)
                s -= v
                s *= 1 - _BETA_2
                v += s
                np.sqrt(v, out=s)
                s += _EPSILON
                np.divide(m, s, out=s)
                s *= alpha
                p -= s
        elif self.name == "sgd":
            for p, g, m in zip(params, grads, self.first, strict=True):
                m *= _MOMENTUM
                m -= g * rate
                p += m
        else:  # rmsprop
            for p, g, v, s in zip(params, grads, self.first, self.scratch, strict=True):
                v *= _RHO
                v += (1 - _RHO) * np.square(g)
                np.add(v, _EPSILON, out=s)
                np.sqrt(s, out=s)
                np.divide(g, s, out=s)
                s *= rate
                p -= s


class _Stopper:
    """Keras' EarlyStopping(patience, restore_best_weights=True) on one monitored loss."""

    def __init__(self, options: HeadOptions) -> None:
        self.patience = options.patience
        self.best = math.inf
        self.best_epoch = 0
        self.best_params: list[np.ndarray] | None = None
        self.wait = 0
        self.stopped = False

    def update(self, epoch: int, value: float, net: _Net) -> bool:
        """Record an epoch's value; True when training should stop."""
        self.wait += 1
        if value < self.best or self.best_params is None:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            self.best_params = [p.copy() for p in net.params]
            return False
        if self.wait >= self.patience and epoch > 0:
            self.stopped = True
        return self.stopped


class _Plateau:
    """Keras' ReduceLROnPlateau(factor 0.5, patience max(1, patience // 2), min lr / 100)."""

    def __init__(self, options: HeadOptions) -> None:
        self.patience = max(1, options.patience // 2)
        self.floor = options.learning_rate / 100
        self.best = math.inf
        self.wait = 0

    def update(self, value: float, rate: float) -> float:
        if value + _PLATEAU_MIN_DELTA < self.best:
            self.best, self.wait = value, 0
            return rate
        self.wait += 1
        if self.wait >= self.patience:
            self.wait = 0
            if rate > np.float32(self.floor):
                return max(rate * _PLATEAU_FACTOR, self.floor)
        return rate
