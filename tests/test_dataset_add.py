"""Adding reviewed images to a dataset: conflicts, duplicates, new classes, undo, hostile names."""

import os
from pathlib import Path

import pytest

from classifier.dataset_add import (
    AddItem,
    UnknownClasses,
    execute_add,
    plan_add,
    plan_move_to_class,
    reviewed_items,
    undo_add,
)
from classifier.errors import SortscopeError
from classifier.results_reader import items_from_csv
from classifier.sorting import SortMode, execute_sort, latest_undo_log, undo_sort

HOSTILE = ("..", ".", "../escape", "a/b", "/abs", "\\", "C:\\x", "", "x\x00y", ".hidden", "a:b")
# Names the scan would refuse afterwards: a bucket of Sortscope's own, a line break.
HOSTILE += ("uncertain", "Unfamiliar", "two\nlines")


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "data"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
    (root / "cat" / "c1.png").write_bytes(b"cat one")
    (root / "cat" / "shared.png").write_bytes(b"in the dataset")
    (root / "dog" / "d1.png").write_bytes(b"dog one")
    return root


@pytest.fixture
def night(tmp_path):
    folder = tmp_path / "night"
    folder.mkdir()
    for name, content in {
        "c1.png": b"a new cat",  # same name as a dataset file: a conflict
        "dup.png": b"in the dataset",  # same content as one: a duplicate
        "d2.png": b"a new dog",
        "junk.png": b"a penguin",
        "twin.png": b"a new dog",  # same content as d2, in the same batch
    }.items():
        (folder / name).write_bytes(content)
    return folder


def files_under(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def test_copy_with_a_conflict_a_duplicate_and_undo(dataset, night):
    before = files_under(dataset)
    items = [
        AddItem(night / "c1.png", "cat"),
        AddItem(night / "dup.png", "dog"),
        AddItem(night / "d2.png", "dog"),
        AddItem(night / "twin.png", "dog"),
        AddItem(night / "junk.png", None),
    ]
    plan = plan_add(items, dataset)
    assert files_under(dataset) == before  # the plan is a dry run
    assert plan.added == {"cat": 1, "dog": 1}
    assert plan.duplicates == {"dog": 2} and plan.skipped_duplicates == 2
    assert plan.kept_in_place == 1 and plan.new_classes == ()
    assert plan.summary_lines() == [
        "cat: would add 1",
        "dog: would add 1, 2 already in the dataset (skipped)",
        "none of these: 1 left where they are",
    ]
    report = execute_add(plan)
    assert report.done == 2
    after = files_under(dataset)
    assert after["cat/c1.png"] == b"cat one"  # never overwritten
    assert after["cat/c1 (1).png"] == b"a new cat"
    assert after["dog/d2.png"] == b"a new dog"
    assert len(after) == len(before) + 2
    assert files_under(night)["c1.png"] == b"a new cat"  # copied, not moved

    again = plan_add(items, dataset)  # the same images a second time: nothing to add
    assert again.actions == () and again.duplicates == {"cat": 1, "dog": 3}

    assert latest_undo_log(dataset) == report.log
    assert undo_add(report.log) == 2
    assert files_under(dataset) == before


def test_move_takes_the_files_and_undo_brings_them_back(dataset, night, tmp_path):
    junk = tmp_path / "junk"
    plan = plan_add(
        [AddItem(night / "d2.png", "dog"), AddItem(night / "junk.png", None)],
        dataset,
        SortMode.MOVE,
        none_folder=junk,
    )
    assert plan.summary_lines(dry_run=False)[-1] == f"none of these: added 1 to {junk}"
    report = execute_add(plan)
    assert not (night / "d2.png").exists() and (dataset / "dog" / "d2.png").exists()
    assert (junk / "junk.png").read_bytes() == b"a penguin"
    undo_add(report.log)
    assert (night / "d2.png").read_bytes() == b"a new dog"
    assert (night / "junk.png").exists() and not (junk / "junk.png").exists()


def test_a_new_class_needs_explicit_permission(dataset, night):
    items = [AddItem(night / "junk.png", "penguin"), AddItem(night / "d2.png", "dog")]
    with pytest.raises(UnknownClasses) as error:
        plan_add(items, dataset)
    assert error.value.classes == ("penguin",) and "'penguin'" in str(error.value)
    assert not (dataset / "penguin").exists()
    plan = plan_add(items, dataset, allow_new_classes=True)
    assert plan.new_classes == ("penguin",)
    assert "penguin: would add 1 (new class folder)" in plan.summary_lines()
    execute_add(plan)
    assert (dataset / "penguin" / "junk.png").read_bytes() == b"a penguin"


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_class_values_never_leave_the_dataset(dataset, night, tmp_path, label):
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    with pytest.raises(SortscopeError) as error:
        plan_add([AddItem(night / "d2.png", label)], dataset, allow_new_classes=True)
    assert not isinstance(error.value, UnknownClasses)
    assert repr(label) in error.value.what
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_a_folder_for_none_of_these_inside_the_dataset_is_refused(dataset, night):
    with pytest.raises(SortscopeError, match="inside the dataset"):
        plan_add([AddItem(night / "junk.png", None)], dataset, none_folder=dataset / "junk")


def test_an_unreadable_source_is_reported_and_skipped(dataset, night):
    plan = plan_add([AddItem(night / "gone.png", "cat"), AddItem(night / "d2.png", "dog")], dataset)
    assert plan.added == {"dog": 1}
    assert len(plan.problems) == 1 and "gone.png" in plan.problems[0]


def test_known_digests_spare_hashing_the_dataset(dataset, night):
    items = [AddItem(night / "d2.png", "dog", digest="abc")]
    assert plan_add(items, dataset, existing={"abc"}).duplicates == {"dog": 1}
    assert plan_add(items, dataset, existing=set()).added == {"dog": 1}


def test_rows_of_a_results_csv(night, tmp_path):
    csv_path = tmp_path / "r.csv"
    csv_path.write_text(
        "file,label,confidence,prob_cat,prob_dog,error,reviewed_label\n"
        "c1.png,cat,0.9,0.9,0.1,,cat\n"
        "d2.png,cat,0.6,0.6,0.4,,dog\n"
        "junk.png,dog,0.5,0.5,0.5,,none\n"
        "twin.png,uncertain,0.5,0.5,0.5,,\n"
        "bad.png,,,,,The file is empty.,cat\n"
        "../../etc/passwd,cat,0.9,0.9,0.1,,cat\n"
        "'-odd.png,cat,0.9,0.9,0.1,,'=cat\n",
        encoding="utf-8",
    )
    picked = items_from_csv(csv_path, night)
    assert [(i.source.name, i.label) for i in picked.items] == [
        ("c1.png", "cat"),
        ("d2.png", "dog"),
        ("-odd.png", "=cat"),  # the formula guard's quote is taken off again
    ]
    assert picked.skipped == {
        "'none'": 1,
        "empty": 1,
        "error rows": 1,
        "file outside the images folder": 1,
    }
    accepted = items_from_csv(csv_path, night, column="label")
    assert [i.label for i in accepted.items] == ["cat", "cat", "dog", "cat"]
    assert accepted.skipped["'uncertain'"] == 1
    with pytest.raises(SortscopeError, match="no 'reviewed' column"):
        items_from_csv(csv_path, night, column="reviewed")
    assert os.path.exists(night / "c1.png")


def test_reviewed_rows_of_a_batch_become_items(night, tmp_path):
    from classifier.review import ReviewJournal
    from classifier.types import Prediction

    journal = ReviewJournal.open(night, "m", root=tmp_path / "journals")
    rows = [
        Prediction("d2.png", "cat", 0.6, (0.6, 0.4), path=night / "d2.png", digest="x"),
        Prediction("junk.png", "cat", 0.6, (0.6, 0.4), path=night / "junk.png", digest="y"),
        Prediction("c1.png", "cat", 0.9, (0.9, 0.1), path=night / "c1.png", digest="z"),
    ]
    journal.decide("x", "d2.png", "dog")
    journal.decide("y", "junk.png", None)
    items = reviewed_items(rows, journal)
    assert items == [AddItem(night / "d2.png", "dog", "x"), AddItem(night / "junk.png", None, "y")]
    assert journal.class_labels() == {"x": "dog"}


def test_move_to_class_for_images_filed_in_the_wrong_folder(dataset):
    (dataset / "dog" / "c1.png").write_bytes(b"a second c1")
    wrong = [dataset / "cat" / "c1.png", dataset / "dog" / "d1.png"]
    plan = plan_move_to_class(wrong, dataset, "dog")
    assert [a.target.name for a in plan.actions] == ["c1 (1).png"]  # d1 is there already
    report = execute_sort(plan)
    assert (dataset / "dog" / "c1 (1).png").read_bytes() == b"cat one"
    assert not (dataset / "cat" / "c1.png").exists()
    undo_sort(report.log)
    assert (dataset / "cat" / "c1.png").read_bytes() == b"cat one"
    with pytest.raises(UnknownClasses):
        plan_move_to_class([dataset / "cat" / "c1.png"], dataset, "bird")
    with pytest.raises(SortscopeError):
        plan_move_to_class([dataset / "cat" / "c1.png"], dataset, "../bird", True)


def test_the_duplicate_check_reads_only_dataset_files_of_a_matching_size(
    dataset, night, monkeypatch
):
    import classifier.dataset_add as dataset_add

    read = []
    real = dataset_add.images.read_file

    def counting(path):
        read.append(Path(path))
        return real(path)

    monkeypatch.setattr(dataset_add.images, "read_file", counting)
    plan = plan_add([AddItem(night / "dup.png", "dog")], dataset)
    assert plan.duplicates == {"dog": 1}
    assert [p for p in read if dataset in p.parents] == [dataset / "cat" / "shared.png"]


def test_adding_from_a_csv_finds_names_that_are_not_utf8(dataset, tmp_path):
    from classifier.export import write_csv
    from classifier.types import Prediction

    night = tmp_path / "night-raw"
    night.mkdir()
    name = os.fsdecode(b"cat\xff\xfe.png")
    (night / name).write_bytes(b"a new cat")
    row = Prediction(name, "cat", 0.9, (0.9, 0.1), path=night / name)
    csv_path = write_csv([row], ["cat", "dog"], tmp_path / "r.csv", reviewed={name: "cat"})
    picked = items_from_csv(csv_path, night)
    assert [i.source for i in picked.items] == [night / name]
    report = execute_add(plan_add(picked.items, dataset, SortMode.COPY))
    assert report.done == 1 and (dataset / "cat" / name).read_bytes() == b"a new cat"
