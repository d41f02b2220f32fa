"""The Runs page: earlier sessions' runs from the history, opened, compared, reused, deleted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from datasets import make_dataset

from classifier import paths, run_history
from classifier.modelfile import save_model
from classifier.scan import scan_dataset
from classifier.train import train
from classifier.types import TrainConfig
from ui.run_dialogs import CompareDialog, RunDialog
from ui.runs_table import COLUMNS


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = make_dataset(tmp_path_factory.mktemp("ui-history") / "data", per_class=14)
    config = TrainConfig(backbone="tiny_test", epochs=4, learning_rate=0.02, batch_size=8)
    cache = tmp_path_factory.mktemp("ui-history-cache")
    return train(scan_dataset(root), config, cache_dir=cache)


@pytest.fixture
def earlier_runs(trained, tmp_path):
    """Two runs of an earlier session in the history: the older one saved its model."""
    older = run_history.new_record(trained, now=datetime.now(UTC) - timedelta(hours=1))
    model = save_model(trained.model, tmp_path / "older.sortscope")
    older = run_history.mark_saved(older, model)
    config = replace(older.config, learning_rate=0.005, epochs=6)
    newer = run_history.new_record(trained)
    newer = replace(newer, run=replace(newer.run, config=config))
    run_history.save(newer)
    return older, newer


def _wait_for_history(qtbot, view, count):
    qtbot.waitUntil(lambda: len(view.runs) == count, timeout=30000)


def test_earlier_runs_are_listed_newest_first_with_their_model(qtbot, earlier_runs, window):
    older, newer = earlier_runs
    view = window.train_view
    _wait_for_history(qtbot, view, 2)
    assert [r.record.id for r in view.runs] == [older.id, newer.id]  # oldest first
    assert all(r.outcome is None for r in view.runs)  # no model in memory: earlier session
    assert view.unsaved_run is None  # quitting asks nothing: no model of theirs is in memory
    table = view.runs_table
    saved = COLUMNS.index("Saved as")
    assert table.item(0, saved).text() == "not saved (the model was not kept)"  # newest on top
    assert table.item(1, saved).text() == older.saved.name
    assert table.item(1, saved).toolTip() == str(older.saved)
    assert table.item(0, COLUMNS.index("Dataset")).text() == older.dataset.name
    assert table.item(0, COLUMNS.index("Learning rate")).text() == "0.005"


def test_open_compare_reuse_open_model_and_delete(qtbot, earlier_runs, window):
    older, newer = earlier_runs
    view = window.train_view
    panel = view.history
    _wait_for_history(qtbot, view, 2)
    table = view.runs_table

    table.selectRow(0)  # the newer run
    assert panel.open_button.isEnabled() and not panel.compare_button.isEnabled()
    assert not panel.model_button.isEnabled()  # its model was not kept
    panel.open_button.click()
    (dialog,) = panel.dialogs
    assert isinstance(dialog, RunDialog) and dialog.record.id == newer.id
    assert dialog.results.evaluation == newer.evaluation
    assert not dialog.results.save_button.isVisible()
    dialog.close()

    panel.options_button.click()
    assert view.form.config().learning_rate == 0.005 and view.form.config().epochs == 6

    table.selectAll()
    assert panel.compare_button.isEnabled()
    comparison = panel.compare_selected()
    assert isinstance(comparison, CompareDialog)
    rows = {d.what: d for d in comparison.differences}
    assert rows["Option: learning rate"].a == "0.02" and rows["Option: learning rate"].b == "0.005"
    assert comparison.table.rowCount() == len(comparison.differences)
    comparison.close()

    table.clearSelection()
    table.selectRow(1)  # the older run, saved
    assert panel.model_button.isEnabled()
    panel.model_button.click()
    qtbot.waitUntil(lambda: window.state.model_path == older.saved, timeout=30000)

    table.selectRow(0)
    panel.delete_selected(ask=False)
    assert [r.record.id for r in view.runs] == [older.id]
    assert not (paths.data_dir() / "runs" / newer.file_name).exists()
    assert older.saved.exists()


def test_a_run_of_this_session_is_kept_and_survives_a_restart(qtbot, tiny_window, tmp_path):
    from conftest import _open_window

    root = make_dataset(tmp_path / "data", per_class=14)
    tiny_window.open_dataset(root)
    qtbot.waitUntil(lambda: tiny_window.state.scan is not None, timeout=30000)
    view = tiny_window.train_view
    view.form.set_config(TrainConfig(backbone="tiny_test", epochs=3, learning_rate=0.02))
    view.start()
    qtbot.waitUntil(lambda: len(view.runs) == 1, timeout=60000)
    (record,) = run_history.load().runs
    assert record.id == view.runs[0].record.id and view.runs[0].outcome is not None
    saved = tmp_path / "kept.sortscope"
    view.save_to(saved)
    qtbot.waitUntil(lambda: view.runs[0].saved == saved, timeout=30000)
    assert run_history.load().runs[0].saved == saved  # the history links the model file

    (paths.data_dir() / "runs" / "run-damaged.json").write_text("{not json", encoding="utf-8")
    settings = tiny_window.settings
    tiny_window.close()
    # A new window on the same data folder: the run is back, the damaged file only noted.
    second = next(_open_window(qtbot, settings))
    try:
        again = second.train_view
        _wait_for_history(qtbot, again, 1)
        assert again.runs[0].record == run_history.load().runs[0]
        assert again.runs[0].outcome is None
        assert again.history.notes.isVisibleTo(again.history)
        assert "run-damaged.json" in again.history.notes.text()
    finally:
        second.close()
        assert second.runner.shutdown(timeout=10)
