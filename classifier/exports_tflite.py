"""The whole classifier as TFLite: float32 (checked against Keras) or int8, calibrated on the
model's own training images and scored on its test split next to the float model.

Runs inside the export child process (classifier/exports.py); the float conversion is the
engine's own (classifier/engine.convert), so backbones and exports convert the same way.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import numpy as np

from classifier.engine import TFLiteEngine
from classifier.engine import convert as convert_float
from classifier.errors import SortscopeError
from classifier.exports import ExportError, _check_close, sample_pixels
from classifier.images import load_for_model
from classifier.int8_engine import convert_int8
from classifier.model_dataset import DatasetGone, recorded_split, spread
from classifier.modelfile import SortscopeModel
from classifier.types import ImageRecord, Split


def convert(model: SortscopeModel, calibration: int | None) -> tuple[bytes, list[str]]:
    """(flatbuffer, notes): float32 when `calibration` is None, else int8 calibrated on that
    many training images."""
    float_content = convert_float(model.model)
    size = model.model.input_shape[1]
    x = sample_pixels(size)
    _check_close(_run(float_content, x), np.asarray(model.model(x)), "TFLite")
    if calibration is None:
        return float_content, []
    return _int8(model, float_content, calibration)


def _run(content: bytes, pixels: np.ndarray) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="sortscope-tflite-") as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(content)
        return TFLiteEngine(path, instances=1).predict(pixels)


def _pixels(model: SortscopeModel, records: list[ImageRecord]) -> tuple[np.ndarray, list[int]]:
    """Model inputs of the readable records and their class indices."""
    size, prep = model.model.input_shape[1], model.preprocessing
    decode = model.info.input.decode
    index = {c: i for i, c in enumerate(model.class_names)}
    images, labels = [], []
    for record in records:
        with contextlib.suppress(SortscopeError):  # the scan read it; it may be gone since
            images.append(load_for_model(record.path, size, prep=prep, decode=decode)[0])
            labels.append(index[record.class_name])
    return np.asarray(images, np.float32).reshape(-1, size, size, 3), labels


def _int8(model: SortscopeModel, float_content: bytes, count: int) -> tuple[bytes, list[str]]:
    try:
        train_records = recorded_split(model, Split.TRAIN)
    except DatasetGone as exc:
        raise ExportError(
            exc.what.replace("trained on", "trained on (needed to calibrate an int8 model)"),
            "Put the dataset back, or export the float model (without --int8).",
        ) from exc
    calibration, _ = _pixels(model, spread(train_records, count))
    if not len(calibration):
        raise ExportError(
            "None of the training images could be read to calibrate the int8 model.",
            "Check the dataset folder, or export the float model (without --int8).",
        )
    content = convert_int8(model.model, calibration)
    notes = [f"int8 calibrated on {len(calibration)} training images (of {len(train_records)})"]
    test, labels = _pixels(model, recorded_split(model, Split.TEST))
    if not len(test):
        return content, [*notes, "no test images to score it on"]
    float_pred = _run(float_content, test).argmax(axis=1)
    int8_pred = _run(content, test).argmax(axis=1)
    truth = np.asarray(labels)
    notes.append(
        f"test accuracy on {len(test)} images: int8 {np.mean(int8_pred == truth):.1%}, "
        f"float32 {np.mean(float_pred == truth):.1%}; same label as float32 on "
        f"{np.mean(int8_pred == float_pred):.1%}"
    )
    return content, notes
