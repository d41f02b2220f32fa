import math

import numpy as np
import pytest

from classifier.types import Prediction
from classifier.uncertainty import (
    entropies,
    margins,
    novelty_scores,
    probability_matrix,
    review_order,
)

P = np.array(
    [
        [0.90, 0.05, 0.05],  # sure
        [0.50, 0.45, 0.05],  # a close call between two classes
        [0.34, 0.33, 0.33],  # spread over all three
        [0.60, 0.40, 0.00],
    ],
    dtype=np.float32,
)


def test_margin_and_entropy_of_known_rows():
    assert margins(P) == pytest.approx([0.85, 0.05, 0.01, 0.20], abs=1e-6)
    e = entropies(P)
    assert e[0] == pytest.approx(-(0.9 * math.log(0.9) + 2 * 0.05 * math.log(0.05)), rel=1e-5)
    assert e[2] == pytest.approx(math.log(3), rel=1e-3)
    assert e[3] == pytest.approx(-(0.6 * math.log(0.6) + 0.4 * math.log(0.4)), rel=1e-5)


def test_least_certain_first_by_either_measure():
    assert review_order(P, "margin").tolist() == [2, 1, 3, 0]
    assert review_order(P, "entropy").tolist() == [2, 1, 3, 0]
    # The measures disagree where the spread differs: 0.5/0.45/0.05 vs 0.6/0.4/0.
    two = np.array([[0.5, 0.45, 0.05], [0.52, 0.48, 0.0]], dtype=np.float32)
    assert review_order(two, "margin").tolist() == [1, 0]
    assert review_order(two, "entropy").tolist() == [0, 1]


def test_error_rows_and_reviewed_rows_are_left_out():
    rows = [
        Prediction("a", "x", 0.9, (0.9, 0.1)),
        Prediction("bad", "", None, None, error="corrupt"),
        Prediction("c", "y", 0.55, (0.45, 0.55)),
        Prediction("d", "x", 0.7, (0.7, 0.3)),
    ]
    p = probability_matrix(rows, 2)
    assert np.isnan(p[1]).all()
    assert review_order(p).tolist() == [2, 3, 0]
    assert review_order(p, "entropy", skip=np.array([0, 0, 1, 0], bool)).tolist() == [3, 0]
    with pytest.raises(ValueError):
        review_order(p, "confidence")


def test_a_single_class_and_an_empty_batch():
    assert margins(np.array([[1.0], [0.4]])).tolist() == pytest.approx([1.0, 0.4])
    assert review_order(np.zeros((0, 3), np.float32)).tolist() == []


def test_most_unfamiliar_first_leaves_out_rows_without_a_score():
    rows = [
        Prediction("a", "x", 0.9, (0.9, 0.1), novelty=0.2),
        Prediction("bad", "", None, None, error="corrupt", novelty=0.99),
        Prediction("c", "y", 0.55, (0.45, 0.55), novelty=0.97),
        Prediction("d", "x", 0.7, (0.7, 0.3)),  # not scored
        Prediction("e", "y", 0.8, (0.2, 0.8), novelty=0.6),
    ]
    p = probability_matrix(rows, 2)
    scores = novelty_scores(rows)
    assert np.isnan(scores[1]) and np.isnan(scores[3])
    assert review_order(p, "novelty", novelty=scores).tolist() == [2, 4, 0]
    skip = np.array([0, 0, 1, 0, 0], bool)
    assert review_order(p, "novelty", skip=skip, novelty=scores).tolist() == [4, 0]
    with pytest.raises(ValueError):
        review_order(p, "novelty")  # the scores are needed
