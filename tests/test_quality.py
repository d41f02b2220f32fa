"""Suspected label errors: planted mistakes are found, kept images are not flagged again."""

import json
import shutil

import numpy as np
import pytest
from datasets import make_dataset

from classifier import quality
from classifier.backbones import get_backbone
from classifier.cli import main
from classifier.errors import Cancelled
from classifier.progress import CancelToken
from classifier.quality import KeptLabels, check_labels, out_of_fold_probabilities
from classifier.scan import scan_dataset

PLANTED = {"red/red_003.png": "green", "green/green_007.png": "blue", "blue/blue_011.png": "red"}


@pytest.fixture
def mislabelled(tmp_path):
    """Three colour classes of 16 images; three images moved into a wrong class folder."""
    root = make_dataset(
        tmp_path / "data",
        per_class=16,
        classes={"red": (200, 40, 40), "green": (40, 190, 60), "blue": (40, 60, 210)},
    )
    for rel, wrong in PLANTED.items():
        shutil.move(root / rel, root / wrong / rel.split("/")[1])
    return root


def _planted_files():
    return {f"{wrong}/{rel.split('/')[1]}" for rel, wrong in PLANTED.items()}


def test_planted_label_errors_are_found_first(mislabelled, shared_cache_dir, tmp_path):
    scan = scan_dataset(mislabelled)
    kept = KeptLabels(tmp_path / "kept.json")
    check = check_labels(scan, get_backbone("tiny_test"), cache_dir=shared_cache_dir, kept=kept)
    top = {i.file for i in check.issues[:3]}
    assert top == _planted_files()
    by_file = {i.file: i for i in check.issues}
    for rel, wrong in PLANTED.items():
        issue = by_file[f"{wrong}/{rel.split('/')[1]}"]
        assert issue.class_name == wrong and issue.suggested == rel.split("/")[0]
        assert issue.score > 0.5 and issue.suggested_probability > 0.5
    assert [i.score for i in check.issues] == sorted((i.score for i in check.issues), reverse=True)
    assert check.probabilities.shape == (48, 3)

    # "Keep as is" is remembered by content: a new store at the same path still knows it.
    first = check.issues[0]
    kept.keep(first.digest, first.class_name)
    again = check_labels(
        scan, get_backbone("tiny_test"), cache_dir=shared_cache_dir, kept=KeptLabels(kept.path)
    )
    assert first.file not in {i.file for i in again.issues} and again.kept == 1


def test_scan_label_issues_json_and_text(mislabelled, shared_cache_dir, capsys):
    base = ["scan", str(mislabelled), "--label-issues", "--backbone", "tiny_test", "--quiet"]
    base += ["--cache-dir", str(shared_cache_dir)]
    assert main([*base, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    issues = report["label_issues"]
    assert {i["file"] for i in issues[:3]} == _planted_files()
    assert set(issues[0]) == {"file", "class", "suggested", "score"}
    assert main(base) == 0
    text = capsys.readouterr().out
    assert "suspected label error(s), worst first" in text
    assert "red/blue_011.png: in 'red', looks like 'blue'" in text


def test_check_is_cancelled(mislabelled, shared_cache_dir):
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        check_labels(
            scan_dataset(mislabelled),
            get_backbone("tiny_test"),
            cache_dir=shared_cache_dir,
            cancel=cancel,
        )


def test_out_of_fold_rows_come_from_models_without_them():
    # Two well separated clusters and one point labelled against its cluster: a model that
    # saw that label would still give it some weight; out of fold it gets almost none.
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (20, 3)), rng.normal(5, 0.1, (20, 3))])
    y = np.array([0] * 20 + [1] * 20)
    y[0] = 1
    p = out_of_fold_probabilities(x, y, 2)
    assert p[0, 0] > 0.7 and np.allclose(p.sum(axis=1), 1)


def test_many_images_are_checked_on_fewer_dimensions(monkeypatch):
    monkeypatch.setattr(quality, "REDUCE_ABOVE", 30)
    monkeypatch.setattr(quality, "REDUCED_DIMENSIONS", 3)
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 0.1, (20, 8)), rng.normal(5, 0.1, (20, 8))])
    assert quality.reduce_dimensions(x).shape == (40, 3)
    assert quality.reduce_dimensions(x[:30]).shape == (30, 8)
    y = np.array([0] * 20 + [1] * 20)
    y[0] = 1
    p = out_of_fold_probabilities(x, y, 2)
    assert p[0, 0] > 0.5 and (p[1:20, 0] > 0.5).all() and (p[20:, 1] > 0.5).all()


def test_too_few_images_say_so(tmp_path, shared_cache_dir):
    root = make_dataset(tmp_path / "d", per_class={"Red": 1, "green": 3, "Blue Sky": 1})
    check = check_labels(scan_dataset(root), get_backbone("tiny_test"), cache_dir=shared_cache_dir)
    assert check.issues == () and "two classes" in check.note
