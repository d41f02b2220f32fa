"""Exports load in their own runtimes and give Sortscope's probabilities."""

import json
import shutil

import numpy as np
import pytest
from datasets import make_dataset

from classifier.exports import ExportError, export_model, format_for
from classifier.images import load_for_model
from classifier.model_dataset import recorded_split
from classifier.modelfile import load_model, save_model
from classifier.scan import scan_dataset
from classifier.train import train
from classifier.types import Split, TrainConfig


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("export-data")
    scan = scan_dataset(make_dataset(root / "data", per_class=20))
    config = TrainConfig(backbone="tiny_test", epochs=5, learning_rate=0.01, test_percent=25)
    outcome = train(scan, config)
    return save_model(outcome.model, root / "stars.sortscope")


def _test_pixels(model):
    records = recorded_split(model, Split.TEST)
    size = model.metadata["input"]["size"]
    return np.stack([load_for_model(r.path, size, prep=model.preprocessing)[0] for r in records])


def _tflite(path, pixels):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    rows = []
    for image in pixels.astype(np.float32):
        interpreter.set_tensor(inp["index"], image[None])
        interpreter.invoke()
        rows.append(interpreter.get_tensor(out["index"])[0])
    return np.array(rows)


def test_tflite_gives_sortscopes_probabilities_with_labels_and_description(model_file, tmp_path):
    model = load_model(model_file)
    result = export_model(model_file, tmp_path / "out" / "stars.tflite")
    assert result.format == "tflite" and result.path.is_file()
    assert result.labels.read_text(encoding="utf-8") == "Blue Sky\nRed\ngreen\n"
    description = json.loads(result.description.read_text(encoding="utf-8"))
    assert description["class_names"] == ["Blue Sky", "Red", "green"]
    assert description["input"]["size"] == 32 and description["input"]["resize"] == "bilinear"
    assert description["input"]["preprocessing"]["stretch"] == "auto"
    assert description["quantization"] == "float32"
    pixels = _test_pixels(model)
    want = np.asarray(model.model(pixels.astype(np.float32)))
    np.testing.assert_allclose(_tflite(result.path, pixels), want, atol=1e-4)
    assert not [p for p in result.path.parent.iterdir() if p.name.startswith(".")]  # no tmp


def test_saved_model_folder_gives_sortscopes_probabilities(model_file, tmp_path):
    import tensorflow as tf

    model = load_model(model_file)
    folder = tmp_path / "served"
    result = export_model(model_file, folder)
    assert result.format == "saved_model"
    assert (folder / "labels.txt").is_file() and (folder / "sortscope.json").is_file()
    pixels = _test_pixels(model).astype(np.float32)
    loaded = tf.saved_model.load(str(folder))
    got = np.asarray(loaded.serve(tf.constant(pixels)))
    np.testing.assert_allclose(got, np.asarray(model.model(pixels)), atol=1e-4)
    # Exporting again replaces the folder whole.
    export_model(model_file, folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["served"]


def test_onnx_gives_sortscopes_probabilities(model_file, tmp_path):
    import onnxruntime

    model = load_model(model_file)
    result = export_model(model_file, tmp_path / "stars.onnx")
    session = onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    pixels = _test_pixels(model).astype(np.float32)
    got = session.run(None, {session.get_inputs()[0].name: pixels})[0]
    np.testing.assert_allclose(got, np.asarray(model.model(pixels)), atol=1e-4)


def test_int8_is_calibrated_on_training_images_and_agrees_with_float(model_file, tmp_path):
    model = load_model(model_file)
    result = export_model(model_file, tmp_path / "q.tflite", int8=True, calibration=30)
    assert json.loads(result.description.read_text())["quantization"] == "int8"
    assert result.notes[0].startswith("int8 calibrated on 30 training images")
    assert "test accuracy on" in result.notes[1] and "float32" in result.notes[1]
    pixels = _test_pixels(model)
    want = np.asarray(model.model(pixels.astype(np.float32))).argmax(axis=1)
    same = np.mean(_tflite(result.path, pixels).argmax(axis=1) == want)
    assert same >= 0.95


def test_int8_without_the_training_images_says_so(model_file, tmp_path):
    copy = tmp_path / "moved.sortscope"
    shutil.copy(model_file, copy)
    data = model_file.parent / "data"
    hidden = model_file.parent / "hidden"
    data.rename(hidden)
    try:
        with pytest.raises(ExportError, match="no longer at") as caught:
            export_model(copy, tmp_path / "q.tflite", int8=True)
    finally:
        hidden.rename(data)
    assert "without --int8" in caught.value.todo
    assert not (tmp_path / "q.tflite").exists()


def test_format_from_the_name_or_the_option(tmp_path):
    assert format_for(tmp_path / "a.tflite") == "tflite"
    assert format_for(tmp_path / "a.KERAS") == "keras"
    assert format_for(tmp_path / "a.onnx") == "onnx"
    assert format_for(tmp_path / "folder") == "saved_model"
    assert format_for(tmp_path / "a.bin", "tflite") == "tflite"
    with pytest.raises(ExportError, match=r"a\.bin"):
        format_for(tmp_path / "a.bin")
    with pytest.raises(ExportError, match="Only TFLite"):
        export_model(tmp_path / "m.sortscope", tmp_path / "a.onnx", int8=True)


def test_destinations_that_would_lose_something_are_refused(model_file, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    with pytest.raises(ExportError, match="holds other files"):
        export_model(model_file, home)
    assert (home / "thesis.tex").read_text() == "years of work"
    with pytest.raises(ExportError, match="is a folder"):
        export_model(model_file, home, "tflite")
    with pytest.raises(ExportError, match="the model file itself"):
        export_model(model_file, model_file, "keras")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="a SavedModel is a folder"):
        export_model(model_file, tmp_path / "file", "saved_model")


@pytest.mark.slow
def test_the_real_backbone_exports_to_tflite_float_and_int8(
    tmp_path, shared_cache_dir, monkeypatch
):
    monkeypatch.setenv("SORTSCOPE_CACHE_DIR", str(shared_cache_dir))
    scan = scan_dataset(make_dataset(tmp_path / "data", per_class=16))
    outcome = train(scan, TrainConfig(epochs=30, test_percent=25, seed=3))
    path = save_model(outcome.model, tmp_path / "real.sortscope")
    model = load_model(path)
    pixels = _test_pixels(model)
    want = np.asarray(model.model(pixels.astype(np.float32)))
    exported = export_model(path, tmp_path / "float" / "real.tflite")
    np.testing.assert_allclose(_tflite(exported.path, pixels), want, atol=1e-4)
    quantized = export_model(path, tmp_path / "int8" / "real.tflite", int8=True, calibration=40)
    print(*quantized.notes, sep="\n")
    assert "int8" in quantized.notes[1] and "float32" in quantized.notes[1]
    same = np.mean(_tflite(quantized.path, pixels).argmax(axis=1) == want.argmax(axis=1))
    assert same >= 0.95


def test_without_tf2onnx_the_onnx_export_says_what_to_do(model_file, tmp_path, monkeypatch):
    from classifier import exports

    monkeypatch.setattr(exports, "onnx_available", lambda: False)
    with pytest.raises(ExportError, match="tf2onnx") as caught:
        export_model(model_file, tmp_path / "m.onnx")
    assert "sortscope[onnx]" in caught.value.todo and "--saved-model" in caught.value.todo
