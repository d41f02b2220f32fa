import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from datasets import make_dataset

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [
    "scan",
    "train",
    "evaluate",
    "classify",
    "add",
    "info",
    "export",
    "report",
    "backbones",
    "merge",
    "install-launcher",
]


def sortscope(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )


def test_scan_json_reports_classes_splits_and_problems(tmp_path):
    make_dataset(tmp_path, per_class=12)
    (tmp_path / "Red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = sortscope("scan", str(tmp_path), "--json", "--quiet")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["classes"] == ["Blue Sky", "Red", "green"]
    assert report["counts"] == {"Blue Sky": 12, "Red": 12, "green": 12}
    assert sum(report["splits"]["Red"].values()) == 12
    kinds = {p["kind"] for p in report["problems"]}
    assert {"corrupt", "small_class"} <= kinds


def test_scan_names_both_files_of_a_cross_class_duplicate(tmp_path):
    import shutil

    make_dataset(tmp_path, per_class=12)
    shutil.copy(tmp_path / "Red" / "red_003.png", tmp_path / "green" / "copy.png")
    report = json.loads(sortscope("scan", str(tmp_path), "--json", "--quiet").stdout)
    (across,) = [p for p in report["problems"] if p["kind"] == "duplicate_across_classes"]
    assert across["file"] == str(tmp_path / "Red" / "red_003.png")
    assert across["related_files"] == [str(tmp_path / "green" / "copy.png")]
    assert all(p["related_files"] == [] for p in report["problems"] if p is not across)
    text = sortscope("scan", str(tmp_path), "--quiet").stdout
    assert "Red/red_003.png" in text and "green/copy.png" in text


def test_backbones_json_lists_the_offline_default():
    out = sortscope("backbones", "--json")
    assert out.returncode == 0
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["efficientnet_lite0"]["available"] and rows["efficientnet_lite0"]["default"]
    assert "tiny_test" not in rows


def test_user_errors_exit_1_with_advice_and_no_traceback(tmp_path):
    out = sortscope("scan", str(tmp_path / "missing"))
    assert out.returncode == 1
    assert "does not exist" in out.stderr and "What to do:" in out.stderr
    assert "Traceback" not in out.stderr


def test_wrong_usage_exits_2():
    out = sortscope("scan")
    assert out.returncode == 2
    assert "usage:" in out.stderr


def test_no_arguments_without_a_screen_prints_help_instead_of_crashing():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    out = subprocess.run(
        [sys.executable, str(ROOT / "main.py")], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0
    assert "no screen" in out.stderr and "usage: sortscope" in out.stdout


@pytest.mark.parametrize(
    "command", ["scan", "train", "evaluate", "classify", "info", "export", "report", "backbones"]
)
def test_every_command_has_help(command, capsys):
    from classifier.cli import build_parser

    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    assert "usage: sortscope " + command in capsys.readouterr().out


def _big_folder(root: Path, classes=("a", "b"), per_class: int = 80) -> Path:
    """Folders of distinct 9-megapixel PNGs (bytes after IEND make each file unique): seconds
    of decoding, so a Ctrl+C lands while the worker pool is busy."""
    from hostile import big_png

    image = big_png()
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            (root / name / f"{i:03d}.png").write_bytes(image + f"{name}{i}".encode())
    return root


def _interrupt_when(args: list[str], stage: str) -> tuple[int, str]:
    """Run sortscope, press Ctrl+C once `stage` shows in its progress; (exit code, stderr)."""
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    seen = b""
    deadline = time.monotonic() + 120
    while stage.encode() not in seen and time.monotonic() < deadline:
        chunk = os.read(process.stderr.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
    assert stage.encode() in seen, seen.decode(errors="replace")
    process.send_signal(signal.SIGINT)
    try:
        rest = process.communicate(timeout=30)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("Ctrl+C did not end sortscope within 30 s") from None
    return process.returncode, (seen + rest).decode(errors="replace")


def test_ctrl_c_ends_scan_and_classify_while_workers_run(tmp_path):
    data = _big_folder(tmp_path / "data")
    code, err = _interrupt_when(["scan", str(data)], "Checking images")
    assert code == 130 and "interrupted" in err and "Traceback" not in err

    from classifier.modelfile import save_model
    from classifier.scan import scan_dataset
    from classifier.train import train
    from classifier.types import TrainConfig

    small = make_dataset(tmp_path / "small", per_class=6)
    model = tmp_path / "m.sortscope"
    config = TrainConfig(backbone="tiny_test", epochs=2, validation_percent=0, test_percent=0)
    save_model(train(scan_dataset(small), config).model, model)
    night = _big_folder(tmp_path / "night", classes=("n",), per_class=160) / "n"
    args = ["classify", str(night), "--model", str(model), "--csv", str(tmp_path / "r.csv")]
    code, err = _interrupt_when(args, "Extracting features")
    assert code == 130 and "interrupted" in err and "Traceback" not in err
    assert not (tmp_path / "r.csv").exists()


def test_scan_of_a_folder_with_pipes_and_devices_finishes(tmp_path):
    make_dataset(tmp_path, per_class=4)
    os.mkfifo(tmp_path / "Red" / "pipe.png")
    (tmp_path / "green" / "zero.jpg").symlink_to("/dev/zero")
    out = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "scan", str(tmp_path), "--json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    problems = {Path(p["file"]).name: p["kind"] for p in json.loads(out.stdout)["problems"]}
    assert problems["pipe.png"] == "not_a_file" and problems["zero.jpg"] == "not_a_file"


def test_scan_and_train_report_names_that_are_not_utf8(tmp_path):
    make_dataset(tmp_path / "data", per_class=6)
    red = os.fsencode(tmp_path / "data" / "Red")
    with open(os.path.join(red, b"bad\xff\xfe.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n broken")
    with open(os.path.join(red, b"good\xff.png"), "wb") as f:
        f.write((tmp_path / "data" / "Red" / "red_000.png").read_bytes() + b"unique")
    text = sortscope("scan", str(tmp_path / "data"), "--quiet")
    assert text.returncode == 0, text.stderr
    assert "Red/bad\\xff\\xfe.png: " in text.stdout
    report = json.loads(sortscope("scan", str(tmp_path / "data"), "--json", "--quiet").stdout)
    files = [p["file"] for p in report["problems"] if p["kind"] == "corrupt"]
    assert files == [str(tmp_path / "data" / "Red" / "bad\\xff\\xfe.png")]
    assert report["counts"]["Red"] == 7
    model = tmp_path / "m.sortscope"
    args = ["--backbone", "tiny_test", "--epochs", "2", "--quiet"]
    trained = sortscope("train", str(tmp_path / "data"), "--model", str(model), *args)
    assert trained.returncode == 0, trained.stderr
    assert model.is_file()


def test_max_pixels_option_is_the_limit_the_messages_name(tmp_path):
    from PIL import Image

    make_dataset(tmp_path, per_class=4)  # 48x40 = 1,920 pixels each
    Image.new("RGB", (100, 100)).save(tmp_path / "Red" / "big.png")
    strict = json.loads(sortscope("scan", str(tmp_path), "--json", "--max-pixels", "5000").stdout)
    [big] = [p for p in strict["problems"] if p["kind"] == "too_large"]
    assert big["file"].endswith("big.png") and "--max-pixels" in big["advice"]
    loose = json.loads(sortscope("scan", str(tmp_path), "--json", "--max-pixels", "1e4").stdout)
    assert loose["counts"]["Red"] == 5
    assert sortscope("scan", str(tmp_path), "--max-pixels", "lots").returncode == 2
    for command in ("train", "classify"):
        assert "--max-pixels" in sortscope(command, "--help").stdout


def _commands():
    import argparse

    from classifier.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices


def test_the_help_tests_cover_every_command():
    assert set(_commands()) == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_argument_has_help_and_every_option_shows_its_default(command):
    parser = _commands()[command]
    for action in parser._actions:
        if action.dest == "help":
            continue
        shown = " ".join(parser._get_formatter()._format_action(action).split())
        assert action.help and len(shown) > 20, f"{command}: no help for {shown}"
        unset = action.default is None or action.default is False or action.default == []
        if action.option_strings and not unset:
            assert "default" in shown, f"{command}: no default in {shown}"


def test_classify_help_explains_folder_model_csv_and_the_default_threshold(capsys):
    text = " ".join(_commands()["classify"].format_help().split())
    assert "FOLDER the folder of images to classify" in text
    assert "--model M the model file to classify with" in text
    assert "'-' writes them to standard output" in text
    assert "(default: 0.6)" in text


def test_train_on_an_empty_folder_says_why_once(tmp_path):
    out = sortscope("train", str(tmp_path), "--model", str(tmp_path / "m.sortscope"), "--quiet")
    assert out.returncode == 1
    assert out.stderr.count("a classifier needs at least two") == 1, out.stderr
    assert "What to do:" in out.stderr
