"""Reviewed labels in the results CSV and in sorting into folders."""

from pathlib import Path

from datasets import read_csv

from classifier.export import write_csv
from classifier.sorting import SortMode, plan_sort
from classifier.types import Prediction

CLASSES = ("cat", "dog")
ROWS = [
    Prediction("b.png", "dog", 0.75, (0.25, 0.75), extra=("2026-01-02",)),
    Prediction("a.png", "cat", 0.9, (0.9, 0.1), extra=("=1+1",)),
    Prediction("bad.png", "", None, None, "The file is empty.", extra=("",)),
]
# The CSV as Sortscope wrote it before reviews existed, byte for byte.
BEFORE_REVIEWS = (
    "file,label,confidence,prob_cat,prob_dog,error,DATE-OBS\r\n"
    "a.png,cat,0.900000,0.900000,0.100000,,'=1+1\r\n"
    "b.png,dog,0.750000,0.250000,0.750000,,2026-01-02\r\n"
    "bad.png,,,,,The file is empty.,\r\n"
)


def test_without_reviews_the_csv_is_byte_for_byte_what_it_was(tmp_path):
    for i, reviewed in enumerate((None, {}, {"a.png": ""}, {"elsewhere.png": "cat"})):
        out = write_csv(ROWS, CLASSES, tmp_path / f"r{i}.csv", ("DATE-OBS",), reviewed)
        assert out.read_bytes() == BEFORE_REVIEWS.encode("utf-8")


def test_reviewed_label_comes_right_after_error_before_header_columns(tmp_path):
    reviewed = {"b.png": "cat", "bad.png": "none", "a.png": "-dog"}
    out = write_csv(ROWS, CLASSES, tmp_path / "r.csv", ("DATE-OBS",), reviewed)
    table = read_csv(out)
    assert table[0] == [
        "file", "label", "confidence", "prob_cat", "prob_dog", "error", "reviewed_label",
        "DATE-OBS",
    ]  # fmt: skip
    cells = {r[0]: r[6] for r in table[1:]}
    assert cells == {"a.png": "'-dog", "b.png": "cat", "bad.png": "none"}
    plain = [Prediction(r.file, r.label, r.confidence, r.probabilities, r.error) for r in ROWS]
    partly = read_csv(write_csv(plain, CLASSES, tmp_path / "p.csv", (), {"b.png": "cat"}))
    assert [r[-1] for r in partly] == ["reviewed_label", "", "cat", ""]


def test_sorting_uses_the_reviewed_label_where_there_is_one(tmp_path):
    files = {}
    for name in ("a.png", "b.png", "c.png"):
        files[name] = tmp_path / "night" / name
    rows = [
        Prediction("a.png", "cat", 0.9, (0.9, 0.1), path=files["a.png"]),
        Prediction("b.png", "cat", 0.6, (0.6, 0.4), path=files["b.png"]),
        Prediction("c.png", "uncertain", 0.5, (0.5, 0.5), path=files["c.png"]),
    ]
    out = tmp_path / "out"
    plan = plan_sort(rows, out, SortMode.COPY, reviewed={"b.png": "dog", "c.png": "none"})
    targets = {a.source.name: a.target.relative_to(out) for a in plan.actions}
    assert targets == {
        "a.png": Path("cat/a.png"),
        "b.png": Path("dog/b.png"),
        "c.png": Path("none/c.png"),
    }
    assert plan.per_folder() == {"cat": 1, "dog": 1, "none": 1}
