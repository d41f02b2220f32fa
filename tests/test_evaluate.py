from pathlib import Path

import numpy as np
import pytest

from classifier.evaluate import evaluate_predictions, evaluation_text, verdict
from classifier.types import TrainConfig


def one_hot_probs(predicted, n, confidence=0.9):
    probs = np.full((len(predicted), n), (1 - confidence) / (n - 1))
    probs[np.arange(len(predicted)), predicted] = confidence
    return probs


def test_metrics_against_a_hand_computed_example():
    classes = ("cat", "dog", "owl")
    y_true = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 0, 0, 1, 1, 0, 2, 2, 2, 1])
    paths = [Path(f"/d/{i}.png") for i in range(10)]
    ev = evaluate_predictions(y_true, one_hot_probs(y_pred, 3), classes, paths, baseline_class=0)
    assert ev.accuracy == pytest.approx(0.7)
    # Rows are true classes, columns predictions.
    assert ev.confusion_matrix == ((3, 1, 0), (1, 1, 0), (0, 1, 3))
    assert ev.per_class["cat"].precision == pytest.approx(3 / 4)
    assert ev.per_class["cat"].recall == pytest.approx(3 / 4)
    assert ev.per_class["dog"].precision == pytest.approx(1 / 3)
    assert ev.per_class["dog"].f1 == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
    assert ev.per_class["owl"].support == 4
    assert ev.balanced_accuracy == pytest.approx((0.75 + 0.5 + 0.75) / 3)
    assert ev.baseline_accuracy == pytest.approx(0.4) and ev.baseline_class == "cat"
    wrong = {(m.path.name, m.true_label, m.predicted_label) for m in ev.misclassified}
    assert wrong == {("3.png", "cat", "dog"), ("5.png", "dog", "cat"), ("9.png", "owl", "dog")}
    assert all(m.confidence == pytest.approx(0.9) for m in ev.misclassified)
    text = evaluation_text(ev)
    assert "70.0%" in text and "Always answering 'cat' would score 40.0%" in text


def test_json_keys_are_the_cli_contract():
    ev = evaluate_predictions(
        np.array([0, 1]), one_hot_probs([0, 1], 2), ("a", "b"), [Path("x"), Path("y")], 0
    )
    payload = ev.to_json()
    for key in (
        "accuracy",
        "balanced_accuracy",
        "n_images",
        "classes",
        "per_class",
        "confusion_matrix",
    ):
        assert key in payload
    assert payload["per_class"]["a"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}


@pytest.mark.parametrize(
    ("right", "expected"),
    [(9, "clearly better than"), (5, "not clearly better than"), (4, "no better than")],
)
def test_the_verdict_compares_the_model_with_the_baseline(right, expected):
    # 10 images, 4 of class 0 (the baseline scores 40 %); the model gets `right` of them right.
    # 5/10 is above 40 %, but its 95 % interval (24 %..76 %) is not: not clearly better.
    y_true = np.array([0] * 4 + [1] * 6)
    y_pred = y_true.copy()
    y_pred[: 10 - right] = 1 - y_true[: 10 - right]
    paths = [Path(f"/d/{i}.png") for i in range(10)]
    ev = evaluate_predictions(y_true, one_hot_probs(y_pred, 2), ("a", "b"), paths, 0)
    assert ev.accuracy == pytest.approx(right / 10) and ev.baseline_accuracy == pytest.approx(0.4)
    assert verdict(ev) == expected


def test_fine_tuning_epochs_count_only_when_a_transfer_model_fine_tunes():
    assert TrainConfig(epochs=5, fine_tune_epochs=3).max_epochs == 5
    assert TrainConfig(epochs=5, fine_tune_blocks=2, fine_tune_epochs=3).max_epochs == 8
    small_cnn = TrainConfig(epochs=5, fine_tune_blocks=2, model_type="small_cnn")
    assert not small_cnn.fine_tunes and small_cnn.max_epochs == 5


def test_no_test_images_say_so_and_what_to_do():
    evaluation = evaluate_predictions(
        np.zeros(0, dtype=int), np.zeros((0, 2)), ["a", "b"], [], baseline_class=0
    )
    text = evaluation_text(evaluation)
    assert "0.0%" not in text and "Not tested" in text and "--test-percent" in text


def evaluation_of(y_true, y_pred, classes, baseline_class=0):
    paths = [Path(f"/d/{i}.png") for i in range(len(y_true))]
    probs = one_hot_probs(np.array(y_pred), len(classes))
    return evaluate_predictions(np.array(y_true), probs, classes, paths, baseline_class)


def test_wilson_interval_against_published_values():
    from classifier.evaluate import wilson_interval

    # Wilson 95% intervals (e.g. Newcombe 1998): 8/9, 0/10, 81/263.
    assert wilson_interval(8, 9) == pytest.approx((0.5650, 0.9801), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)  # nothing known


def test_nine_test_images_are_not_clearly_better_but_ninety_are():
    from classifier.evaluate import accuracy_interval

    classes = ("cat", "dog", "owl")
    # 8 of 9 right against a baseline of 3/9: the interval (56%..98%) clears 33%.
    few = evaluation_of([0, 0, 0, 1, 1, 1, 2, 2, 2], [0, 0, 0, 1, 1, 1, 2, 2, 0], classes)
    assert accuracy_interval(few).low == pytest.approx(0.565, abs=1e-3)
    assert verdict(few) == "clearly better than"
    # 6 of 9 right against a baseline of 5/9: above it, but the interval (35%..88%) is not.
    y_true = [0] * 5 + [1, 1, 2, 2]
    close = evaluation_of(y_true, [0, 0, 0, 0, 1, 1, 1, 2, 0], classes)
    assert close.accuracy > close.baseline_accuracy
    assert verdict(close) == "not clearly better than"
    # The same scores on ten times the images: now the interval clears the baseline.
    many = evaluation_of(y_true * 10, [0, 0, 0, 0, 1, 1, 1, 2, 0] * 10, classes)
    assert accuracy_interval(many).low > many.baseline_accuracy  # 56.4% > 55.6%
    assert verdict(many) == "clearly better than"
    worse = evaluation_of(y_true * 10, [1] * 90, classes)
    assert verdict(worse) == "worse than"
    assert verdict(evaluation_of([0, 1], [0, 0], ("a", "b"))) == "no better than"


def test_classes_with_few_test_images_are_warned_about():
    from classifier.evaluate import reliability_warning, small_test_classes

    ev = evaluation_of([0] * 6 + [1] * 3 + [2] * 2, [0] * 6 + [1] * 3 + [2] * 2, ("a", "b", "c"))
    assert small_test_classes(ev) == {"b": 3, "c": 2}
    assert "'b' 3, 'c' 2" in reliability_warning(ev)
    text = evaluation_text(ev)
    assert "95% confidence interval 74.1% to 100.0%" in text
    assert "the model is clearly better than that baseline" in text
    assert "Warning: Few test images in 'b' 3, 'c' 2" in text
    plenty = evaluation_of([0] * 5 + [1] * 5, [0] * 5 + [1] * 5, ("a", "b"))
    assert reliability_warning(plenty) == "" and "Warning" not in evaluation_text(plenty)
