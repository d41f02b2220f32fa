"""The window's Export…, Save report… and Save summary… work in the TaskRunner."""

from pathlib import Path

import pytest
from datasets import make_dataset

from classifier.predict import classify_folder
from classifier.scan import scan_dataset
from classifier.train import train
from classifier.types import TrainConfig
from ui import export_actions
from ui.tasks import TaskRunner


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-export")
    scan = scan_dataset(make_dataset(root / "data", per_class=12))
    return train(scan, TrainConfig(backbone="tiny_test", epochs=3, learning_rate=0.01))


def _wait(qtbot, start) -> object:
    done, failed = [], []
    runner = TaskRunner()
    task = start(runner, done.append, failed.append)
    qtbot.waitUntil(lambda: bool(done or failed), timeout=180_000)
    qtbot.waitUntil(lambda: not task.alive, timeout=10_000)
    assert not failed, failed[0].what
    return done[0]


def test_an_unsaved_model_exports_in_the_background(qtbot, outcome, tmp_path):
    out = tmp_path / "m.tflite"
    result = _wait(
        qtbot,
        lambda runner, ok, bad: export_actions.start_export(
            runner, outcome.model, None, out, "tflite", False, ok, bad
        ),
    )
    assert result.path == out and out.stat().st_size > 0
    assert (tmp_path / "labels.txt").read_text() == "Blue Sky\nRed\ngreen\n"


def test_report_and_summary_are_written_in_the_background(qtbot, outcome, tmp_path):
    report = _wait(
        qtbot,
        lambda runner, ok, bad: export_actions.start_model_report(
            runner, outcome.model, "unsaved model", tmp_path / "r.html", ok, bad
        ),
    )
    assert "Test accuracy" in report.read_text(encoding="utf-8")
    rows = classify_folder(outcome.model.info.run.dataset.root + "/Red", outcome.model).rows
    summary = _wait(
        qtbot,
        lambda runner, ok, bad: export_actions.start_batch_summary(
            runner, outcome.model, rows, [("Folder", "Red")], tmp_path / "s.html", ok, bad
        ),
    )
    red = sum(row.label == "Red" for row in rows)
    assert f'<td>Red</td><td class="n">{red}</td>' in summary.read_text(encoding="utf-8")


def test_the_window_buttons_export_and_save_summaries(
    qtbot, window, outcome, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QFileDialog

    answers = iter(
        [
            (str(tmp_path / "card"), "Keras (*.keras)"),
            (str(tmp_path / "summary"), "HTML (*.html)"),
        ]
    )
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: next(answers))
    panel = window.train_view.results
    assert not panel.export_button.isEnabled() and not panel.report_button.isEnabled()
    panel.show_evaluation(outcome.evaluation)
    assert panel.export_button.isEnabled() and panel.report_button.isEnabled()
    view, picker = window.classify_view, window.classify_view.model_picker
    assert not picker.export_button.isEnabled() and not view.summary_button.isEnabled()
    window.state.set_model(outcome.model, None)
    assert picker.export_button.isEnabled()
    picker.export_button.click()  # the model card's Export…: an unsaved model, as .keras
    qtbot.waitUntil(lambda: (tmp_path / "card.keras").is_file(), timeout=180_000)
    qtbot.waitUntil(lambda: not window.runner.is_running("export-model"), timeout=10_000)
    assert (tmp_path / "sortscope.json").is_file()

    view.folder_edit.setText(str(Path(outcome.model.info.run.dataset.root) / "Red"))
    view.start()
    qtbot.waitUntil(lambda: view.summary_button.isEnabled(), timeout=60_000)
    view.summary_button.click()
    qtbot.waitUntil(lambda: (tmp_path / "summary.html").is_file(), timeout=60_000)
    assert "Classification summary" in (tmp_path / "summary.html").read_text(encoding="utf-8")
