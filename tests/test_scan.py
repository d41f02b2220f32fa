import shutil
from pathlib import Path

import pytest
from datasets import make_dataset, noisy_image
from PIL import Image

from classifier.errors import Cancelled, DatasetError
from classifier.progress import CancelToken
from classifier.scan import scan_dataset
from classifier.types import ProblemKind, Severity


def kinds(result):
    return [p.kind for p in result.problems]


def test_classes_counts_and_layout_rules(tmp_path):
    make_dataset(tmp_path, per_class=21)
    nested = tmp_path / "Red" / "night 2" / "deeper"
    nested.mkdir(parents=True)
    shutil.copy(tmp_path / "green" / "green_000.png", nested / "moved_from_green.png")
    (tmp_path / "Red" / ".hidden.png").write_bytes(b"junk")
    hidden = tmp_path / ".thumbnails"
    hidden.mkdir()
    noisy_image(__import__("numpy").random.default_rng(3), (1, 2, 3)).save(hidden / "x.png")
    (tmp_path / "Red" / "notes.txt").write_text("observing log")
    (tmp_path / "Red" / "raw.xyz").write_bytes(b"\x00")

    result = scan_dataset(tmp_path)

    assert result.classes == ("Blue Sky", "Red", "green")  # names exactly as written
    assert result.counts() == {"Blue Sky": 21, "Red": 22, "green": 21}
    nested_record = next(r for r in result.images if r.path.name == "moved_from_green.png")
    assert nested_record.class_name == "Red"
    assert nested_record.rel_path == "night 2/deeper/moved_from_green.png"
    assert result.ignored_files == 2
    assert all(
        ".hidden" not in str(r.path) and ".thumbnails" not in str(r.path) for r in result.images
    )
    # The copy in Red is the same bytes as green_000 in green: both files are named.
    across = next(p for p in result.problems if p.kind == ProblemKind.DUPLICATE_ACROSS_CLASSES)
    assert across.path == tmp_path / "Red" / "night 2" / "deeper" / "moved_from_green.png"
    assert across.related == (tmp_path / "green" / "green_000.png",)
    assert "'Red' (Red/night 2/deeper/moved_from_green.png)" in across.message
    assert "and 'green' (green/green_000.png)" in across.message
    assert result.usable
    record = result.images_of("green")[0]
    assert (record.width, record.height, record.format) == (48, 40, "PNG")


def test_bad_files_are_reported_and_skipped(tmp_path):
    make_dataset(tmp_path, per_class=20)
    red = tmp_path / "Red"
    (red / "zero.png").write_bytes(b"")
    (red / "text.jpg").write_text("not a jpeg at all")
    good = (red / "red_001.png").read_bytes()
    (red / "cut.png").write_bytes(good[: len(good) // 2])
    Image.new("L", (3000, 3000)).save(red / "huge.png")
    shutil.copy(red / "red_002.png", red / "copy of red_002.png")

    result = scan_dataset(tmp_path, max_pixels=5_000_000)

    by_name = {p.path.name: p for p in result.problems if p.path is not None}
    assert by_name["zero.png"].kind == ProblemKind.EMPTY_FILE
    assert by_name["text.jpg"].kind == ProblemKind.CORRUPT
    assert by_name["cut.png"].kind == ProblemKind.TRUNCATED
    assert by_name["huge.png"].kind == ProblemKind.TOO_LARGE
    duplicate = by_name["red_002.png"]  # sorted first: "copy of red_002.png" is kept
    assert duplicate.kind == ProblemKind.DUPLICATE
    assert duplicate.related[0].name == "copy of red_002.png"
    assert all(p.advice for p in result.problems)
    assert result.counts()["Red"] == 20
    names = {r.path.name for r in result.images}
    assert not names & {"zero.png", "text.jpg", "cut.png", "huge.png", "red_002.png"}


def test_dataset_level_problems(tmp_path):
    make_dataset(tmp_path, per_class={"Red": 100, "green": 8, "Blue Sky": 0})
    noisy_image(__import__("numpy").random.default_rng(0), (5, 5, 5)).save(tmp_path / "stray.png")
    result = scan_dataset(tmp_path)
    assert result.classes == ("Red", "green")
    found = {p.kind: p for p in result.problems}
    assert found[ProblemKind.SMALL_CLASS].class_name == "green"
    assert "8 images" in found[ProblemKind.SMALL_CLASS].message
    assert found[ProblemKind.IMBALANCE].class_name == "green"
    assert found[ProblemKind.EMPTY_CLASS].class_name == "Blue Sky"
    assert found[ProblemKind.STRAY_FILE].path.name == "stray.png"
    assert result.usable


def test_fewer_than_two_classes_is_an_error(tmp_path):
    make_dataset(tmp_path, per_class=5, classes={"only": (1, 2, 3)})
    result = scan_dataset(tmp_path)
    assert not result.usable
    (error,) = result.errors
    assert error.kind == ProblemKind.TOO_FEW_CLASSES and error.severity == Severity.ERROR
    assert "at least two" in error.message


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError) as info:
        scan_dataset(tmp_path / "nope")
    assert "does not exist" in info.value.what and info.value.todo


def test_progress_and_cancel(tmp_path):
    make_dataset(tmp_path, per_class=100)
    reports = []
    scan_dataset(tmp_path, progress=reports.append)
    checking = [p for p in reports if p.stage == "Checking images"]
    assert checking[-1].done == checking[-1].total == 300
    assert len(checking) >= 3

    token = CancelToken()
    seen = []

    def cancel_midway(p):
        seen.append(p)
        if p.stage == "Checking images" and p.done >= 64:
            token.cancel()

    with pytest.raises(Cancelled):
        scan_dataset(tmp_path, progress=cancel_midway, cancel=token)
    assert max(p.done for p in seen if p.stage == "Checking images") < 300


def test_hostile_files_are_problems_and_the_scan_finishes(tmp_path):
    import contextlib
    import os

    from hostile import MAX_PIXELS, make_hostile_files

    make_dataset(tmp_path, per_class=4)
    with contextlib.ExitStack() as stack:
        expected = make_hostile_files(tmp_path / "Red", stack)
        result = scan_dataset(tmp_path, max_pixels=MAX_PIXELS, workers=4)
    by_name = {os.fsdecode(p.path.name): p.kind for p in result.problems if p.path}
    for name, kind in expected.items():
        if kind:
            assert by_name[name] == kind, name
        else:
            assert name not in by_name
    usable = {r.rel_path for r in result.images_of("Red")}
    assert {"bad\udcff\udcfe.png", "inflates.png"} <= usable
    assert result.counts()["Red"] == 6


@pytest.mark.parametrize(
    "name", ["uncertain", "Unfamiliar", "uncertain.", "two\nlines", "tab\there", b"bad\xff"]
)
def test_folder_names_that_cannot_be_class_names_stop_training(tmp_path, name):
    # "uncertain" would mix with below-threshold results in the CSV and OUTPUT/uncertain/;
    # a line break would split labels.txt; undecodable bytes cannot be written as text.
    import os

    from classifier.train import train
    from classifier.types import TrainConfig

    make_dataset(tmp_path, per_class=3)
    bad = os.path.join(os.fsencode(tmp_path), name if isinstance(name, bytes) else name.encode())
    os.mkdir(bad)
    shutil.copy(tmp_path / "Red" / "red_000.png", os.path.join(bad, b"a.png"))
    result = scan_dataset(tmp_path)
    [problem] = [p for p in result.problems if p.kind == ProblemKind.BAD_CLASS_NAME]
    assert problem.severity == Severity.ERROR and problem.path == Path(os.fsdecode(bad))
    assert "cannot be a class name" in problem.message and "\n" not in problem.message
    assert "Rename the folder" in problem.advice
    assert not result.usable
    with pytest.raises(DatasetError, match="cannot be a class name"):
        train(result, TrainConfig(backbone="tiny_test", epochs=1))


def test_problems_to_confirm_before_training_name_their_files(tmp_path):
    """Skipped files and images in two classes are confirmed before training; advice about
    class sizes is not (#17.15)."""
    from classifier.scan import problem_text, problems_before_training

    make_dataset(tmp_path, per_class={"Red": 100, "green": 8, "Blue Sky": 21})
    shutil.copy(tmp_path / "Red" / "red_000.png", tmp_path / "Blue Sky" / "copy.png")
    (tmp_path / "green" / "empty.png").write_bytes(b"")
    scan = scan_dataset(tmp_path)
    assert {p.kind for p in scan.problems} >= {"small_class", "imbalance"}
    asked = problems_before_training(scan)
    assert sorted(p.kind for p in asked) == ["duplicate_across_classes", "empty_file"]
    empty = next(p for p in asked if p.kind == "empty_file")
    assert problem_text(empty, scan.root).startswith("green/empty.png: ")
    assert problems_before_training(scan_dataset(make_dataset(tmp_path / "ok", 21))) == []
