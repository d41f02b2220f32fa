from pathlib import Path

import numpy as np
import pytest

from classifier.evaluate import baseline_verdict, evaluate_predictions, evaluation_text
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
    ("right", "verdict"),
    [(9, "clearly better than"), (5, "not much better than"), (4, "no better than")],
)
def test_the_verdict_compares_the_model_with_the_baseline(right, verdict):
    # 10 images, 4 of class 0 (the baseline scores 40 %); the model gets `right` of them right.
    y_true = np.array([0] * 4 + [1] * 6)
    y_pred = y_true.copy()
    y_pred[: 10 - right] = 1 - y_true[: 10 - right]
    paths = [Path(f"/d/{i}.png") for i in range(10)]
    ev = evaluate_predictions(y_true, one_hot_probs(y_pred, 2), ("a", "b"), paths, 0)
    assert ev.accuracy == pytest.approx(right / 10) and ev.baseline_accuracy == pytest.approx(0.4)
    assert baseline_verdict(ev) == verdict


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
