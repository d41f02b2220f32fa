"""`sortscope add`: a results CSV's reviewed rows into DATA_DIR/<class>/, as the issue says."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.cli import main
from classifier.export import write_csv
from classifier.types import Prediction

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("cat", "dog")


@pytest.fixture
def setup(tmp_path):
    """A dataset with two classes, a classified folder and its results CSV with reviews."""
    data = tmp_path / "data"
    for name in CLASSES:
        (data / name).mkdir(parents=True)
    (data / "cat" / "old.png").write_bytes(b"old cat")
    night = tmp_path / "night"
    (night / "sub").mkdir(parents=True)
    rows, reviewed = [], {}
    for file, label, review in [
        ("a.png", "cat", "cat"),
        ("b.png", "cat", "dog"),
        ("sub/c.png", "dog", "dog"),
        ("d.png", "dog", "none"),
        ("e.png", "uncertain", ""),
        ("again.png", "cat", "cat"),  # the content of data/cat/old.png
    ]:
        (night / file).write_bytes(b"old cat" if file == "again.png" else file.encode())
        rows.append(Prediction(file, label, 0.8, (0.8, 0.2)))
        reviewed[file] = review
    rows.append(Prediction("bad.png", "", None, None, "The file is empty."))
    results = write_csv(rows, CLASSES, tmp_path / "results.csv", (), reviewed)
    return data, night, results


def add(capsys, data, results, night, *flags) -> tuple[int, str, str]:
    argv = ["add", str(data), "--from-csv", str(results), "--images", str(night), *flags]
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def test_add_copies_reviewed_rows_and_a_second_run_adds_nothing(setup, capsys):
    data, night, results = setup
    rc, out, _ = add(capsys, data, results, night, "--dry-run")
    assert rc == 0 and tree(data) == {"cat/old.png": b"old cat"}
    assert "cat: would add 1, 1 already in the dataset (skipped)" in out
    assert "dog: would add 2" in out

    rc, out, _ = add(capsys, data, results, night)
    assert rc == 0
    assert "Copied 3 image(s)" in out and "cat: added 1, 1 already in the dataset" in out
    assert "Rows skipped: 1 'none', 1 empty, 1 error rows" in out
    assert tree(data) == {
        "cat/old.png": b"old cat",
        "cat/a.png": b"a.png",
        "dog/b.png": b"b.png",
        "dog/c.png": b"sub/c.png",
    }
    assert (night / "a.png").exists()  # copied, not moved

    rc, out, _ = add(capsys, data, results, night)
    assert rc == 0 and "Copied 0 image(s)" in out
    assert "dog: added 0, 2 already in the dataset (skipped)" in out
    assert len(tree(data)) == 4


def test_move_and_accepting_predictions_with_column_label(setup, capsys):
    data, night, results = setup
    rc, out, _ = add(capsys, data, results, night, "--move", "--column", "label")
    assert rc == 0 and "Moved 4 image(s)" in out
    assert not (night / "b.png").exists() and (data / "cat" / "b.png").exists()
    assert (data / "dog" / "d.png").exists()
    assert (night / "again.png").exists()  # its content was there already: left in place
    assert (night / "e.png").exists()  # uncertain


def test_an_unknown_class_fails_naming_it_unless_new_classes(setup, capsys, tmp_path):
    data, night, _ = setup
    results = write_csv(
        [Prediction("a.png", "cat", 0.9, (0.9, 0.1))],
        CLASSES,
        tmp_path / "penguin.csv",
        (),
        {"a.png": "penguin"},
    )
    rc, _, err = add(capsys, data, results, night)
    assert rc == 1 and "'penguin'" in err and "--new-classes" in err
    assert not (data / "penguin").exists()
    rc, out, _ = add(capsys, data, results, night, "--new-classes")
    assert rc == 0 and "penguin: added 1 (new class folder)" in out
    assert (data / "penguin" / "a.png").read_bytes() == b"a.png"


@pytest.mark.parametrize("hostile", ["..", "../../outside", "/tmp/abs", "a/b", "..\\x", ".git"])
def test_hostile_class_values_never_leave_data_dir(setup, tmp_path, hostile):
    data, night, _ = setup
    results = tmp_path / "hostile.csv"
    results.write_text(
        f"file,label,confidence,prob_cat,prob_dog,error,reviewed_label\na.png,cat,0.9,0.9,0.1,,"
        f'"{hostile}"\n',
        encoding="utf-8",
    )
    before = sorted(p for p in tmp_path.rglob("*"))
    absolute_before = os.path.lexists("/tmp/abs")
    argv = ["add", str(data), "--from-csv", str(results), "--images", str(night), "--new-classes"]
    out = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *argv],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert out.returncode == 1, out.stderr
    assert "cannot be a class" in out.stderr and "Traceback" not in out.stderr
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert os.path.lexists("/tmp/abs") == absolute_before


def test_missing_inputs_are_clear_failures(setup, capsys, tmp_path):
    data, night, results = setup
    rc, _, err = add(capsys, tmp_path / "nowhere", results, night)
    assert rc == 1 and "does not exist" in err
    rc, _, err = add(capsys, data, tmp_path / "missing.csv", night)
    assert rc == 1 and "missing.csv does not exist" in err
    rc, _, err = add(capsys, data, results, night, "--column", "reviewed")
    assert rc == 1 and "no 'reviewed' column" in err
