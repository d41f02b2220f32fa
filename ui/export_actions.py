"""Export…, Save report… and Save summary…: the file dialogs here, the work in the TaskRunner
(and the conversion itself in a child process, classifier/exports.py), so the window never
waits. The Train area and the Classify area's model card call the `ask_` functions."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from classifier.modelfile import SortscopeModel, save_model
from ui.errors import show_error
from ui.tasks import Task, TaskRunner

# The file dialog's choices: filter -> (format, int8, suffix)
EXPORT_CHOICES = {
    "TensorFlow Lite, float32 (*.tflite)": ("tflite", False, ".tflite"),
    "TensorFlow Lite, int8 — calibrated on the training images (*.tflite)": (
        "tflite",
        True,
        ".tflite",
    ),
    "Keras (*.keras)": ("keras", False, ".keras"),
    "SavedModel folder, for TF Serving and TF.js (*)": ("saved_model", False, ""),
    "ONNX (*.onnx)": ("onnx", False, ".onnx"),
}
Status = Callable[[str], None]


def start_export(
    runner: TaskRunner,
    model: SortscopeModel,
    model_path: Path | None,
    out: Path,
    fmt: str,
    int8: bool,
    finished: Callable,
    failed: Callable | None = None,
) -> Task:
    """Export in the background; a model not saved yet goes through a temporary file."""
    from classifier.exports import export_model

    def job(ctx):
        if model_path is not None:
            return export_model(model_path, out, fmt, int8=int8)
        with tempfile.TemporaryDirectory(prefix="sortscope-export-") as tmp:
            saved = save_model(model, Path(tmp) / "model.sortscope")
            return export_model(saved, out, fmt, int8=int8)

    return runner.start("export-model", job, finished=finished, failed=failed)


def start_model_report(
    runner: TaskRunner,
    model: SortscopeModel,
    title: str,
    out: Path,
    finished: Callable,
    failed: Callable | None = None,
    protected: Sequence[Path] = (),
) -> Task:
    from classifier.report import model_report_html, write_report

    def job(ctx):
        return write_report(model_report_html(model, title, ctx.progress), out, protected)

    return runner.start("model-report", job, finished=finished, failed=failed)


def start_batch_summary(
    runner: TaskRunner,
    model: SortscopeModel,
    rows: Sequence,
    details: Sequence[tuple[str, object]],
    out: Path,
    finished: Callable,
    failed: Callable | None = None,
    protected: Sequence[Path] = (),
) -> Task:
    from classifier.report import classify_report

    def job(ctx):
        return classify_report(model, rows, out, details, protected)

    return runner.start("batch-summary", job, finished=finished, failed=failed)


def ask_export(
    parent: QWidget,
    runner: TaskRunner,
    model: SortscopeModel,
    model_path: Path | None,
    start_folder: Path,
    status: Status,
) -> None:
    stem = model_path.stem if model_path else "model"
    out, chosen = QFileDialog.getSaveFileName(
        parent, "Export model", str(start_folder / stem), ";;".join(EXPORT_CHOICES)
    )
    if not out:
        return
    fmt, int8, suffix = EXPORT_CHOICES.get(chosen, ("tflite", False, ".tflite"))
    out_path = Path(out)
    if suffix and out_path.suffix.lower() != suffix:
        out_path = out_path.with_name(out_path.name + suffix)
    status(f"Exporting the model to {out_path.name}…")

    def done(result) -> None:
        notes = "; ".join(result.notes)
        status(f"Exported to {result.path} with labels.txt and sortscope.json. {notes}".strip())

    start_export(
        runner, model, model_path, out_path, fmt, int8, done, lambda i: show_error(parent, i)
    )


def _ask_html(parent: QWidget, title: str, suggested: Path) -> Path | None:
    out, _ = QFileDialog.getSaveFileName(parent, title, str(suggested), "HTML (*.html)")
    if not out:
        return None
    path = Path(out)
    return path if path.suffix.lower() in (".html", ".htm") else path.with_suffix(".html")


def ask_model_report(
    parent: QWidget,
    runner: TaskRunner,
    model: SortscopeModel,
    model_path: Path | None,
    start_folder: Path,
    status: Status,
) -> None:
    stem = model_path.stem if model_path else "model"
    out = _ask_html(parent, "Save report", start_folder / f"{stem}-report.html")
    if out is None:
        return
    status(f"Writing the report {out.name}…")
    protected = [model_path] if model_path else []
    start_model_report(
        runner,
        model,
        model_path.name if model_path else "unsaved model",
        out,
        lambda path: status(f"Report saved to {path}"),
        lambda i: show_error(parent, i),
        protected,
    )


def ask_batch_summary(
    parent: QWidget,
    runner: TaskRunner,
    model: SortscopeModel,
    rows: Sequence,
    details: Sequence[tuple[str, object]],
    suggested: Path,
    status: Status,
    protected: Sequence[Path] = (),
) -> None:
    out = _ask_html(parent, "Save summary", suggested)
    if out is None:
        return
    start_batch_summary(
        runner,
        model,
        rows,
        details,
        out,
        lambda path: status(f"Summary saved to {path}"),
        lambda i: show_error(parent, i),
        protected,
    )
