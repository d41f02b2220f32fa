"""Novelty: a model's description of its training features says how unusual a new image is."""

import dataclasses

import numpy as np
import pytest
from datasets import CLASS_COLOURS, make_dataset, noisy_image, read_csv

from classifier.backbones import get_backbone
from classifier.cli import main
from classifier.features import extract_features
from classifier.modelfile import load_model, read_info, save_model
from classifier.novelty import LEGACY_METHOD, MAX_REFERENCES, METHOD, fit_novelty
from classifier.novelty_legacy import fit_mahalanobis
from classifier.predict import NoveltyOptions, classify_folder
from classifier.scan import scan_dataset
from classifier.train import train
from classifier.types import TrainConfig

KNOWN = {"Red": CLASS_COLOURS["Red"], "green": CLASS_COLOURS["green"]}


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("novelty-data")
    scan = scan_dataset(make_dataset(root, per_class=20, classes=KNOWN))
    outcome = train(scan, TrainConfig(backbone="tiny_test", epochs=10, learning_rate=0.02))
    return save_model(outcome.model, root.parent / "novelty-model.sortscope")


@pytest.fixture
def night(tmp_path):
    """Held-out images of the known classes (new noise) and of a class never trained on."""
    rng = np.random.default_rng(11)
    folder = tmp_path / "night"
    folder.mkdir()
    for i in range(6):
        noisy_image(rng, KNOWN["Red"]).save(folder / f"known_red_{i}.png")
        noisy_image(rng, KNOWN["green"]).save(folder / f"known_green_{i}.png")
        noisy_image(rng, CLASS_COLOURS["Blue Sky"]).save(folder / f"new_blue_{i}.png")
    (folder / "broken.png").write_bytes(b"not a png")
    return folder


def test_unseen_class_scores_higher_than_held_out_known_images(model_file, night):
    model = load_model(model_file, lazy=True)
    assert model.info.novelty is not None and model.novelty is not None
    assert read_info(model_file).novelty == model.info.novelty
    rows = classify_folder(night, model, novelty=NoveltyOptions()).rows
    scores = {r.file: r.novelty for r in rows if not r.error}
    known = [v for f, v in scores.items() if f.startswith("known")]
    new = [v for f, v in scores.items() if f.startswith("new")]
    assert all(0.0 <= v <= 1.0 for v in scores.values())
    assert min(new) > max(known)  # every unseen image is more unusual than every known one
    assert min(new) == 1.0  # beyond every training image
    assert np.median(known) < 0.99
    assert next(r for r in rows if r.error).novelty is None
    # Without asking, rows carry no score at all.
    assert all(r.novelty is None for r in classify_folder(night, model).rows)


def test_cli_novelty_column_and_threshold_label_unfamiliar(model_file, night, tmp_path, capsys):
    out = tmp_path / "results.csv"
    argv = ["classify", str(night), "--model", str(model_file), "--csv", str(out), "--quiet"]
    code = main([*argv, "--novelty-threshold", "0.999"])
    assert code == 0
    table = read_csv(out)
    header = table[0]
    assert header[-2:] == ["error", "novelty"]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in table[1:]}
    for name, row in rows.items():
        if name.startswith("new"):
            assert row["label"] == "unfamiliar"
            assert float(row["prob_Red"]) + float(row["prob_green"]) == pytest.approx(1, 1e-4)
        elif name.startswith("known"):
            assert row["label"] in KNOWN
    assert rows["broken.png"]["novelty"] == ""
    # Sorting files them by label: the unfamiliar ones in OUTPUT/unfamiliar/.
    from classifier.results_reader import read_results
    from classifier.sorting import SortMode, plan_sort

    plan = plan_sort(read_results(out, night), tmp_path / "sorted", SortMode.COPY)
    targets = {a.source.name: a.target.parent.name for a in plan.actions}
    assert targets["new_blue_0.png"] == "unfamiliar"
    assert targets["known_red_0.png"] == "Red"


def test_model_saved_before_novelty_says_so_and_carries_on(model_file, night, tmp_path, capsys):
    model = load_model(model_file)
    model.info = dataclasses.replace(model.info, novelty=None)
    model.novelty = None
    old = save_model(model, tmp_path / "old.sortscope")
    assert load_model(old, lazy=True).novelty is None
    out = tmp_path / "results.csv"
    argv = ["classify", str(night), "--model", str(old), "--csv", str(out), "--quiet"]
    assert main([*argv, "--novelty"]) == 0
    assert "without a description of its training images" in capsys.readouterr().err
    assert "novelty" not in read_csv(out)[0]


def test_damaged_description_is_refused(model_file, tmp_path):
    import zipfile

    from classifier.modelfile import ModelFileError

    bad = tmp_path / "bad.sortscope"
    with zipfile.ZipFile(model_file) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, b"junk" if item.filename == "novelty.npz" else data)
    with pytest.raises(ModelFileError, match="damaged"):
        load_model(bad, lazy=True)


def test_fit_handles_tiny_and_degenerate_sets():
    assert fit_novelty(np.zeros((3, 4)), np.array([0, 1, 0]), 2) is None
    same = fit_novelty(np.ones((10, 4)), np.array([0, 1] * 5), 2)
    assert np.isfinite(same.score(np.ones((3, 4)))).all()


def test_model_with_the_first_description_still_loads_and_scores(model_file, night, tmp_path):
    """Models saved on 2026-12-01 describe their features with a tied Gaussian: still read."""
    rng = np.random.default_rng(5)
    files, labels = [], []
    for i in range(12):
        for label, name in enumerate(KNOWN):
            files.append(tmp_path / f"{name}_{i}.png")
            noisy_image(rng, KNOWN[name]).save(files[-1])
            labels.append(label)
    features = extract_features(files, get_backbone("tiny_test"), cache=None).features
    model = load_model(model_file)
    model.novelty = fit_mahalanobis(features, np.array(labels), 2)
    model.info = dataclasses.replace(model.info, novelty=model.novelty.info)
    old = save_model(model, tmp_path / "first.sortscope")
    loaded = load_model(old, lazy=True)
    assert loaded.info.novelty.method == LEGACY_METHOD
    scores = {
        r.file: r.novelty for r in classify_folder(night, loaded, novelty=NoveltyOptions()).rows
    }
    known = [v for f, v in scores.items() if f.startswith("known")]
    new = [v for f, v in scores.items() if f.startswith("new")]
    assert all(0.0 <= v <= 1.0 for v in known + new) and min(new) > np.median(known)


def test_description_is_bounded_and_calibrated_out_of_sample():
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 3, (4, 16))
    labels = rng.integers(0, 4, MAX_REFERENCES + 500)
    train = centres[labels] + rng.normal(0, 1, (len(labels), 16))
    description = fit_novelty(train, labels, 4)
    assert description.info.method == METHOD and description.info.training_images == len(train)
    assert description.references.shape == (MAX_REFERENCES, 16)
    assert description.references.dtype == np.float16
    assert len(description.to_npz()) < MAX_REFERENCES * 16 * 2 + 20_000
    # New images like the training ones spread over 0..1 (scored against themselves, training
    # images would look more typical than any new image, which would all score near 1).
    fresh = centres[rng.integers(0, 4, 400)] + rng.normal(0, 1, (400, 16))
    assert 0.3 < np.median(description.score(fresh)) < 0.7
    assert np.median(description.score(rng.normal(0, 3, (50, 16)) + 20)) == 1.0
