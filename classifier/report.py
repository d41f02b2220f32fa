"""Reports people can file: a model's training and test (`sortscope report`), and a batch of
classified images (`classify --report`), each one self-contained HTML file (report_html.py).

The numbers come from the model file (what `sortscope info` prints) and the results rows (what
the CSV holds); only the misclassified test images' thumbnails are read again from the dataset
folder the model records, and the report says so when they are gone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import numpy as np

from classifier import report_html as h
from classifier import svg
from classifier.atomic import atomic_write
from classifier.errors import SortscopeError
from classifier.evaluate import (
    accuracy_interval,
    evaluate_predictions,
    reliability_warning,
    verdict,
)
from classifier.export import check_destination
from classifier.model_info import model_title
from classifier.modelfile import SortscopeModel, load_model
from classifier.names import UNCERTAIN, UNFAMILIAR
from classifier.progress import ProgressCallback
from classifier.scan import SMALL_CLASS_IMAGES
from classifier.types import Evaluation, Prediction, Split

MAX_THUMBNAILS = 24
HISTOGRAM_BINS = 20


def write_report(html: str, out: str | Path, protected: Sequence[str | Path] = ()) -> Path:
    out = Path(out)
    check_destination(out, protected)
    with atomic_write(out, "w", encoding="utf-8") as f:
        f.write(html)
    return out


# --- the model report ----------------------------------------------------------------------


def model_report(
    model_path: str | Path, out: str | Path, progress: ProgressCallback | None = None
) -> Path:
    """Write the report of the model file at `model_path` to `out` (HTML)."""
    model = load_model(model_path, lazy=True)
    html = model_report_html(model, Path(model_path).name, progress)
    return write_report(html, out, [model_path])


def model_report_html(
    model: SortscopeModel, title: str, progress: ProgressCallback | None = None
) -> str:
    info, run = model.info, model.info.run
    sections = [
        h.section("Held-out score", *_score(run.test_metrics)),
        h.section("What it was trained on", *_dataset(model)),
        h.section("Training", *_curves(run)),
    ]
    if run.test_metrics and run.test_metrics.n_images:
        sections.append(h.section("Per class (test images)", _per_class(run.test_metrics)))
        sections.append(h.section("Confusion matrix (test images)", _confusion(run.test_metrics)))
        sections.append(h.section("Misclassified test images", *_mistakes(model, progress)))
    sections.append(h.section("Every option", *_options(model)))
    subtitle = f"{model_title(info)} · {len(info.class_names)} classes · trained {run.created}"
    return h.page(f"Model report: {title}", subtitle, sections)


def _score(evaluation: Evaluation | None) -> list[str]:
    if evaluation is None or not evaluation.n_images:
        return [h.paragraph("Not tested: no image was held out for the test.", "warn")]
    n = evaluation.n_images
    interval = accuracy_interval(evaluation)
    low, high = interval.low, interval.high
    warning = reliability_warning(evaluation)
    return [
        h.paragraph(f"Test accuracy {evaluation.accuracy:.1%} on {n} held-out images", "score"),
        h.paragraph(
            f"{interval.level:.0%} interval {low:.1%} – {high:.1%} (Wilson): with {n} test "
            "images, the true accuracy on images like these lies in this range. Balanced "
            f"accuracy {evaluation.balanced_accuracy:.1%}."
        ),
        h.paragraph(
            f"Baseline: always answering '{evaluation.baseline_class}' (the largest class in "
            f"training) scores {evaluation.baseline_accuracy:.1%}; the model is "
            f"{verdict(evaluation)} that."
        ),
        *([h.paragraph(warning, "warn")] if warning else []),
    ]


def _dataset(model: SortscopeModel) -> list[str]:
    dataset = model.info.run.dataset
    if dataset is None:
        return [h.paragraph("The model file records no dataset.", "note")]
    rows = []
    for name in model.class_names:
        split = dataset.splits.get(name, {})
        rows.append(
            [
                name,
                dataset.classes.get(name, 0),
                *(split.get(s.value, 0) for s in (Split.TRAIN, Split.VALIDATION, Split.TEST)),
            ]
        )
    parts = [
        h.key_values(
            [
                ("Folder", dataset.root),
                ("Images used", dataset.images_used),
                ("Images skipped (unreadable)", dataset.images_skipped),
                ("FITS / 16-bit images (stretched)", dataset.high_range_images),
                ("Training rows per epoch", dataset.training_rows or dataset.images_used),
            ]
        ),
        h.table(["class", "images found", "train", "validation", "test"], rows),
    ]
    problems = [
        f"The class '{name}' has only {count} images; results are unreliable below "
        f"{SMALL_CLASS_IMAGES}."
        for name, count in dataset.classes.items()
        if count < SMALL_CLASS_IMAGES
    ]
    if dataset.images_skipped:
        problems.append(f"{dataset.images_skipped} image(s) could not be read and were skipped.")
    counts = [c for c in dataset.classes.values() if c]
    if counts and max(counts) >= 3 * min(counts):
        problems.append(
            f"The classes are unbalanced: {min(counts)} to {max(counts)} images per class."
        )
    parts += [h.paragraph(p, "warn") for p in problems] or [
        h.paragraph("No problems were found in the dataset.", "note")
    ]
    return parts


def _curves(run) -> list[str]:
    history = run.history
    if not history:
        return [h.paragraph("No training history is recorded.", "note")]
    loss = svg.line_chart(
        "Loss",
        {"training": [e.loss for e in history], "validation": [e.val_loss for e in history]},
    )
    accuracy = svg.line_chart(
        "Accuracy",
        {
            "training": [e.accuracy for e in history],
            "validation": [e.val_accuracy for e in history],
        },
        y_format=".0%",
    )
    stopped = "stopped early" if run.stopped_early else "ran every epoch"
    return [
        h.charts(loss, accuracy),
        h.paragraph(
            f"{len(history)} epochs, {stopped}; the weights of epoch {run.best_epoch} were kept "
            f"({sum(e.seconds for e in history):.1f} s of training)."
        ),
    ]


def _per_class(evaluation: Evaluation) -> str:
    rows = [
        [name, f"{m.precision:.3f}", f"{m.recall:.3f}", f"{m.f1:.3f}", m.support]
        for name, m in evaluation.per_class.items()
    ]
    return h.table(["class", "precision", "recall", "f1", "support"], rows)


def _confusion(evaluation: Evaluation) -> str:
    classes = evaluation.classes
    largest = max((v for row in evaluation.confusion_matrix for v in row), default=0) or 1
    head = "".join(f"<th>{h.esc(c)}</th>" for c in classes)
    body = []
    for name, row in zip(classes, evaluation.confusion_matrix, strict=True):
        cells = []
        for j, value in enumerate(row):
            colour = "46,158,79" if classes[j] == name else "192,57,43"
            alpha = 0.08 + 0.6 * value / largest if value else 0
            cells.append(
                f'<td class="n" style="background: rgba({colour},{alpha:.2f})">{value}</td>'
            )
        body.append(f"<tr><th>{h.esc(name)}</th>{''.join(cells)}</tr>")
    return (
        '<p class="note">Rows: the true class; columns: the class the model answered.</p>'
        f'<table class="cm"><thead><tr><th>true \\ predicted</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _mistakes(model: SortscopeModel, progress: ProgressCallback | None) -> list[str]:
    """Thumbnails of the test images the model gets wrong now, read from the dataset folder."""
    from classifier.images import load_thumbnail
    from classifier.model_dataset import DatasetGone, dataset_root, recorded_split
    from classifier.predict import classify_files

    try:
        records = recorded_split(model, Split.TEST, progress)
    except DatasetGone as exc:
        return [h.paragraph(f"{exc.what} The thumbnails cannot be shown.", "warn")]
    if not records:
        return [h.paragraph("The dataset folder holds no test images now.", "note")]
    result = classify_files([r.path for r in records], dataset_root(model), model)
    scored = [(r, row) for r, row in zip(records, result.rows, strict=True) if not row.error]
    index = {c: i for i, c in enumerate(model.class_names)}
    truth = np.array([index[r.class_name] for r, _ in scored], dtype=int)
    probabilities = np.array([row.probabilities for _, row in scored]).reshape(len(scored), -1)
    evaluation = evaluate_predictions(
        truth, probabilities, model.class_names, [r.path for r, _ in scored], 0
    )
    wrong = evaluation.misclassified
    if not wrong:
        return [h.paragraph(f"None: all {len(scored)} test images are classified right.", "note")]
    figures = []
    for item in wrong[:MAX_THUMBNAILS]:
        try:
            image = load_thumbnail(item.path, 150, prep=model.preprocessing)
        except SortscopeError:
            continue
        caption = [
            item.path.name,
            f"true: {item.true_label}",
            f"answered: {item.predicted_label} ({item.confidence:.0%})",
        ]
        figures.append(h.figure(image, caption))
    more = len(wrong) - len(figures)
    return [
        h.paragraph(
            f"{len(wrong)} of {len(scored)} test images in {dataset_root(model)} are "
            "misclassified, most confident mistakes first."
            + (f" {more} not shown." if more > 0 else "")
        ),
        h.thumbnails(figures),
    ]


def _options(model: SortscopeModel) -> list[str]:
    info = model.info
    pairs = [
        ("Model", model_title(info)),
        ("Backbone", f"{info.backbone.name} v{info.backbone.version}"),
        ("Input", f"{info.input.size}x{info.input.size} {info.input.pixels}, {info.input.resize}"),
        ("Stretch (FITS, 16-bit)", info.preprocessing.summary()),
        ("Sortscope version", info.app_version),
    ]
    options = [(k, v) for k, v in asdict(info.run.config).items()]
    return [h.key_values(pairs), h.table(["option", "value"], options)]


# --- the batch summary ---------------------------------------------------------------------


def batch_details(
    folder: Path | None,
    model_path: Path | None,
    rows: Sequence[Prediction],
    threshold: float,
    stats=None,
    csv: str | Path | None = None,
    recursive: bool = False,
) -> list[tuple[str, object]]:
    """The run's details for `classify_report`, from the command line or the window."""
    from classifier.filenames import escape

    where = escape(str(folder)) if folder else "not recorded"
    details = [
        ("Folder", where + (" (with sub-folders)" if recursive else "")),
        ("Model file", escape(str(model_path)) if model_path else "not saved"),
    ]
    if csv is not None:
        details.append(("Results CSV", "standard output" if str(csv) == "-" else escape(str(csv))))
    details += [
        ("Images", len(rows)),
        ("Could not be read", sum(1 for r in rows if r.error)),
        ("Confidence threshold", f"{threshold:g}"),
    ]
    if stats is not None:
        details.append(("Time", stats.breakdown()))
        details.append(("Inference engine", stats.engine or "none needed (all images cached)"))
    return details


def classify_report(
    model: SortscopeModel,
    rows: Sequence[Prediction],
    out: str | Path,
    details: Sequence[tuple[str, object]],
    protected: Sequence[str | Path] = (),
) -> Path:
    """Write the summary of a classified batch: counts, confidences, the run, the model."""
    html = classify_report_html(model, rows, details)
    inputs = [r.path for r in rows if r.path is not None]
    return write_report(html, out, [*protected, *inputs])


def classify_report_html(
    model: SortscopeModel, rows: Sequence[Prediction], details: Sequence[tuple[str, object]]
) -> str:
    good = [r for r in rows if not r.error]
    counts = Counter(r.label for r in good)
    labels = [*model.class_names, *(x for x in (UNCERTAIN, UNFAMILIAR) if counts.get(x))]
    total = len(rows)
    table_rows = [
        [label, counts.get(label, 0), _share(counts.get(label, 0), total)] for label in labels
    ]
    errors = total - len(good)
    if errors:
        table_rows.append(["(could not be read)", errors, _share(errors, total)])
    confidences = [r.confidence for r in good if r.confidence is not None]
    histogram, _ = np.histogram(confidences, bins=HISTOGRAM_BINS, range=(0.0, 1.0))
    bins = [f"{i / HISTOGRAM_BINS:.2f}" for i in range(HISTOGRAM_BINS)]
    shares = [
        h.paragraph(
            f"Uncertain (below the threshold): {counts.get(UNCERTAIN, 0)} of {total} "
            f"({_share(counts.get(UNCERTAIN, 0), total)})."
        )
    ]
    if counts.get(UNFAMILIAR):
        shares.append(
            h.paragraph(
                f"Unfamiliar (unlike the training images): {counts[UNFAMILIAR]} of {total} "
                f"({_share(counts[UNFAMILIAR], total)})."
            )
        )
    if confidences:
        shares.append(h.paragraph(f"Median confidence {np.median(confidences):.1%}."))
    sections = [
        h.section(
            "Counts per label",
            h.table(["label", "images", "share"], table_rows),
            h.charts(
                svg.bar_chart("Images per label", labels, [counts.get(x, 0) for x in labels]),
                svg.bar_chart(
                    "Confidence of the answer",
                    bins,
                    [int(v) for v in histogram],
                    x_title="confidence (lower edge of each bin)",
                ),
            ),
            *shares,
        ),
        h.section("The run", h.key_values(details)),
        h.section("The model", *_model_card(model)),
    ]
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    return h.page("Classification summary", f"{total} images · written {stamp}", sections)


def _share(n: int, total: int) -> str:
    return f"{n / total:.1%}" if total else "–"


def _model_card(model: SortscopeModel) -> list[str]:
    info, run = model.info, model.info.run
    pairs = [
        ("Model", model_title(info)),
        ("Classes", ", ".join(info.class_names)),
        ("Input", f"{info.input.size}x{info.input.size}, {info.input.resize}"),
        ("Stretch (FITS, 16-bit)", info.preprocessing.summary()),
        ("Trained", run.created),
        ("Trained on", run.dataset.root if run.dataset else "not recorded"),
    ]
    evaluation = run.test_metrics
    if evaluation and evaluation.n_images:
        pairs.append(
            (
                "Test accuracy",
                f"{evaluation.accuracy:.1%} on {evaluation.n_images} held-out images "
                f"(always '{evaluation.baseline_class}': {evaluation.baseline_accuracy:.1%})",
            )
        )
    return [h.key_values(pairs)]
