"""The NumPy head fit (`classifier.head_fit`): what Keras' model.fit did, without its per-step
cost. The gradient is checked against finite differences, the update rules against Keras' own
optimizers from the same starting weights, and the schedule, early stopping and cancellation
against the behaviour of the Keras callbacks they replace."""

import itertools

import numpy as np
import pytest

from classifier.head_fit import HeadOptions, _Net, fit_head, predict
from classifier.progress import CancelToken


def blobs(n=300, classes=3, dim=24, spread=1.5, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = rng.normal(0, 1, (classes, dim))
    return (centres[y] + rng.normal(0, spread, (n, dim))).astype(np.float32), y


def test_learns_and_reports_every_epoch():
    x, y = blobs()
    reports, beats = [], []
    fit = fit_head(
        x[:240], y[:240], 3, HeadOptions(epochs=8, learning_rate=0.01),
        validation=(x[240:], y[240:]),
        on_epoch=reports.append, on_batch=beats.append,
    )  # fmt: skip
    assert [r.epoch for r in reports] == list(range(1, 9)) == beats
    assert fit.history == reports and fit.epochs_run == 8 and fit.best_epoch == 8
    assert reports[-1].loss < reports[0].loss and reports[-1].val_accuracy > 0.8
    assert all(r.learning_rate == 0.01 and r.seconds >= 0 for r in reports)
    p = fit.predict(x)
    assert p.shape == (300, 3) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    assert [a for _, _, a in fit.layers] == ["softmax"]


def test_same_seed_same_head_and_another_seed_another():
    x, y = blobs()
    options = HeadOptions(epochs=3, hidden_units=8)
    a, b = fit_head(x, y, 3, options), fit_head(x, y, 3, options)
    for (ka, ba, _), (kb, bb, _) in zip(a.layers, b.layers, strict=True):
        np.testing.assert_array_equal(ka, kb)
        np.testing.assert_array_equal(ba, bb)
    c = fit_head(x, y, 3, HeadOptions(epochs=3, hidden_units=8, seed=7))
    assert not np.array_equal(a.layers[0][0], c.layers[0][0])


@pytest.mark.parametrize("hidden", [0, 5])
def test_gradient_matches_finite_differences(hidden):
    x, y = blobs(n=7, dim=4)
    w = np.array([1.0, 2.0, 0.5], np.float32)[y]
    rng = np.random.default_rng(1)
    net = _Net(4, 3, HeadOptions(hidden_units=hidden, dropout=0.0), rng)
    net.params = [p.astype(np.float64) for p in net.params]
    net.grads = [np.zeros_like(p) for p in net.params]
    net.train_step(x.astype(np.float64), y, w.astype(np.float64), rng)

    def loss() -> float:
        p = predict(net.layers(), x.astype(np.float64))
        return float((w * -np.log(p[np.arange(7), y])).sum() / 7)

    for param, grad in zip(net.params, net.grads, strict=True):
        for index in itertools.islice(np.ndindex(param.shape), 6):
            keep = param[index]
            param[index] = keep + 1e-6
            up = loss()
            param[index] = keep - 1e-6
            down = loss()
            param[index] = keep
            assert grad[index] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-8)


@pytest.mark.parametrize(
    ("optimizer", "hidden", "balanced"),
    [("adam", 0, True), ("adam", 6, False), ("sgd", 0, True), ("rmsprop", 6, True)],
)
def test_updates_match_keras_from_the_same_weights(optimizer, hidden, balanced):
    from classifier.keras_loop import balanced_class_weights, build_head, set_head_weights
    from classifier.keras_loop import optimizer as keras_optimizer
    from classifier.types import TrainConfig

    x, y = blobs(n=40, dim=6)
    y[:30] = 0  # unbalanced: class weights matter
    config = TrainConfig(optimizer=optimizer, hidden_units=hidden, dropout=0.0,
                         learning_rate=0.05, class_weights=balanced)  # fmt: skip
    dense = [layer for layer in build_head(6, 3, config).layers if layer.get_weights()]
    start = [(k, b + 0.1, "") for k, b in (layer.get_weights() for layer in dense)]
    model = build_head(6, 3, config)
    set_head_weights(model, start)
    model.compile(optimizer=keras_optimizer(config, 0.05), loss="sparse_categorical_crossentropy")
    weights = balanced_class_weights(y, 3) if balanced else None
    model.fit(x, y, batch_size=40, epochs=4, shuffle=False, verbose=0, class_weight=weights)
    options = HeadOptions.from_config(config)
    ours = fit_head(x, y, 3, options.__class__(**{**options.__dict__, "epochs": 4,
                    "batch_size": 40, "early_stopping": False}), initial=start)  # fmt: skip
    theirs = [w for layer in model.layers for w in layer.get_weights()]
    mine = [w for k, b, _ in ours.layers for w in (k, b)]
    for a, b in zip(mine, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


def test_early_stopping_restores_the_best_epoch():
    x, y = blobs(n=200, spread=3.0)
    options = HeadOptions(epochs=200, learning_rate=0.5, optimizer="sgd", patience=2)
    fit = fit_head(x[:150], y[:150], 3, options, validation=(x[150:], y[150:]))
    assert fit.stopped_early and fit.epochs_run < 200
    best = min(fit.history, key=lambda r: r.val_loss)
    assert fit.best_epoch == best.epoch
    p = fit.predict(x[150:])
    loss = -np.log(np.clip(p[np.arange(50), y[150:]], 1e-7, 1)).mean()
    assert loss == pytest.approx(best.val_loss, rel=1e-5)  # the best epoch's weights


def test_without_validation_the_training_loss_is_watched():
    x, y = blobs()
    fit = fit_head(x, y, 3, HeadOptions(epochs=4))
    assert all(r.val_loss is None for r in fit.history) and fit.epochs_run == 4


def test_cosine_and_plateau_schedules():
    x, y = blobs(n=120, spread=4.0)
    cosine = fit_head(x, y, 3, HeadOptions(epochs=6, lr_schedule="cosine", learning_rate=0.02,
                                           early_stopping=False))  # fmt: skip
    rates = [r.learning_rate for r in cosine.history]
    assert rates[0] == pytest.approx(0.02) and all(a > b for a, b in itertools.pairwise(rates))
    plateau = fit_head(
        x[:60], y[:60], 3,
        HeadOptions(epochs=30, lr_schedule="plateau", learning_rate=0.5, optimizer="sgd",
                    patience=2, early_stopping=False),
        validation=(x[60:], y[60:]),
    )  # fmt: skip
    rates = [r.learning_rate for r in plateau.history]
    assert rates[0] == 0.5 and rates[-1] < 0.5
    assert all(a >= b for a, b in itertools.pairwise(rates)) and min(rates) >= 0.005


def test_class_weights_lift_a_rare_class():
    x, y = blobs(n=400, classes=2, spread=3.0)
    keep = (y == 0) | (np.arange(400) % 10 == 0)  # class 1 is rare
    x, y = x[keep], y[keep]
    plain = fit_head(x, y, 2, HeadOptions(epochs=5, class_weights=False)).predict(x)
    weighted = fit_head(x, y, 2, HeadOptions(epochs=5)).predict(x)
    assert weighted[y == 1, 1].mean() > plain[y == 1, 1].mean()


def test_cancel_stops_within_an_epoch():
    x, y = blobs()
    token = CancelToken()
    seen = []

    def report(r):
        seen.append(r)
        if r.epoch == 2:
            token.cancel()

    fit = fit_head(x, y, 3, HeadOptions(epochs=50), on_epoch=report, cancel=token)
    assert len(seen) == 2 and fit.epochs_run == 2


def test_bad_options_and_initial_weights_are_refused():
    x, y = blobs(n=10)
    with pytest.raises(ValueError, match="optimizer"):
        fit_head(x, y, 3, HeadOptions(optimizer="adagrad"))
    with pytest.raises(ValueError, match="shape"):
        fit_head(x, y, 3, initial=[(np.zeros((2, 3)), np.zeros(3), "softmax")])
