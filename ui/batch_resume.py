"""The Classify window's runs survive a crash: finished rows saved as they come, and an offer
to continue an interrupted run.

The window has no CSV until the user exports one, so its part files (the same
`batch.ResumableRun` / `PartStore` as `sortscope classify`, one mechanism) live in the data
folder, under `interrupted-runs/KEY` where KEY is a hash of the folder and the model file, with
a lock file beside them (classifier/run_lock.py) so two windows never write one run. A run that
is cancelled, or dies with the app, leaves its parts; classifying the same folder with the same
model again (or starting the app, which reopens the last model and folder) offers "Continue the
interrupted run (N of M done)" or "Start over". Continuing classifies only the missing files and
ends with the rows an uninterrupted run gives; a finished run removes its parts (after the
night's watching, when "Keep watching this folder" is on: ui/batch_watch.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from classifier import run_lock
from classifier.batch import ResumableRun, run_spec
from classifier.filenames import escape
from classifier.folder_survey import require_image_files
from classifier.modelfile import SortscopeModel
from classifier.paths import data_dir
from classifier.predict import ClassifyResult, NoveltyOptions, classify_files
from classifier.progress import CancelToken, ProgressCallback
from classifier.types import DEFAULT_THRESHOLD, Prediction
from ui import settings as keys

RUNS_FOLDER = "interrupted-runs"
HOLDER = "Sortscope's Classify window"


def run_key(folder: Path, model_path: Path) -> str:
    text = f"{os.path.abspath(folder)}\0{os.path.abspath(model_path)}"
    return hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()[:24]


def window_parts(folder: Path, model_path: Path) -> Path:
    """Where the window keeps the parts of its run of `folder` with `model_path`."""
    return data_dir() / RUNS_FOLDER / run_key(folder, model_path)


def has_interrupted_run(folder: Path, model_path: Path) -> bool:
    """A cheap look (one stat) for the GUI thread: are there parts to offer?"""
    return (window_parts(folder, model_path) / "manifest.json").is_file()


@dataclass
class PreparedRun:
    """A listed folder and what an earlier run of it left (made off the GUI thread)."""

    folder: Path
    files: list[Path]
    model: SortscopeModel
    model_path: Path | None  # None: a model trained in this session, not saved (no parts)
    fits_keys: list[str]
    recursive: bool
    run: ResumableRun | None
    fresh: bool = False  # "Start over": the saved rows are removed before the run

    @property
    def novelty(self) -> NoveltyOptions | None:
        return NoveltyOptions() if self.model.novelty is not None else None

    @property
    def kept(self) -> dict[str, Prediction]:
        return self.run.kept if self.run is not None else {}

    @property
    def todo(self) -> list[Path]:
        return self.run.todo if self.run is not None else self.files

    @property
    def lock(self) -> Path:
        assert self.run is not None
        return self.run.store.folder.with_name(self.run.store.folder.name + ".lock")

    @property
    def doing(self) -> str:
        model = self.model_path.name if self.model_path else "this model"
        return f"classifying {escape(str(self.folder))} with {escape(model)}"

    def start_over(self) -> None:
        """Every file again; the saved rows go once the run holds the lock."""
        self.fresh = True
        if self.run is not None:
            self.run.kept = {}
            self.run.todo = list(self.run.files)


def prepare(
    folder: Path,
    recursive: bool,
    model: SortscopeModel,
    model_path: Path | None,
    fits_keys: list[str],
) -> PreparedRun:
    """List the folder (a folder without images is explained in words) and read what an
    interrupted run of it with this model left. Runs in a worker thread."""
    files = require_image_files(folder, recursive)
    prepared = PreparedRun(folder, files, model, model_path, fits_keys, recursive, None)
    if model_path is not None and Path(model_path).is_file():
        spec = run_spec(
            model_path,
            model.class_names,
            folder,
            threshold=DEFAULT_THRESHOLD,  # the window's threshold only relabels the rows shown
            fits_keys=fits_keys,
            max_pixels=_max_pixels(),
            recursive=recursive,
            novelty=model.novelty is not None,
        )
        parts = window_parts(folder, model_path)
        # Under the lock: another window running this folder is refused here, before any work,
        # and never has its parts read half-way or removed (as another spec's) under it.
        lock = parts.with_name(parts.name + ".lock")
        with run_lock.holding(lock, prepared.doing, HOLDER, wait=10.0):
            prepared.run = ResumableRun(parts / "results.csv", files, folder, spec, parts=parts)
    return prepared


def _max_pixels() -> int:
    from classifier.memory import DEFAULT_MAX_PIXELS

    return DEFAULT_MAX_PIXELS


def classify_prepared(
    prepared: PreparedRun,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    on_rows: Callable[[list[Prediction]], None] | None = None,
    keep_parts: bool = False,
) -> ClassifyResult:
    """Classify what the prepared run lacks, saving rows as they come; the result has every
    row (the kept ones too), sorted as an uninterrupted run's. The parts are removed at the
    end unless `keep_parts` (a watch goes on adding to them)."""
    run = prepared.run

    def rows_arrived(rows: list[Prediction]) -> None:
        if run is not None:
            run.add(rows)
        if on_rows is not None:
            on_rows(rows)

    def classify() -> ClassifyResult:
        return classify_files(
            prepared.todo,
            prepared.folder,
            prepared.model,
            progress=progress,
            cancel=cancel,
            on_rows=rows_arrived,
            fits_keys=prepared.fits_keys,
            novelty=prepared.novelty,
        )

    if run is None:
        return classify()
    with run_lock.holding(prepared.lock, prepared.doing, HOLDER, wait=10.0):
        if prepared.fresh:
            run.store.remove()
            prepared.fresh = False
        with run.running():
            result = classify()
        if not keep_parts:
            run.store.remove()
    return dataclasses.replace(result, rows=run.all_rows(result.rows))


class ResumeOffer(QFrame):
    """A bar above the results: continue the interrupted run of this folder, or start over."""

    continue_requested = Signal()
    start_over_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resumeOffer")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.continue_button = QPushButton("Continue the interrupted run")
        self.continue_button.setDefault(True)
        self.start_over_button = QPushButton("Start over")
        self.start_over_button.setToolTip(
            "Forget the saved rows and classify every image again (cached images stay quick)."
        )
        self.continue_button.clicked.connect(self.continue_requested)
        self.start_over_button.clicked.connect(self.start_over_requested)
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.start_over_button)
        layout.addWidget(self.continue_button)
        self.setVisible(False)

    def offer(self, prepared: PreparedRun) -> None:
        done, total = len(prepared.kept), len(prepared.files)
        model = prepared.model_path.name if prepared.model_path else "this model"
        self.text.setText(
            f"The last run of <b>{html.escape(escape(prepared.folder.name))}</b> with "
            f"<b>{html.escape(escape(model))}</b> did not finish (cancelled, or the app was "
            f"closed or crashed): {done} of {total} images are done and saved."
        )
        self.continue_button.setText(f"Continue the interrupted run ({done} of {total} done)")
        self.setVisible(True)
        self.continue_button.setFocus()


class ResumeActions:
    """The view's side of the offer. Mixed into `classify_view.ClassifyView`; needs its
    state, settings, folder_edit, progress, `start`, `_classify` and `_update_buttons`."""

    def _build_resume_offer(self) -> ResumeOffer:
        self.resume_offer = ResumeOffer()
        self._offered: PreparedRun | None = None
        self.resume_offer.continue_requested.connect(lambda: self._offer_answered(False))
        self.resume_offer.start_over_requested.connect(lambda: self._offer_answered(True))
        self.folder_edit.textEdited.connect(self._withdraw_offer)  # it was for another folder
        return self.resume_offer

    def _withdraw_offer(self, *_args) -> None:
        self._offered = None
        self.resume_offer.setVisible(False)

    def _listed(self, prepared: PreparedRun, offer_only: bool = False) -> None:
        """The folder is listed: offer to continue an interrupted run, or classify."""
        if prepared.kept:
            self.progress.finish()
            self._offered = prepared
            self.resume_offer.offer(prepared)
            self._update_buttons()
            self.state.status.emit(  # seen from any area: the offer is in Classify
                f"An interrupted run of {escape(prepared.folder.name)} can be continued "
                f"({len(prepared.kept)} of {len(prepared.files)} done): see Classify"
            )
        elif offer_only:
            self.progress.finish()
            self._update_buttons()
        else:
            self._classify(prepared)

    def _continued_note(self) -> str:
        """After the run details: how many rows came from the interrupted run."""
        prepared = getattr(self, "_prepared", None)
        if prepared is None or not prepared.kept:
            return ""
        return (
            f"<br><small>Continued an interrupted run: {len(prepared.kept):,} images were "
            "already done (not read again).</small>"
        )

    def _offer_answered(self, start_over: bool) -> None:
        prepared, self._offered = self._offered, None
        self.resume_offer.setVisible(False)
        if prepared is None:
            return
        if start_over:
            prepared.start_over()
        self._classify(prepared)

    def offer_interrupted_run(self, model: SortscopeModel | None = None) -> None:
        """When a model opens (at start-up, the last one): an interrupted run of the last
        folder, or of the one in the folder box, with it is offered at once."""
        path = self.state.model_path
        if model is None or path is None or self.runner.is_running("classify"):
            return
        self._withdraw_offer()  # it was for another model
        last = str(self.settings.value(keys.CLASSIFY_FOLDER, ""))
        for text in (self.folder_edit.text().strip(), last):
            if text and has_interrupted_run(Path(text).expanduser(), path):
                self.folder_edit.setText(text)
                self.start(offer_only=True)
                return
