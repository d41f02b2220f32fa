"""Help ▸ About: versions from package metadata, the engine in use and why, the folders."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

from classifier import about, engine, paths

ROOT = Path(__file__).parent.parent


def test_versions_come_from_the_installed_packages():
    versions = dict(about.versions())
    assert versions["Keras"] == importlib.metadata.version("keras")
    assert versions["pyqtgraph"] == importlib.metadata.version("pyqtgraph")
    assert versions["Python"] == ".".join(map(str, sys.version_info[:3]))
    assert versions["TensorFlow"][0].isdigit()  # tensorflow or tensorflow-cpu, either way
    assert {"Sortscope", "LiteRT", "PySide6"} <= set(versions)
    assert about.installed_version(("no-such-package-here",)) == about.NOT_INSTALLED


def test_engine_text_names_the_engine_in_use_and_the_fallback_reason(monkeypatch):
    monkeypatch.setattr(engine, "_engines", {})  # other tests of this process may have made one
    assert "not started yet" in about.engine_text()

    class Fallback:
        name = "keras"
        fallback_reason = "ValueError: converted copy differs from Keras by 0.1"

    class Fast:
        name = "tflite"

    monkeypatch.setattr(engine, "_engines", {"lite0-v1-224px:auto": Fallback()})
    text = about.engine_text()
    assert "lite0-v1-224px: Keras" in text and "differs from Keras by 0.1" in text
    monkeypatch.setattr(engine, "_engines", {"lite0-v1-224px:auto": Fast()})
    assert "TFLite/XNNPACK" in about.engine_text()


def test_folders_are_the_data_and_cache_folders():
    assert [f.path for f in about.folders()] == [paths.data_dir(), paths.cache_dir()]


def test_about_dialog_shows_icon_versions_and_folders_without_tensorflow(tmp_path):
    """In a fresh process, so 'TensorFlow is not imported' means something."""
    probe = """
import json, sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from ui.about_dialog import AboutDialog
d = AboutDialog()
labels = [w.text() for w in d.findChildren(type(d.engine))]
print(json.dumps({
    "tensorflow": "tensorflow" in sys.modules,
    "icon": any(not (w.pixmap().isNull()) for w in d.findChildren(type(d.engine))),
    "labels": labels,
    "buttons": sorted(d.folder_buttons),
}))
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    env["SORTSCOPE_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown["tensorflow"] is False and shown["icon"] is True
    text = " ".join(shown["labels"])
    for name, version in about.versions():
        if name != "Sortscope":
            assert name in text and version in text
    assert "Qt (runtime)" in text and "Inference engine" in text
    assert str(tmp_path / "data") in text
    assert shown["buttons"] == ["Cache folder", "Data folder"]
