import os
from pathlib import Path

import pytest

from classifier.sorting import (
    SortMode,
    execute_sort,
    latest_undo_log,
    plan_sort,
    safe_folder_name,
    undo_sort,
)
from classifier.types import Prediction


def row(path: Path, label: str, error: str = "") -> Prediction:
    return Prediction(
        path.name, label, None if error else 0.9, None if error else (0.9, 0.1), error, path
    )


@pytest.fixture
def night(tmp_path):
    folder = tmp_path / "night"
    folder.mkdir()
    files = {}
    for name in ("a.png", "b.png", "c.png", "bad.png"):
        (folder / name).write_bytes(name.encode())
        files[name] = folder / name
    return files


def test_hostile_labels_stay_inside_output(tmp_path):
    for label in ("../../etc", "/abs/path", "a/b", "..", ".", "", "C:\\x", "con", "x\x00y"):
        name = safe_folder_name(label)
        assert "/" not in name and "\\" not in name and name not in ("", ".", "..")
        assert (tmp_path / name).parent == tmp_path
    assert safe_folder_name("globular cluster") == "globular cluster"
    assert safe_folder_name("Open") == "Open"  # case kept


def test_copy_plan_dry_run_then_execute_without_overwriting(night, tmp_path):
    out = tmp_path / "out"
    (out / "star").mkdir(parents=True)
    (out / "star" / "a.png").write_bytes(b"already here")
    rows = [
        row(night["a.png"], "star"),
        row(night["b.png"], "../escape"),
        row(night["c.png"], "uncertain"),
        row(night["bad.png"], "", error="corrupt"),
    ]
    plan = plan_sort(rows, out, SortMode.COPY)
    assert plan.skipped == 1
    assert not (out / "_escape").exists() and not (out / "uncertain").exists()  # dry run
    targets = {a.source.name: a.target for a in plan.actions}
    assert targets["a.png"] == out / "star" / "a (1).png"
    assert targets["b.png"] == out / "_escape" / "b.png"
    assert targets["c.png"] == out / "uncertain" / "c.png"
    report = execute_sort(plan)
    assert report.done == 3
    assert (out / "star" / "a.png").read_bytes() == b"already here"
    assert (out / "star" / "a (1).png").read_bytes() == b"a.png"
    assert all(p.exists() for p in night.values())  # copies leave originals
    assert not list(out.rglob("*.part"))
    undo_sort(report.log)
    assert not (out / "star" / "a (1).png").exists()
    assert (out / "star" / "a.png").exists()


def test_move_and_undo_restores_every_file(night, tmp_path):
    out = tmp_path / "out"
    rows = [row(night["a.png"], "x"), row(night["b.png"], "y"), row(night["c.png"], "x")]
    report = execute_sort(plan_sort(rows, out, SortMode.MOVE))
    assert report.done == 3
    assert not night["a.png"].exists() and (out / "x" / "a.png").read_bytes() == b"a.png"
    assert latest_undo_log(out) == report.log
    assert undo_sort(report.log).undone == 3
    assert all(night[n].read_bytes() == n.encode() for n in ("a.png", "b.png", "c.png"))
    assert latest_undo_log(out) is None  # the log is marked undone


def test_clashing_names_from_subfolders(tmp_path):
    (tmp_path / "n1").mkdir()
    (tmp_path / "n2").mkdir()
    a, b = tmp_path / "n1" / "frame.png", tmp_path / "n2" / "frame.png"
    a.write_bytes(b"1")
    b.write_bytes(b"2")
    plan = plan_sort([row(a, "s"), row(b, "s")], tmp_path / "out", SortMode.COPY)
    names = sorted(t.target.name for t in plan.actions)
    assert names == ["frame (1).png", "frame.png"]


def test_link_mode_and_interrupted_move_loses_nothing(night, tmp_path, monkeypatch):
    out = tmp_path / "out"
    report = execute_sort(plan_sort([row(night["a.png"], "x")], out, SortMode.LINK))
    link = out / "x" / "a.png"
    assert link.is_symlink() and link.read_bytes() == b"a.png"

    # A move that dies half-way: every file must be in its old or its new place.
    calls = {"n": 0}
    real_rename = os.rename

    def dying_rename(src, dst):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the process is stopped mid-run
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", dying_rename)
    rows = [row(night[n], "y") for n in ("a.png", "b.png", "c.png")]
    with pytest.raises(KeyboardInterrupt):
        execute_sort(plan_sort(rows, tmp_path / "out2", SortMode.MOVE))
    for name in ("a.png", "b.png", "c.png"):
        old, new = night[name], tmp_path / "out2" / "y" / name
        assert old.exists() != new.exists(), name
    assert report.done == 1


def test_file_name_escaping_round_trips_every_name():
    from classifier.filenames import escape, unescape

    names = [
        "plain.png",
        "ümlaut 星.png",
        os.fsdecode(b"bad\xff\xfe.png"),
        "back\\slash.png",
        "looks\\xffescaped.png",
        os.fsdecode(b"mixed\\\xff\\x41.png"),
        "\ud800lone.png",  # a lone surrogate, as a Windows name may hold
    ]
    for name in names:
        text = escape(name)
        text.encode("utf-8")  # always writable as UTF-8
        assert unescape(text) == name
    assert escape("plain.png") == "plain.png" and escape("ümlaut 星.png") == "ümlaut 星.png"
    assert escape(os.fsdecode(b"bad\xff\xfe.png")) == "bad\\xff\\xfe.png"


def test_sorting_from_a_results_csv_finds_non_utf8_names_again(tmp_path):
    from classifier.export import write_csv
    from classifier.results_reader import read_results

    folder = tmp_path / "night"
    folder.mkdir()
    name = os.fsdecode(b"bad\xff\xfe.png")
    (folder / name).write_bytes(b"pixels")
    (folder / "good.png").write_bytes(b"more pixels")
    rows = [row(folder / name, "Red"), row(folder / "good.png", "green")]
    csv_path = write_csv(rows, ["Red", "green"], tmp_path / "r.csv")
    assert "bad\\xff\\xfe.png" in csv_path.read_text(encoding="utf-8")
    with open(csv_path, "a", encoding="utf-8") as f:  # an edited CSV pointing outside
        f.write("../outside.png,Red,0.9,0.9,0.1,\n")
    back = read_results(csv_path, folder)
    assert [r.path for r in back][:2] == [folder / name, folder / "good.png"]
    assert back[2].error and back[2].label == "Red"
    plan = plan_sort(back, tmp_path / "out", SortMode.MOVE)
    report = execute_sort(plan)
    assert report.done == 2 and (tmp_path / "out" / "Red" / name).read_bytes() == b"pixels"
    assert undo_sort(report.log).undone == 2 and (folder / name).read_bytes() == b"pixels"


def test_sort_reports_where_each_file_went_and_undo_where_it_came_back(night, tmp_path):
    out = tmp_path / "out"
    rows = [row(night["a.png"], "x"), row(night["b.png"], "y")]
    report = execute_sort(plan_sort(rows, out, SortMode.MOVE))
    assert report.mode == SortMode.MOVE
    assert dict(report.placed) == {
        night["a.png"]: out / "x" / "a.png",
        night["b.png"]: out / "y" / "b.png",
    }
    night["a.png"].write_bytes(b"a new file took the old name")
    undo = undo_sort(report.log)
    back = night["a.png"].with_name("a (1).png")  # never overwrites what appeared since
    assert dict(undo.restored) == {out / "x" / "a.png": back, out / "y" / "b.png": night["b.png"]}
    assert back.read_bytes() == b"a.png"


def test_undo_removes_only_the_empty_folders_the_sort_made(night, tmp_path):
    out = tmp_path / "out"
    (out / "kept").mkdir(parents=True)  # there before the sort: stays, even when empty
    rows = [row(night["a.png"], "kept"), row(night["b.png"], "new"), row(night["c.png"], "busy")]
    report = execute_sort(plan_sort(rows, out, SortMode.COPY))
    (out / "busy" / "someone else's.txt").write_text("added after the sort")
    undo = undo_sort(report.log)
    assert undo.undone == 3 and undo.removed_folders == (out / "new",)
    assert (out / "kept").is_dir() and not (out / "new").exists()
    assert (out / "busy" / "someone else's.txt").exists()
    assert all(p.exists() for p in night.values())
