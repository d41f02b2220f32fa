"""The command line end to end, through subprocesses, as scripts and servers use it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from datasets import CLASS_COLOURS, CSV_HEADER, make_dataset, noisy_image, read_csv

ROOT = Path(__file__).resolve().parents[1]


def sortscope(*args: str, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *map(str, args)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=600,
    )
    if check_rc is not None:
        assert out.returncode == check_rc, out.stderr
    assert "Traceback" not in out.stderr
    return out


def make_night(folder: Path) -> Path:
    rng = np.random.default_rng(11)
    folder.mkdir()
    for name, colour in CLASS_COLOURS.items():
        for i in range(2):
            noisy_image(rng, colour).save(folder / f"{name.replace(' ', '_')}_{i}.png")
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "garbage.png").write_bytes(b"definitely not a png")
    (folder / "log.txt").write_text("ignored")
    return folder


@pytest.mark.slow
def test_train_save_reload_classify_on_the_real_backbone(tmp_path):
    data = make_dataset(tmp_path / "data", per_class=16)
    model = tmp_path / "out" / "colours.sortscope"
    trained = sortscope("train", data, "--model", model, "--epochs", "40", "--seed", "3")
    assert model.is_file()
    assert "Test accuracy" in trained.stdout and "Always answering" in trained.stdout
    assert "Epoch 1/40" in trained.stderr

    info = json.loads(sortscope("info", model).stdout)
    assert info["backbone"]["name"] == "efficientnet_lite0"
    assert info["class_names"] == ["Blue Sky", "Red", "green"]
    assert info["test_metrics"]["accuracy"] >= 0.8  # chance is 1/3

    night = make_night(tmp_path / "night")
    csv_path = tmp_path / "results.csv"
    classified = sortscope("classify", night, "--model", model, "--csv", csv_path, "--verbose")
    assert "2 file(s) could not be read" in classified.stderr
    # Where the time went, per image: what limits this run.
    assert "per new image on each of" in classified.stderr and "limited by" in classified.stderr
    rows = read_csv(csv_path)
    assert rows[0] == CSV_HEADER
    body = {r[0]: r for r in rows[1:]}
    assert sorted(body) == [r[0] for r in rows[1:]]  # sorted by file
    assert set(body) == {
        "Blue_Sky_0.png",
        "Blue_Sky_1.png",
        "Red_0.png",
        "Red_1.png",
        "garbage.png",
        "green_0.png",
        "green_1.png",
        "zero.jpg",
    }
    for name, expected in [
        ("Blue_Sky_0.png", "Blue Sky"),
        ("Red_1.png", "Red"),
        ("green_0.png", "green"),
    ]:
        row = body[name]
        assert row[1] == expected, row
        probs = [float(p) for p in row[3:6]]
        assert float(row[2]) == max(probs) and sum(probs) == pytest.approx(1, abs=1e-4)
        assert row[6] == ""
    assert body["zero.jpg"][1:6] == [""] * 5 and "empty" in body["zero.jpg"][6]
    assert body["garbage.png"][1:6] == [""] * 5 and body["garbage.png"][6]

    scores = json.loads(sortscope("evaluate", data, "--model", model, "--json").stdout)
    assert scores["n_images"] == 48 and scores["accuracy"] >= 0.8
    assert set(scores["per_class"]["Red"]) == {"precision", "recall", "f1", "support"}
    assert len(scores["confusion_matrix"]) == 3

    exported = sortscope("export", model, tmp_path / "plain" / "colours.keras")
    assert "labels.txt" in exported.stdout
    assert (tmp_path / "plain" / "labels.txt").read_text() == "Blue Sky\nRed\ngreen\n"


def test_cli_options_reach_training_and_cache_dir(tmp_path):
    data = make_dataset(tmp_path / "data", per_class=12)
    model = tmp_path / "m.sortscope"
    cache = tmp_path / "my-cache"
    trained = sortscope(
        "train",
        data,
        "--model",
        model,
        "--backbone",
        "tiny_test",
        "--epochs",
        "3",
        "--batch-size",
        "8",
        "--learning-rate",
        "0.05",
        "--optimizer",
        "rmsprop",
        "--validation-percent",
        "20",
        "--test-percent",
        "20",
        "--seed",
        "9",
        "--no-class-weights",
        "--cache-dir",
        cache,
        "--quiet",
    )
    # How sure the score is for 6 test images, and the verdict by that interval.
    assert "95% confidence interval" in trained.stdout and "that baseline" in trained.stdout
    assert "Warning: Few test images in" in trained.stdout  # 2 per class
    training = json.loads(sortscope("info", model).stdout)["training"]
    assert training["optimizer"] == "rmsprop" and training["batch_size"] == 8
    assert training["validation_percent"] == 20 and training["class_weights"] is False
    assert training["seed"] == 9 and training["learning_rate"] == 0.05
    assert [p.name for p in (cache / "features").iterdir()] == ["tiny_test-v1-32px--auto-0.5-99.5"]
    night = make_night(tmp_path / "night")
    (night / "deeper").mkdir()
    noisy_image(np.random.default_rng(0), (1, 1, 1)).save(night / "deeper" / "x.png")
    out = tmp_path / "r.csv"
    sortscope(
        "classify",
        night,
        "--model",
        model,
        "--csv",
        out,
        "--recursive",
        "--threshold",
        "0.99",
        "--cache-dir",
        cache,
        "--quiet",
    )
    text = out.read_text()
    assert "deeper/x.png" in text and ",uncertain," in text


def test_user_mistakes_exit_1_or_2_without_tracebacks(tmp_path):
    data = make_dataset(tmp_path / "data", per_class=4)
    missing = sortscope(
        "classify",
        data,
        "--model",
        tmp_path / "none.sortscope",
        "--csv",
        tmp_path / "x.csv",
        check_rc=1,
    )
    assert "does not exist" in missing.stderr and "What to do" in missing.stderr
    bad_lr = sortscope(
        "train", data, "--model", tmp_path / "m", "--learning-rate", "-1", check_rc=1
    )
    assert "learning rate" in bad_lr.stderr
    sortscope("train", data, check_rc=2)  # --model is required
    sortscope("train", data, "--model", tmp_path / "m", "--optimizer", "adagrad", check_rc=2)
    bad_backbone = sortscope(
        "train", data, "--model", tmp_path / "m", "--backbone", "vgg", check_rc=1
    )
    assert "no backbone called 'vgg'" in bad_backbone.stderr
    not_model = tmp_path / "fake.sortscope"
    not_model.write_text("x")
    assert "not a Sortscope model" in sortscope("info", not_model, check_rc=1).stderr
    assert not (tmp_path / "x.csv").exists()


def test_cli_fits_stretch_hdu_and_header_columns(tmp_path):
    from datasets import make_fits_dataset, sky_frame, write_fits

    data = make_fits_dataset(tmp_path / "frames", per_class=12)
    model = tmp_path / "sky.sortscope"
    common = ["--backbone", "tiny_test", "--epochs", "5", "--quiet"]
    bad = sortscope("train", data, "--model", model, "--stretch", "gamma", *common, check_rc=2)
    assert "gamma" in bad.stderr
    sortscope("train", data, "--model", model, "--stretch", "zscale", "--hdu", "0", *common)
    info = json.loads(sortscope("info", model).stdout)
    assert info["input"]["preprocessing"]["stretch"] == "zscale"
    assert info["input"]["preprocessing"]["hdu"] == 0
    night = tmp_path / "night"
    write_fits(night / "n1.fits", sky_frame(np.random.default_rng(1), "top"), {"OBJECT": "M13"})
    out = tmp_path / "r.csv"
    sortscope(
        "classify", night, "--model", model, "--csv", out, "--fits-keys", "object,EXPTIME",
        "--quiet",
    )  # fmt: skip
    header, row = read_csv(out)
    assert header[-3:] == ["error", "OBJECT", "EXPTIME"] and row[-2:] == ["M13", ""]


def test_cli_advanced_training_options_are_recorded(tmp_path):
    data = make_dataset(tmp_path / "data", per_class=12)
    model = tmp_path / "m.sortscope"
    board = tmp_path / "board"
    sortscope(
        "train", data, "--model", model, "--backbone", "tiny_test", "--epochs", "3",
        "--augment-copies", "2", "--flip", "--rotate90", "--rotate", "10", "--zoom", "0.1",
        "--brightness", "0.2", "--contrast", "0.2", "--oversample", "--lr-schedule", "cosine",
        "--tensorboard", board, "--quiet",
    )  # fmt: skip
    info = json.loads(sortscope("info", model).stdout)
    training = info["training"]
    assert training["augment_copies"] == 2 and training["augment_flips"] is True
    assert training["augment_rotate90"] is True and training["augment_zoom"] == 0.1
    assert training["oversample"] is True and training["lr_schedule"] == "cosine"
    assert training["model_type"] == "transfer" and info["model_type"] == "transfer"
    assert list(board.rglob("events.out.tfevents*"))
    baseline = tmp_path / "mlp.sortscope"
    sortscope("train", data, "--model", baseline, "--model-type", "mlp", "--epochs", "2",
              "--quiet")  # fmt: skip
    assert json.loads(sortscope("info", baseline).stdout)["backbone"]["name"] == "pixels_32"
    no_change = sortscope(
        "train", data, "--model", model, "--augment-copies", "2", check_rc=1
    )  # copies without any change to make them
    assert "no change" in no_change.stderr


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A small trained model file, made once for the command-line tests below."""
    from classifier.modelfile import save_model
    from classifier.scan import scan_dataset
    from classifier.train import train
    from classifier.types import TrainConfig

    root = tmp_path_factory.mktemp("tiny-model")
    config = TrainConfig(backbone="tiny_test", epochs=3, seed=1)
    model = root / "k.sortscope"
    save_model(train(scan_dataset(make_dataset(root / "data", per_class=8)), config).model, model)
    return model


def test_classify_refuses_a_csv_path_that_would_destroy_something(tiny_model, tmp_path):
    night = make_night(tmp_path / "night")
    before = tiny_model.read_bytes()
    cases = {
        tiny_model: "which this run reads",
        tmp_path: "it is a folder",
        Path("/proc/sortscope-results.csv"): "The results cannot be written",
    }
    for target, reason in cases.items():
        out = sortscope("classify", night, "--model", tiny_model, "--csv", target, check_rc=1)
        assert reason in out.stderr and "What to do" in out.stderr, out.stderr
        assert "Extracting" not in out.stderr  # refused before the work
    assert tiny_model.read_bytes() == before
    image = night / "Red_0.png"
    kept = image.read_bytes()
    out = sortscope("classify", night, "--model", tiny_model, "--csv", image, check_rc=1)
    assert "which this run reads" in out.stderr and image.read_bytes() == kept


def test_classify_goes_on_when_the_cache_cannot_be_written(tiny_model, tmp_path):
    night = make_night(tmp_path / "night")
    not_a_folder = tmp_path / "cache-file"
    not_a_folder.write_text("a file where the cache folder should be")
    out = tmp_path / "r.csv"
    run = sortscope(
        "classify", night, "--model", tiny_model, "--csv", out, "--cache-dir", not_a_folder
    )
    assert "note: The feature cache" in run.stderr and "--cache-dir" in run.stderr
    assert len(read_csv(out)) == 1 + 8


def test_classify_a_folder_without_images_says_what_is_there_and_fails(tmp_path, tiny_model):
    folder = tmp_path / "night"
    for i in range(3):
        (folder / f"run{i}").mkdir(parents=True)
        noisy_image(np.random.default_rng(i), (1, 1, 1)).save(folder / f"run{i}" / "x.png")
    (folder / "log.txt").write_text("not an image")
    out = tmp_path / "r.csv"
    flat = sortscope("classify", folder, "--model", tiny_model, "--csv", out, check_rc=1)
    assert "3 images in its sub-folders" in flat.stderr
    assert "Use --recursive" in flat.stderr and not out.exists()
    only_text = tmp_path / "text"
    only_text.mkdir()
    (only_text / "a.txt").write_text("x")
    text = sortscope("classify", only_text, "--model", tiny_model, "--csv", out, check_rc=1)
    assert "1 other file (.txt)" in text.stderr and not out.exists()
    sortscope("classify", folder, "--model", tiny_model, "--csv", out, "--recursive")
    assert len(read_csv(out)) == 4


def test_classify_csv_dash_writes_the_csv_to_stdout_and_messages_to_stderr(tmp_path, tiny_model):
    night = make_night(tmp_path / "night")
    out = tmp_path / "r.csv"
    sortscope("classify", night, "--model", tiny_model, "--csv", out, "--quiet")
    piped = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "classify", night, "--model", tiny_model,
         "--csv", "-", "--verbose"],
        capture_output=True, env=os.environ.copy(), timeout=600,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == out.read_bytes()  # byte for byte the file's CSV, nothing else
    assert b"results in standard output" in piped.stderr and b"time:" in piped.stderr
    assert not (tmp_path / "-").exists() and not Path("-").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["info", "{model}"],
        ["scan", "{data}", "--json", "--quiet"],
        ["backbones"],
        ["evaluate", "{data}", "--model", "{model}", "--quiet"],
        ["classify", "{data}/Red", "--model", "{model}", "--csv", "-", "--quiet"],
    ],
    ids=lambda c: c[0],
)
def test_a_closed_stdout_ends_quietly_with_the_closed_pipe_status(tmp_path, tiny_model, command):
    """`sortscope info M | head`: the reader is gone before the output comes."""
    from classifier.cli import EXIT_BROKEN_PIPE

    data = make_dataset(tmp_path / "data", per_class=4)
    args = [a.format(model=tiny_model, data=data) for a in command]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone: every write to stdout fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
            timeout=600,
        )
    finally:
        os.close(write_end)
    assert done.returncode == EXIT_BROKEN_PIPE == 141
    assert done.stderr == ""


def test_classify_default_threshold_is_the_core_one(tmp_path, tiny_model):
    from classifier.types import DEFAULT_THRESHOLD

    assert DEFAULT_THRESHOLD == 0.6  # what the window has always shown
    night = make_night(tmp_path / "night")
    default, explicit = tmp_path / "default.csv", tmp_path / "explicit.csv"
    sortscope("classify", night, "--model", tiny_model, "--csv", default, "--quiet")
    sortscope("classify", night, "--model", tiny_model, "--csv", explicit, "--threshold", "0.6",
              "--quiet")  # fmt: skip
    assert default.read_bytes() == explicit.read_bytes()
    rows = [r for r in read_csv(default)[1:] if not r[6]]
    assert rows and all((r[1] == "uncertain") == (float(r[2]) < 0.6) for r in rows)
    assert "uncertain" in {r[1] for r in rows} and len({r[1] for r in rows}) > 1  # both sides


def test_evaluate_says_how_sure_the_score_is(tmp_path, tiny_model):
    from classifier.evaluate import wilson_interval

    data = make_dataset(tmp_path / "data", per_class={"Blue Sky": 6, "Red": 6, "green": 3})
    text = sortscope("evaluate", data, "--model", tiny_model, "--quiet").stdout
    assert "95% confidence interval" in text and "the model is" in text
    assert "Few test images in 'green' 3" in text
    scores = json.loads(sortscope("evaluate", data, "--model", tiny_model, "--json").stdout)
    correct = sum(scores["confusion_matrix"][i][i] for i in range(3))
    low, high = wilson_interval(correct, 15)
    assert scores["accuracy_interval"] == {"low": low, "high": high, "level": 0.95}
    assert scores["small_test_classes"] == {"green": 3}
    assert scores["verdict"] in (
        "clearly better than", "not clearly better than", "no better than", "worse than"
    )  # fmt: skip
