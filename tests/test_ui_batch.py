"""The Classify area through a long night: a run killed mid-way is offered and continued to the
rows of an uninterrupted run; "Keep watching this folder" streams new images in as rows."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
from datasets import noisy_image
from test_cli_workflow import ROOT, tiny_model  # noqa: F401 (a fixture)
from test_watch import png_bytes

from classifier.modelfile import load_model
from classifier.predict import NoveltyOptions, classify_files, list_image_files
from ui import settings as keys
from ui.batch_resume import window_parts

# The window's own classification (ui.batch_resume) in a process of its own, its rows saved
# every chunk and each chunk slowed down, so a SIGKILL lands mid-way however fast the machine.
KILLED_WINDOW_RUN = """
import sys, time
from pathlib import Path
from classifier import batch
batch.PART_SECONDS = 0.0
add = batch.PartStore.add
def slow_add(self, rows):
    add(self, rows)
    time.sleep(0.2)
batch.PartStore.add = slow_add
from classifier.modelfile import load_model
from ui.batch_resume import classify_prepared, prepare
folder, model_path = Path(sys.argv[1]), Path(sys.argv[2])
prepared = prepare(folder, False, load_model(model_path, lazy=True), model_path, [])
classify_prepared(prepared)
"""


def night_folder(path, n):
    rng = np.random.default_rng(3)
    path.mkdir()
    for i in range(n):
        noisy_image(rng, (40 + i * 3 % 200, 90, 160), size=(24, 20)).save(path / f"f{i:03d}.png")
    return path


def test_a_killed_window_run_is_offered_and_continued_to_the_same_rows(
    qtbot,
    window,
    tiny_model,  # noqa: F811
    tmp_path,
):
    folder = night_folder(tmp_path / "night", 160)
    model = load_model(tiny_model, lazy=True)
    novelty = NoveltyOptions() if model.novelty is not None else None  # as the window
    reference = classify_files(list_image_files(folder), folder, model, novelty=novelty).rows
    parts = window_parts(folder, tiny_model)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WINDOW_RUN, str(folder), str(tiny_model)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 120
        while len(list(parts.glob("part-*.jsonl"))) < 2 and time.monotonic() < deadline:
            assert child.poll() is None, "the run ended before it could be killed"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert parts.with_name(parts.name + ".lock").exists()  # left behind by the dead process

    # The next start reopens the last model and folder and offers to continue at once.
    view = window.classify_view
    view.settings.setValue(keys.CLASSIFY_FOLDER, str(folder))
    view.model_picker.open_model(tiny_model)
    qtbot.waitUntil(lambda: view.resume_offer.isVisibleTo(view), timeout=30000)
    assert view.folder_edit.text() == str(folder)
    button = view.resume_offer.continue_button.text()
    kept = int(button.split("(")[1].split()[0])
    assert 0 < kept < 160 and button == f"Continue the interrupted run ({kept} of 160 done)"
    assert "did not finish" in view.resume_offer.text.text()
    view.resume_offer.continue_button.click()
    qtbot.waitUntil(lambda: window.state.results is not None, timeout=60000)
    result = window.state.results
    assert result.stats.total == 160 - kept  # only the missing files were classified
    assert result.rows == reference  # exactly the rows of an uninterrupted run
    assert len(view.results.rows) == 160
    assert f"Continued an interrupted run: {kept} images were already done" in view.summary.text()
    assert not parts.exists() and not parts.with_name(parts.name + ".lock").exists()

    # "Start over" forgets the saved rows: every file is classified again.
    view.start()  # nothing interrupted now: no offer, a plain run
    # (the folder is listed in a task of its own first: wait for the new results themselves)
    qtbot.waitUntil(lambda: window.state.results is not result, timeout=60000)
    assert not view.resume_offer.isVisibleTo(view) and window.state.results.stats.total == 160


def test_start_over_classifies_every_file_again(qtbot, window, tiny_model, tmp_path):  # noqa: F811
    from ui.batch_resume import classify_prepared, prepare

    folder = night_folder(tmp_path / "night", 6)
    model = load_model(tiny_model, lazy=True)
    prepared = prepare(folder, False, model, tiny_model, [])
    classify_prepared(prepared, keep_parts=True)  # as a crash during the watch leaves them
    view = window.classify_view
    view.model_picker.open_model(tiny_model)
    qtbot.waitUntil(lambda: window.state.model is not None, timeout=30000)
    view.folder_edit.setText(str(folder))
    view.start()
    qtbot.waitUntil(lambda: view.resume_offer.isVisibleTo(view), timeout=30000)
    assert "(6 of 6 done)" in view.resume_offer.continue_button.text()
    window.state.set_results(None)
    view.resume_offer.start_over_button.click()
    qtbot.waitUntil(lambda: window.state.results is not None, timeout=60000)
    assert window.state.results.stats.total == 6 and len(view.results.rows) == 6
    assert not window_parts(folder, tiny_model).exists()


def test_keep_watching_streams_new_images_in_as_rows(qtbot, window, tiny_model, tmp_path):  # noqa: F811
    folder = night_folder(tmp_path / "night", 3)
    view = window.classify_view
    view.watch_poll_seconds = 0.05
    view.model_picker.open_model(tiny_model)
    qtbot.waitUntil(lambda: window.state.model is not None, timeout=30000)
    view.folder_edit.setText(str(folder))
    view.watch_box.setChecked(True)
    view.start()
    qtbot.waitUntil(view.watching, timeout=60000)
    assert len(view.results.rows) == 3
    assert view.progress.isVisibleTo(view)
    assert "Watching night since " in view.progress.bar.format()
    assert view.progress.bar.format().endswith(": 0 new images (Cancel stops)")
    assert view.export_button.isEnabled()  # the rows so far can be exported while it watches
    parts = window_parts(folder, tiny_model)
    assert (parts / "manifest.json").exists()  # kept while watching: a crash keeps the night

    (folder / "later.png").write_bytes(png_bytes(7))
    qtbot.waitUntil(lambda: len(view.results.rows) == 4, timeout=30000)
    assert "later.png" in {r.file for r in view.results.rows}
    assert view.progress.bar.format().endswith(": 1 new image (Cancel stops)")
    qtbot.waitUntil(lambda: len(list(parts.glob("part-*.jsonl"))) >= 2, timeout=30000)
    os.unlink(folder / "f001.png")
    qtbot.waitUntil(lambda: len(view.results.rows) == 3, timeout=30000)
    assert sorted(r.file for r in view.results.rows) == ["f000.png", "f002.png", "later.png"]

    view.progress.cancel_button.click()
    qtbot.waitUntil(lambda: not view.watching(), timeout=30000)
    assert not view.progress.isVisibleTo(view)
    assert [r.file for r in window.state.results.rows] == ["f000.png", "f002.png", "later.png"]
    assert not parts.exists()  # the run is over


def test_a_folder_another_window_is_classifying_is_refused_in_words(
    qtbot,
    window,
    tiny_model,  # noqa: F811
    tmp_path,
):
    import json
    import socket

    from ui.error_dialog import ErrorDialog

    folder = night_folder(tmp_path / "night", 3)
    parts = window_parts(folder, tiny_model)
    parts.parent.mkdir(parents=True)
    other = {"pid": os.getppid(), "host": socket.gethostname(), "started": time.time(),
             "what": "Sortscope's Classify window"}  # fmt: skip
    parts.with_name(parts.name + ".lock").write_text(json.dumps(other))
    view = window.classify_view
    view.model_picker.open_model(tiny_model)
    qtbot.waitUntil(lambda: window.state.model is not None, timeout=30000)
    view.folder_edit.setText(str(folder))
    view.start()
    qtbot.waitUntil(lambda: window.findChild(ErrorDialog, "sortscope-error") is not None)
    box = window.findChild(ErrorDialog, "sortscope-error")
    assert f"Another run is classifying {folder} with k.sortscope" in box.info.what
    assert f"Classify window (process {os.getppid()} on this computer" in box.info.what
    assert window.state.results is None and not view.progress.isVisibleTo(view)
