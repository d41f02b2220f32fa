"""Run history: every finished training run, kept in the user data folder as a small JSON file.

`<data dir>/runs/run-<id>.json` holds what the run was told (the options), what it trained on
(dataset folder, images per class), how it went (the per-epoch curves), how it scored (test
metrics, confusion matrix, the scored test images) and the model file it was saved as, if any.
The model itself is not kept: a run whose model was never saved can be looked at and compared,
and trained again with the same options, but not used to classify.

Files are written atomically with a schema version. Reading skips, with a note, a file that is
damaged or written by a newer Sortscope: one bad file never hides the others. Qt-free.
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from classifier import __version__, paths
from classifier.atomic import atomic_write
from classifier.types import ClassMetrics, EpochStats, Evaluation, ScoredImage, TrainConfig

FORMAT = "sortscope-run"
SCHEMA_VERSION = 1
FOLDER = "runs"
# Test images kept per run so confusion-matrix cells still click through to them; beyond this
# only the mistakes are kept (a 100 000-image test split would make a 10 MB file otherwise).
MAX_SCORED_IMAGES = 5000


@dataclass(frozen=True)
class RunRecord:
    """One finished training run, as the history keeps it."""

    id: str
    created: datetime  # when the run finished (UTC)
    config: TrainConfig
    dataset: Path  # the dataset folder it trained on
    classes: dict[str, int]  # images per class in that folder
    images_used: int
    images_skipped: int  # files that could not be read
    history: tuple[EpochStats, ...]
    best_epoch: int
    stopped_early: bool
    evaluation: Evaluation
    saved: Path | None = None  # the model file, once the model was saved
    app_version: str = __version__
    all_test_images: bool = True  # False: only the mistakes among the scored images were kept

    @property
    def file_name(self) -> str:
        return f"run-{self.id}.json"


@dataclass(frozen=True)
class History:
    """The runs read from the history folder, newest first, and the files that were skipped."""

    runs: tuple[RunRecord, ...]
    notes: tuple[str, ...] = field(default=())  # one sentence per skipped file


def history_dir() -> Path:
    return paths.data_dir() / FOLDER


def new_record(
    scan, config: TrainConfig, outcome, saved: Path | None = None, now: datetime | None = None
) -> RunRecord:
    """The record of a finished run (`outcome` is train()'s TrainOutcome)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    counts = scan.counts()
    used = (outcome.model.metadata.get("dataset") or {}).get("images_used")
    return RunRecord(
        id=f"{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}",
        created=now,
        config=config,
        dataset=Path(scan.root).absolute(),
        classes=counts,
        images_used=used if used is not None else sum(counts.values()) - len(outcome.problems),
        images_skipped=len(outcome.problems),
        history=tuple(outcome.history),
        best_epoch=outcome.best_epoch,
        stopped_early=outcome.stopped_early,
        evaluation=outcome.evaluation,
        saved=Path(saved).absolute() if saved else None,
    )


def remember(
    scan, config: TrainConfig, outcome, saved: Path | None = None
) -> tuple[RunRecord, str]:
    """Record a finished run in the history; a history that cannot be written only warns
    (the run itself succeeded), so the second value is "" or a sentence saying why."""
    record = new_record(scan, config, outcome, saved)
    try:
        save(record)
    except OSError as exc:
        return record, f"The run could not be added to the run history ({exc})."
    return record, ""


# --- files ------------------------------------------------------------------------------------


def save(record: RunRecord, folder: Path | None = None) -> Path:
    """Write (or rewrite) the record's file atomically; returns its path."""
    path = (folder or history_dir()) / record.file_name
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump(to_json(record), f, indent=1)
    return path


def load(folder: Path | None = None) -> History:
    """Every readable run, newest first; damaged or too-new files are skipped with a note."""
    folder = folder or history_dir()
    runs, notes = [], []
    try:
        files = sorted(folder.glob("run-*.json"))
    except OSError as exc:
        return History((), (f"The run history in {folder} could not be read ({exc}).",))
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            runs.append(from_json(data))
        except NewerFormat as exc:
            notes.append(f"{path.name} was written by a newer Sortscope ({exc}); skipped.")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            notes.append(f"{path.name} is damaged and was skipped ({type(exc).__name__}: {exc}).")
    runs.sort(key=lambda r: (r.created, r.id), reverse=True)
    return History(tuple(runs), tuple(notes))


def delete(record: RunRecord, folder: Path | None = None) -> None:
    """Forget a run (its model file, if saved, is left alone)."""
    path = (folder or history_dir()) / record.file_name
    path.unlink(missing_ok=True)


def mark_saved(record: RunRecord, model: Path, folder: Path | None = None) -> RunRecord:
    """The record with its model file linked, written back."""
    updated = dataclasses.replace(record, saved=Path(model).absolute())
    save(updated, folder)
    return updated


def saved_model(record: RunRecord) -> Path | None:
    """The run's model file, when it was saved and still exists there."""
    return record.saved if record.saved is not None and record.saved.is_file() else None


# --- JSON -------------------------------------------------------------------------------------


class NewerFormat(ValueError):
    pass


def to_json(record: RunRecord) -> dict:
    ev = record.evaluation
    images = ev.images
    kept_all = len(images) <= MAX_SCORED_IMAGES
    if not kept_all:
        wrong = [i for i in images if i.true_label != i.predicted_label]
        images = tuple(sorted(wrong, key=lambda i: -i.confidence)[:MAX_SCORED_IMAGES])
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "app_version": record.app_version,
        "id": record.id,
        "created": record.created.isoformat(timespec="seconds"),
        "options": asdict(record.config),
        "dataset": {
            "root": os.fspath(record.dataset),
            "classes": record.classes,
            "images_used": record.images_used,
            "images_skipped": record.images_skipped,
        },
        "history": [asdict(e) for e in record.history],
        "best_epoch": record.best_epoch,
        "stopped_early": record.stopped_early,
        "test_metrics": {
            **ev.to_json(),
            "all_test_images": kept_all and record.all_test_images,
            "images": [
                [os.fspath(i.path), i.true_label, i.predicted_label, i.confidence] for i in images
            ],
        },
        "model_file": os.fspath(record.saved) if record.saved else None,
    }


def from_json(data: Mapping) -> RunRecord:
    if data.get("format") != FORMAT:
        raise ValueError("not a Sortscope run record")
    version = data.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise NewerFormat(f"schema version {version}; this one reads up to {SCHEMA_VERSION}")
    dataset, metrics = data["dataset"], data["test_metrics"]
    return RunRecord(
        id=str(data["id"]),
        created=datetime.fromisoformat(data["created"]),
        config=_known_fields(TrainConfig, data["options"]),
        dataset=Path(dataset["root"]),
        classes={str(k): int(v) for k, v in dataset["classes"].items()},
        images_used=int(dataset["images_used"]),
        images_skipped=int(dataset["images_skipped"]),
        history=tuple(_known_fields(EpochStats, e) for e in data["history"]),
        best_epoch=int(data["best_epoch"]),
        stopped_early=bool(data["stopped_early"]),
        evaluation=_evaluation(metrics),
        saved=Path(data["model_file"]) if data.get("model_file") else None,
        app_version=str(data.get("app_version", "")),
        all_test_images=bool(metrics.get("all_test_images", True)),
    )


def _known_fields(cls, values: Mapping):
    """`cls(**values)` without keys this version does not know (files from other versions)."""
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in known})


def _evaluation(m: Mapping) -> Evaluation:
    images = tuple(
        ScoredImage(Path(path), str(true), str(predicted), float(confidence))
        for path, true, predicted, confidence in m.get("images", [])
    )
    wrong = [i for i in images if i.true_label != i.predicted_label]
    return Evaluation(
        classes=tuple(m["classes"]),
        n_images=int(m["n_images"]),
        accuracy=float(m["accuracy"]),
        balanced_accuracy=float(m["balanced_accuracy"]),
        per_class={name: _known_fields(ClassMetrics, v) for name, v in m["per_class"].items()},
        confusion_matrix=tuple(tuple(int(c) for c in row) for row in m["confusion_matrix"]),
        misclassified=tuple(sorted(wrong, key=lambda i: -i.confidence)),
        baseline_accuracy=float(m["baseline_accuracy"]),
        baseline_class=str(m["baseline_class"]),
        images=images,
    )


# --- comparing two runs -----------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One line of a comparison: what, run A's value, run B's, and B against A in words."""

    what: str
    a: str
    b: str
    change: str


def _points(a: float, b: float) -> str:
    delta = 100 * (b - a)
    return "same" if abs(delta) < 0.05 else f"{delta:+.1f} points"


def compare(a: RunRecord, b: RunRecord) -> list[Difference]:
    """Scores, then per-class F1, then the options that differ: B measured against A."""
    ea, eb = a.evaluation, b.evaluation

    def score(what: str, x: float | None, y: float | None) -> Difference:
        if x is None or y is None:
            return Difference(what, _percent(x), _percent(y), "-")
        return Difference(what, _percent(x), _percent(y), _points(x, y))

    rows = [
        score("Test accuracy", ea.accuracy, eb.accuracy),
        score("Balanced accuracy", ea.balanced_accuracy, eb.balanced_accuracy),
        score("Baseline (always the largest class)", ea.baseline_accuracy, eb.baseline_accuracy),
        Difference(
            "Test images", str(ea.n_images), str(eb.n_images), _count(ea.n_images, eb.n_images)
        ),
        Difference(
            "Epochs run",
            str(len(a.history)),
            str(len(b.history)),
            _count(len(a.history), len(b.history)),
        ),
    ]
    for name in dict.fromkeys([*ea.classes, *eb.classes]):
        fa, fb = ea.per_class.get(name), eb.per_class.get(name)
        rows.append(score(f"F1 of {name}", fa and fa.f1, fb and fb.f1))
    options_a, options_b = asdict(a.config), asdict(b.config)
    for key, value in options_a.items():
        if options_b.get(key) != value:
            rows.append(Difference(f"Option {key}", str(value), str(options_b.get(key)), "changed"))
    if a.dataset != b.dataset:
        rows.append(Difference("Dataset", str(a.dataset), str(b.dataset), "different folder"))
    return rows


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _count(a: int, b: int) -> str:
    return "same" if a == b else f"{b - a:+d}"
