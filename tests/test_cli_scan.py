import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from datasets import make_dataset

ROOT = Path(__file__).resolve().parents[1]


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
    "command", ["scan", "train", "evaluate", "classify", "info", "export", "backbones"]
)
def test_every_command_has_help(command, capsys):
    from classifier.cli import build_parser

    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    assert "usage: sortscope " + command in capsys.readouterr().out
