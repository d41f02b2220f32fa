"""Run history: finished runs kept as JSON in the data folder, read back, compared, forgiving."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from datasets import make_dataset

from classifier import paths, run_history
from classifier.scan import scan_dataset
from classifier.train import train
from classifier.types import TrainConfig

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A real (tiny) training run: its scan, options and outcome."""
    root = make_dataset(tmp_path_factory.mktemp("history") / "data", per_class=14)
    scan = scan_dataset(root)
    config = TrainConfig(backbone="tiny_test", epochs=4, learning_rate=0.02, batch_size=8)
    cache = tmp_path_factory.mktemp("history-cache")
    return scan, config, train(scan, config, cache_dir=cache)


def test_a_run_written_reads_back_as_it_was(finished):
    scan, config, outcome = finished
    record, warning = run_history.remember(outcome)
    assert warning == ""
    path = paths.data_dir() / "runs" / record.file_name
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "sortscope-run" and data["schema_version"] == 1
    run = data["run"]  # the keys of the model file's description
    assert run["training"]["learning_rate"] == 0.02 and data["model_file"] is None
    assert run["dataset"]["root"] == str(scan.root.absolute())
    assert run["test_metrics"]["confusion_matrix"] == [
        list(r) for r in outcome.evaluation.confusion_matrix
    ]
    assert len(data["test_images"]) == outcome.evaluation.n_images

    (back,) = run_history.load().runs
    assert back == record  # options, curves, metrics, scored images: all as they were
    assert back.config == config and back.run.history == tuple(outcome.history)
    assert back.evaluation.misclassified == outcome.evaluation.misclassified
    assert back.run.dataset.classes == scan.counts() and back.saved is None
    assert back.dataset == scan.root.absolute()


def test_saved_model_is_linked_and_deleting_forgets(finished, tmp_path):
    outcome = finished[2]
    record, _ = run_history.remember(outcome)
    model = tmp_path / "m.sortscope"
    assert run_history.saved_model(run_history.mark_saved(record, model)) is None  # not there
    model.write_bytes(b"model")
    (back,) = run_history.load().runs
    assert back.saved == model and run_history.saved_model(back) == model
    run_history.delete(back)
    assert run_history.load().runs == ()
    assert model.exists()  # the model file is the user's: never deleted with the run


def test_newest_first_and_damaged_or_newer_files_are_skipped_with_a_note(finished):
    outcome = finished[2]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = []
    for day in (0, 2, 1):
        record = run_history.new_record(outcome, now=start + timedelta(days=day))
        run_history.save(record)
        ids.append(record.id)
    folder = paths.data_dir() / "runs"
    (folder / "run-broken.json").write_text('{"format": "sortscope-run", "schema', "utf-8")
    (folder / "run-empty.json").write_bytes(b"")
    (folder / "run-wrong.json").write_text('{"format": "sortscope-run", "schema_version": 1}')
    good = json.loads((folder / f"run-{ids[0]}.json").read_text())
    (folder / "run-future.json").write_text(json.dumps({**good, "schema_version": 99}))
    good["run"]["test_metrics"]["accuracy"] = "high"
    (folder / "run-odd.json").write_text(json.dumps(good))
    (folder / "notes.txt").write_text("not a run")

    history = run_history.load()
    assert [r.id for r in history.runs] == [ids[1], ids[2], ids[0]]
    assert len(history.notes) == 5
    assert any("run-broken.json is damaged" in n for n in history.notes)
    assert any("run-odd.json is damaged" in n and "accuracy" in n for n in history.notes)
    assert any("run-future.json was written by a newer Sortscope" in n for n in history.notes)


def test_a_history_that_cannot_be_written_only_warns(finished, monkeypatch, tmp_path):
    outcome = finished[2]
    blocker = tmp_path / "file"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv("SORTSCOPE_DATA_DIR", str(blocker))
    record, warning = run_history.remember(outcome)
    assert record.evaluation == outcome.evaluation
    assert "could not be added to the run history" in warning


def test_large_test_sets_keep_only_the_mistakes(finished, monkeypatch):
    outcome = finished[2]
    monkeypatch.setattr(run_history, "MAX_SCORED_IMAGES", 3)
    record = run_history.new_record(outcome)
    data = run_history.to_json(record)
    kept = data["test_images"]
    assert len(kept) <= 3 and all(true != predicted for _p, true, predicted, _c in kept)
    back = run_history.from_json(json.loads(json.dumps(data)))
    assert not back.all_test_images
    assert back.evaluation.confusion_matrix == outcome.evaluation.confusion_matrix


def test_compare_two_runs(finished):
    scan, config, outcome = finished
    a = run_history.new_record(outcome)
    better = replace(outcome.evaluation, accuracy=outcome.evaluation.accuracy + 0.125)
    b = replace(
        a, run=replace(a.run, config=replace(config, learning_rate=0.005), test_metrics=better)
    )
    rows = {d.what: d for d in run_history.compare(a, b)}
    assert rows["Test accuracy"].change == "+12.5 points"
    assert rows["Balanced accuracy"].change == "same"
    assert rows["Option: learning rate"].a == "0.02" and rows["Option: learning rate"].b == "0.005"
    assert "Option: epochs" not in rows  # only the options that differ
    assert {f"F1 of {c}" for c in scan.classes} <= set(rows)


def test_cli_train_records_the_run_with_its_model(tmp_path, isolated_dirs):
    data = make_dataset(tmp_path / "data", per_class=12)
    model = tmp_path / "cli.sortscope"
    command = [sys.executable, "main.py", "train", str(data), "--model", str(model)]
    command += ["--backbone", "tiny_test", "--epochs", "2", "--quiet"]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=300)
    (record,) = run_history.load().runs
    assert record.saved == model and record.config.epochs == 2 and record.dataset == data
