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
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from classifier import __version__, paths
from classifier.atomic import atomic_write
from classifier.checked_json import Invalid, Node
from classifier.model_info import RunSummary
from classifier.types import Evaluation, ScoredImage, TrainConfig

FORMAT = "sortscope-run"
SCHEMA_VERSION = 1
FOLDER = "runs"
# Test images kept per run so confusion-matrix cells still click through to them; beyond this
# only the mistakes are kept (a 100 000-image test split would make a 10 MB file otherwise).
MAX_SCORED_IMAGES = 5000


@dataclass(frozen=True)
class RunRecord:
    """One finished training run as the history keeps it: the run's description (the same
    RunSummary its model file holds: options, dataset summary, curves, test scores), the scored
    test images, and the model file it was saved as."""

    id: str
    run: RunSummary
    saved: Path | None = None  # the model file, once the model was saved
    app_version: str = __version__
    all_test_images: bool = True  # False: only the mistakes among the scored images were kept

    @property
    def file_name(self) -> str:
        return f"run-{self.id}.json"

    @property
    def config(self) -> TrainConfig:
        return self.run.config

    @property
    def evaluation(self) -> Evaluation:
        return self.run.test_metrics

    @property
    def dataset(self) -> Path | None:
        return Path(self.run.dataset.root) if self.run.dataset else None

    @property
    def created(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.run.created)
        except ValueError:
            return None


@dataclass(frozen=True)
class History:
    """The runs read from the history folder, newest first, and the files that were skipped."""

    runs: tuple[RunRecord, ...]
    notes: tuple[str, ...] = field(default=())  # one sentence per skipped file


def history_dir() -> Path:
    return paths.data_dir() / FOLDER


def new_record(outcome, saved: Path | None = None, now: datetime | None = None) -> RunRecord:
    """The record of a finished run (`outcome` is train()'s TrainOutcome)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    # The model's description, with the test images the in-memory evaluation still has.
    run = dataclasses.replace(
        outcome.model.info.run, test_metrics=outcome.evaluation, created=now.isoformat()
    )
    return RunRecord(
        id=f"{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}",
        run=run,
        saved=Path(saved).absolute() if saved else None,
    )


def remember(outcome, saved: Path | None = None) -> tuple[RunRecord, str]:
    """Record a finished run in the history; a history that cannot be written only warns
    (the run itself succeeded), so the second value is "" or a sentence saying why."""
    record = new_record(outcome, saved)
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
            runs.append(from_json(json.loads(path.read_text(encoding="utf-8"))))
        except NewerFormat as exc:
            notes.append(f"{path.name} was written by a newer Sortscope ({exc}); skipped.")
        except (OSError, ValueError, RecursionError) as exc:  # Invalid is a ValueError
            notes.append(f"{path.name} is damaged and was skipped ({exc}).")
    runs.sort(key=lambda r: (r.run.created, r.id), reverse=True)
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
    images = record.evaluation.images
    kept_all = len(images) <= MAX_SCORED_IMAGES
    if not kept_all:
        wrong = [i for i in images if i.true_label != i.predicted_label]
        images = tuple(sorted(wrong, key=_most_confident)[:MAX_SCORED_IMAGES])
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "app_version": record.app_version,
        "id": record.id,
        "run": record.run.to_json(),  # the keys of a model file's sortscope.json
        "test_images": [
            [os.fspath(i.path), i.true_label, i.predicted_label, i.confidence] for i in images
        ],
        "all_test_images": kept_all and record.all_test_images,
        "model_file": os.fspath(record.saved) if record.saved else None,
    }


def from_json(data: object) -> RunRecord:
    """Check and read a parsed run file (raises Invalid saying where, or NewerFormat)."""
    from classifier.model_info_json import parse_run_summary

    root = Node(data, "")
    if root.get("format").text(64) != FORMAT:
        raise Invalid("not a Sortscope run record")
    version = root.get("schema_version").integer(1, 10**6)
    if version > SCHEMA_VERSION:
        raise NewerFormat(f"schema version {version}; this one reads up to {SCHEMA_VERSION}")
    run = parse_run_summary(root.get("run"))
    if run.test_metrics is None:
        raise Invalid("run.test_metrics is missing")
    classes = run.test_metrics.classes
    images = tuple(
        ScoredImage(
            Path(entry[0].text(plain=False)),
            entry[1].choice(classes),
            entry[2].choice(classes),
            entry[3].number(0, 1),
        )
        for entry in (item.items(4) for item in root.get("test_images", []).items())
    )
    wrong = sorted((i for i in images if i.true_label != i.predicted_label), key=_most_confident)
    model = root.optional("model_file")
    return RunRecord(
        id=root.get("id").text(64, pattern=r"[0-9A-Za-z_-]+"),
        run=dataclasses.replace(
            run,
            test_metrics=dataclasses.replace(
                run.test_metrics, images=images, misclassified=tuple(wrong)
            ),
        ),
        saved=Path(model.text(plain=False)) if model else None,
        app_version=root.get("app_version", "").text(64),
        all_test_images=root.get("all_test_images", True).boolean(),
    )


def _most_confident(image: ScoredImage) -> float:
    return -image.confidence


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
    ha, hb = a.run.history, b.run.history

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
        Difference("Epochs run", str(len(ha)), str(len(hb)), _count(len(ha), len(hb))),
    ]
    for name in dict.fromkeys([*ea.classes, *eb.classes]):
        fa, fb = ea.per_class.get(name), eb.per_class.get(name)
        rows.append(score(f"F1 of {name}", fa and fa.f1, fb and fb.f1))
    options_a, options_b = asdict(a.config), asdict(b.config)
    for key, value in options_a.items():
        if options_b.get(key) != value:
            what = f"Option: {key.replace('_', ' ')}"
            rows.append(Difference(what, str(value), str(options_b.get(key)), "changed"))
    if a.dataset != b.dataset:
        rows.append(Difference("Dataset", str(a.dataset), str(b.dataset), "different folder"))
    return rows


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _count(a: int, b: int) -> str:
    return "same" if a == b else f"{b - a:+d}"
