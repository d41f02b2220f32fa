"""Exports for other runtimes: the whole classifier as .keras, TFLite, SavedModel or ONNX.

Every export takes RGB pixels 0..255 (the backbone's own scaling is a layer inside the network)
and gives class probabilities, and is written with `labels.txt` (class names, model order) and
`sortscope.json` (everything needed to prepare the same pixels) beside it; for a SavedModel,
inside its folder. Conversions run in a child process (`python -m classifier.exports`): the
TFLite converter holds Python's GIL for seconds (see classifier/engine.py), which would freeze
the window. Every file appears atomically: the old export or the complete new one.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from classifier import __version__
from classifier.atomic import atomic_write
from classifier.errors import SortscopeError
from classifier.model_info import ModelInfo
from classifier.preprocessing import DECODES

FORMATS = ("keras", "tflite", "saved_model", "onnx")
CALIBRATION_IMAGES = 100  # training images an int8 model is calibrated on
MAX_DIFFERENCE = 1e-4  # largest probability difference a float export may show
DESCRIPTION_NAME = "sortscope.json"
LABELS_NAME = "labels.txt"
_CHILD_FLAG = "SORTSCOPE_EXPORTING"
ONNX_UNAVAILABLE = (
    "ONNX export needs the tf2onnx and onnx packages, which are not installed.",
    'Install them with: pip install "sortscope[onnx]" (tf2onnx 1.17 works with TensorFlow '
    "2.21), or export a SavedModel folder and convert it yourself: python -m tf2onnx.convert "
    "--saved-model FOLDER --output model.onnx",
)


_ELSEWHERE = "Free some disk space or choose a folder you may write to, and export again."


class ExportError(SortscopeError):
    """An export cannot be made as asked."""


@dataclass(frozen=True)
class ExportResult:
    path: Path  # the model file, or the SavedModel folder
    labels: Path
    description: Path
    format: str
    notes: tuple[str, ...] = ()  # e.g. the int8 model's accuracy next to the float one


def format_for(out: Path, requested: str | None = None) -> str:
    """The format asked for, or the one OUT's name implies: .keras, .tflite, .onnx, else a
    folder (SavedModel)."""
    if requested:
        if requested not in FORMATS:
            raise ExportError(
                f"'{requested}' is not an export format.", f"Use one of: {', '.join(FORMATS)}."
            )
        return requested
    suffix = out.suffix.lower()
    by_suffix = {".keras": "keras", ".tflite": "tflite", ".onnx": "onnx"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    if suffix and not out.is_dir():
        raise ExportError(
            f"Sortscope cannot tell the export format from the name {out.name}.",
            "End it in .keras, .tflite or .onnx, give a folder name (SavedModel), or add --format.",
        )
    return "saved_model"


def export_model(
    model_path: str | Path,
    out: str | Path,
    fmt: str | None = None,
    int8: bool = False,
    calibration: int = CALIBRATION_IMAGES,
    on_status: Callable[[str], None] | None = None,
) -> ExportResult:
    """Export the model file at `model_path` to `out`; the conversion runs in a child process."""
    model_path, out = Path(model_path), Path(out)
    fmt = format_for(out, fmt)
    if int8 and fmt != "tflite":
        raise ExportError("Only TFLite models can be int8.", "Export to a .tflite file.")
    if int8 and calibration < 1:
        raise ExportError("An int8 model needs at least one calibration image.", "Use e.g. 100.")
    if fmt == "onnx" and not onnx_available():
        raise ExportError(*ONNX_UNAVAILABLE)
    check_destination(model_path, out, fmt)
    from classifier.modelfile import read_info

    info = read_info(model_path)  # a bad model file fails here, before any work
    (on_status or (lambda _m: None))(f"Converting the model to {fmt}…")
    notes = _run_child(model_path, out, fmt, int8, calibration)
    folder = out if fmt == "saved_model" else out.parent
    labels = folder / LABELS_NAME
    with atomic_write(labels, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(f"{name}\n" for name in info.class_names))
    description = folder / DESCRIPTION_NAME
    with atomic_write(description, "w", encoding="utf-8") as f:
        json.dump(describe(info, out, fmt, int8, model_path), f, indent=2)
    return ExportResult(out, labels, description, fmt, tuple(notes))


def check_destination(model_path: Path, out: Path, fmt: str) -> None:
    """Never over the model itself, a file where a folder goes (or the reverse), or a folder
    holding anything but an earlier SavedModel: exporting replaces what is there whole."""
    if out.exists() and model_path.exists() and os.path.samefile(out, model_path):
        raise ExportError(f"{out} is the model file itself.", "Choose another name.")
    if fmt != "saved_model" and out.is_dir():
        raise ExportError(f"{out} is a folder.", f"Give a file name inside it, e.g. model.{fmt}.")
    if fmt == "saved_model" and out.exists():
        if not out.is_dir():
            raise ExportError(
                f"{out} is a file; a SavedModel is a folder.", "Give a new folder name."
            )
        ours = {"saved_model.pb", "variables", "assets", "fingerprint.pb", LABELS_NAME}
        if set(os.listdir(out)) - ours - {DESCRIPTION_NAME}:
            raise ExportError(
                f"The folder {out} holds other files, which an export would replace.",
                "Give a new folder name: the SavedModel is written as that folder.",
            )


def onnx_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) for name in ("tf2onnx", "onnx"))


def describe(info: ModelInfo, out: Path, fmt: str, int8: bool, source: Path) -> dict:
    """sortscope.json beside an export: how to feed it exactly the pixels Sortscope would."""
    size = info.input.size
    draft = math.ceil(size * DECODES[info.input.decode])  # the model's JPEG draft rule
    return {
        "format": "sortscope-export",
        "version": 1,
        "model": out.name,
        "model_format": fmt,
        "quantization": "int8" if int8 else "float32",
        "class_names": list(info.class_names),
        "labels": LABELS_NAME,
        "input": {
            "shape": [1, size, size, 3],
            "dtype": "float32",
            "pixels": "RGB 0..255, not normalised (the network scales them itself)",
            "size": size,
            "resize": "bilinear",
            "resize_rule": (
                "decode upright (EXIF orientation applied), transparent pixels on white, "
                f"JPEGs with Pillow's draft('RGB', ({draft}, {draft})), then resize the whole "
                f"image (no crop) to {size}x{size} with Pillow's BILINEAR filter and "
                "reducing_gap=3.0"
            ),
            "alpha_background": [255, 255, 255],
            "preprocessing": info.preprocessing.to_json(),
            "stretch_note": "FITS, 16-bit and float images are stretched to 8 bits first, as "
            "'preprocessing' says (classifier/preprocessing.py); 8-bit images are used as "
            "they are",
        },
        "output": "class probabilities (softmax), in the order of labels.txt",
        "backbone": info.backbone.to_json(),
        "source_model": str(source),
        "source_created": info.run.created,
        "exported": datetime.now(UTC).isoformat(timespec="seconds"),
        "app_version": __version__,
    }


# --- the child process ---------------------------------------------------------------------


def _run_child(model_path: Path, out: Path, fmt: str, int8: bool, calibration: int) -> list:
    command = [sys.executable, "-m", "classifier.exports", str(model_path), str(out), fmt]
    command += ["--int8", str(calibration)] if int8 else []
    env = {**os.environ, _CHILD_FLAG: "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ExportError(
            f"The conversion to {fmt} failed ({tail}).",
            "Try another format; if it keeps failing, please report it with this message.",
        ) from None
    if "error" in answer:
        raise ExportError(answer["error"], answer.get("todo", ""))
    return answer["notes"]


def _child(model_path: Path, out: Path, fmt: str, calibration: int | None) -> list[str]:
    from classifier.modelfile import export_keras, load_model

    model = load_model(model_path)
    if fmt == "keras":
        export_keras(model, out)
        return []
    if fmt == "saved_model":
        with _atomic_folder(out) as tmp:
            with contextlib.redirect_stdout(io.StringIO()):
                model.model.export(str(tmp))
            _check_saved_model(model, tmp)
        return []
    if fmt == "onnx":
        content = _onnx(model)
        with atomic_write(out) as f:
            f.write(content)
        return []
    from classifier import exports_tflite

    content, notes = exports_tflite.convert(model, calibration)
    with atomic_write(out) as f:
        f.write(content)
    return notes


@contextlib.contextmanager
def _atomic_folder(path: Path):
    """A temporary folder beside `path` that replaces it on success (the old one removed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield tmp
        old = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.old")
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sample_pixels(size: int, n: int = 2) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, (n, size, size, 3)).astype(np.float32)


def _check_saved_model(model, folder: Path) -> None:
    import tensorflow as tf

    x = sample_pixels(model.model.input_shape[1])
    loaded = tf.saved_model.load(str(folder))
    got = np.asarray(loaded.serve(tf.constant(x)))
    _check_close(got, np.asarray(model.model(x)), "SavedModel")


def _check_close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    difference = float(np.abs(got - want).max())
    if not difference <= MAX_DIFFERENCE:
        raise ExportError(
            f"The {what} export gives other probabilities than Sortscope (by {difference:.2g}).",
            "Export another format; please report this.",
        )


def _onnx(model) -> bytes:
    """tf2onnx's conversion of the model's SavedModel, checked with onnxruntime if installed."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="sortscope-onnx-") as tmp:
        saved, onnx_file = Path(tmp) / "saved_model", Path(tmp) / "model.onnx"
        with contextlib.redirect_stdout(io.StringIO()):
            model.model.export(str(saved))
        command = [sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(saved)]
        command += ["--output", str(onnx_file), "--opset", "17"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not onnx_file.is_file():
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ExportError(f"tf2onnx could not convert the model ({tail}).", ONNX_UNAVAILABLE[1])
        content = onnx_file.read_bytes()
    with contextlib.suppress(ImportError):
        import onnxruntime

        session = onnxruntime.InferenceSession(content, providers=["CPUExecutionProvider"])
        x = sample_pixels(model.model.input_shape[1])
        got = session.run(None, {session.get_inputs()[0].name: x})[0]
        _check_close(got, np.asarray(model.model(x)), "ONNX")
    return content


def _child_main(argv: list[str]) -> int:
    model_path, out, fmt = Path(argv[0]), Path(argv[1]), argv[2]
    calibration = int(argv[4]) if len(argv) > 4 and argv[3] == "--int8" else None
    try:
        notes = _child(model_path, out, fmt, calibration)
        print(json.dumps({"notes": notes}))
        return 0
    except SortscopeError as exc:
        print(json.dumps({"error": exc.what, "todo": exc.todo}))
        return 1
    except OSError as exc:  # a full disk, a read-only folder
        reason = exc.strerror or str(exc)
        print(json.dumps({"error": f"{out} could not be written ({reason}).", "todo": _ELSEWHERE}))
        return 1


if __name__ == "__main__":
    from classifier import exports  # the module proper, not this __main__ copy of it
    from classifier.tf_runtime import keras

    keras()  # imported once, quietly, before the model loads
    sys.exit(exports._child_main(sys.argv[1:]))
