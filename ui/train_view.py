"""The Train area: set up a run, watch it learn, and click through an honest evaluation.

The run is the core's `train()` in a background task, exactly as `sortscope train` runs it; this
view composes the form (`train_form`), the curves (`curves`), the results (`evaluation_panel`) and
every run so far, earlier sessions' too (`run_history`), and turns the task's reports into them;
getting backbone weights is in `train_weights`, saving and exporting runs in `train_saving`.
`python -m ui.train_view DATASET` opens the view alone.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from classifier import run_history
from classifier.model_info import model_title
from classifier.progress import FitStage, Progress, Stage
from classifier.scan import problems_before_training
from classifier.train import train
from classifier.types import EpochStats, Split, TrainConfig
from ui.curves import TrainingCurves
from ui.errors import ErrorInfo, show_error
from ui.evaluation_panel import EvaluationPanel
from ui.export_actions import ask_export, ask_model_report
from ui.misclassified_dialog import MisclassifiedDialog
from ui.run_history import RunHistoryPanel
from ui.runs_table import Run
from ui.state import AppState
from ui.tasks import TaskRunner
from ui.thumbnails import ThumbnailLoader
from ui.train_form import TrainForm
from ui.train_saving import RunSaving
from ui.train_weights import BackboneWeights
from ui.training_check import confirm_training
from ui.widgets import TaskProgress


class TrainView(BackboneWeights, RunSaving, QWidget):
    def __init__(
        self,
        state: AppState,
        runner: TaskRunner,
        settings: QSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.runner = runner
        self.settings = settings
        self.shown: int | None = None  # the run on the Results page (an index into runs)
        self._accepted_scan = None  # the scan whose problems the user chose to train with
        self.loader = ThumbnailLoader(parent=self)
        self._build()
        state.scan_changed.connect(self._scan_changed)
        state.preprocessing_changed.connect(lambda _: self._scan_changed(state.scan))
        self._scan_changed(state.scan)
        self.history.load()  # earlier sessions' runs join the table when read

    # --- layout -----------------------------------------------------------------------

    def _build(self) -> None:
        self.form = TrainForm()
        self.form.changed.connect(self._form_changed)
        self.form.weights_requested.connect(self.get_weights)
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(400)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.dataset_label = QLabel()
        self.dataset_label.setWordWrap(True)
        self.start_button = QPushButton("Start training")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        defaults = QPushButton("Restore defaults")
        defaults.clicked.connect(lambda: self.form.set_config(TrainConfig()))
        buttons = QHBoxLayout()
        buttons.addWidget(defaults)
        buttons.addStretch()
        buttons.addWidget(self.start_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.dataset_label)
        left_layout.addWidget(scroll, 1)
        left_layout.addLayout(buttons)

        self.stage = QLabel("Ready.")
        self.progress = TaskProgress()
        self.progress.cancel_requested.connect(lambda: self.runner.cancel("train"))
        self.curves = TrainingCurves()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)

        self.results = EvaluationPanel(self.loader)
        self.results.save_requested.connect(self.save)
        self.results.misclassified_requested.connect(self.show_misclassified)
        self.mistakes: MisclassifiedDialog | None = None  # made when first asked for
        self.results.export_requested.connect(lambda: self._shown_model_action(ask_export))
        self.results.report_requested.connect(lambda: self._shown_model_action(ask_model_report))
        self.history = RunHistoryPanel(self.runner, self.loader)
        self.history.session_run_chosen.connect(self.show_run)
        self.history.options_chosen.connect(self.use_options)
        self.history.model_chosen.connect(self.state.model_requested.emit)
        self.history.reindexed.connect(self._reindexed)
        self.state.run_recorded.connect(self.run_recorded)
        self.runs_table = self.history.table

        running = QWidget()
        running_layout = QVBoxLayout(running)
        running_layout.addWidget(self.curves, 3)
        running_layout.addWidget(self.log, 1)
        self.pages = QTabWidget()
        self.pages.addTab(running, "Progress")
        self.pages.addTab(self.results, "Results")
        self.pages.addTab(self.history, "Runs")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.stage)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.pages, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([440, 900])
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # --- state ------------------------------------------------------------------------

    def _scan_changed(self, scan) -> None:
        if not self.runner.is_running("train"):
            self.stage.setText("Ready.")  # a message about the last dataset's run is stale now
        if scan is None:
            self.dataset_label.setText("<b>No dataset open.</b> Open one in the Dataset area.")
        else:
            text = (
                f"<b>{scan.root.name}</b>: {len(scan.images)} images in {len(scan.classes)} classes"
            )
            if scan.high_range_images:
                text += (
                    f"<br>FITS and 16-bit images are stretched with "
                    f"<b>{self.state.preprocessing.summary()}</b> (change it in the Dataset area)"
                )
            self.dataset_label.setText(text)
        self._form_changed()

    def _form_changed(self) -> None:
        config = self.form.config()
        self.state.set_split(config.split)
        busy = self.runner.is_running("train")
        scan = self.state.scan
        self.start_button.setEnabled(
            not busy and scan is not None and scan.usable and self.form.check()
        )

    def _say(self, text: str) -> None:
        self.log.appendPlainText(text)

    # --- running ----------------------------------------------------------------------

    def problems_accepted(self, scan) -> bool:
        """Whether to train on `scan` despite its problems: asked once per scan (a new scan
        of the folder asks again; there is no 'never ask')."""
        problems = problems_before_training(scan)
        if not problems or self._accepted_scan is scan:
            return True
        if not confirm_training(self, scan, problems):
            self.stage.setText("Not started: the dataset has problems (see the Dataset area).")
            return False
        self._accepted_scan = scan
        return True

    def start(self) -> None:
        scan = self.state.scan
        if scan is None or not self.form.check() or not self.problems_accepted(scan):
            return
        # The stretch is chosen where its effect is visible: in the dataset browser.
        config = self.form.config().with_preprocessing(self.state.preprocessing)
        self.curves.clear_points()
        self.pages.setCurrentIndex(0)
        self.log.clear()
        self._say(
            f"Training on {len(scan.images)} images of {len(scan.classes)} classes: "
            f"{model_title(config)}."
        )
        if config.model_type == "small_cnn":
            self._say("First the images are loaded once, then the network trains on them.")
            self.stage.setText(Stage.LOADING_IMAGES)
        else:
            self._say("First image features are computed (images seen before come from the cache).")
            self.stage.setText(Stage.EXTRACTING_FEATURES)
        self.progress.start("Starting…")
        self.start_button.setEnabled(False)
        self.runner.start(
            "train",
            lambda ctx: _train_and_remember(scan, config, ctx),
            progressed=self._progressed,
            partial=self._epochs,
            finished=lambda done: self._finished(*done),
            failed=self._failed,
            cancelled=self._cancelled,
        )
        self.state.status.emit("Training…")

    def _progressed(self, p: Progress) -> None:
        if p.stage == Stage.TRAINING:
            self.stage.setText(f"Training: {p.message}")
        elif p.stage == Stage.LOADING_IMAGES:
            self.stage.setText("Loading images for training from pixels")
        elif p.stage == Stage.AUGMENTING_IMAGES:
            self.stage.setText("Computing features of augmented copies (cached for next time)")
        self.progress.update_progress(p)

    def _epochs(self, epochs: list[EpochStats]) -> None:
        self.curves.add_epochs(epochs)
        for e in epochs:
            stage = "" if e.stage == FitStage.HEAD else f" ({e.stage})"
            line = (
                f"Epoch {e.epoch}/{e.epochs}{stage}: loss {e.loss:.3f}, accuracy {e.accuracy:.1%}"
            )
            if e.val_loss is not None:
                line += f"; validation loss {e.val_loss:.3f}, accuracy {e.val_accuracy:.1%}"
            self._say(line)

    def _done(self) -> None:
        self.progress.finish()
        self._form_changed()

    def _finished(self, run: Run, history_warning: str = "") -> None:
        config, outcome = run.config, run.outcome
        self._done()
        if outcome.stopped_early:
            self._say(
                f"Stopped early: validation loss had not improved for {config.patience} "
                f"epochs; kept the weights of epoch {outcome.best_epoch}."
            )
        if outcome.problems:
            self._say(f"{len(outcome.problems)} image(s) could not be read and were skipped.")
        if outcome.extraction is not None:
            self._say(f"Image features: {outcome.extraction.breakdown()}.")
        self._say(
            f"Test accuracy {outcome.evaluation.accuracy:.1%} "
            f"(baseline {outcome.evaluation.baseline_accuracy:.1%})."
        )
        self.stage.setText("Finished. Review the results, then save the model.")
        if history_warning:
            self._say(history_warning)
        self.show_run(self.history.add(run))
        self.state.status.emit(
            f"Training finished: test accuracy {outcome.evaluation.accuracy:.1%}"
        )

    def _failed(self, info: ErrorInfo) -> None:
        self._done()
        self.stage.setText("Training failed.")
        self._say(f"Failed: {info.what}")
        show_error(self, info)

    def _cancelled(self) -> None:
        self._done()
        self.stage.setText("Cancelled. Nothing was saved; any earlier model is unchanged.")
        self._say("Cancelled by you. Features computed so far stay cached for the next run.")
        self.state.status.emit("Training cancelled")

    # --- results ----------------------------------------------------------------------

    @property
    def runs(self) -> list[Run]:
        """Every run shown, oldest first: earlier sessions' (from the history), then this one's."""
        return self.history.runs

    def run_recorded(self, run: Run) -> None:
        """A run made elsewhere (Retrain with corrections) joins the runs; a run already
        there (its model saved since) is updated."""
        index = self.history.index_of(run.record.id)
        if index is None:
            self.history.add(run)
        else:
            self.history.replace(index, run)

    def use_options(self, config: TrainConfig) -> None:
        """Fill the form with a run's options (Runs ▸ Use these options)."""
        self.form.set_config(config)
        self.state.status.emit("The form holds that run's options; press Start training to run.")

    def _reindexed(self, new_index) -> None:
        if self.shown is not None:
            self.shown = new_index(self.shown)

    def show_run(self, index: int) -> None:
        if not 0 <= index < len(self.runs):
            return
        if self.runs[index].outcome is None:  # an earlier session's: no model to save here
            self.history.open_run(index)
            return
        self.shown = index
        self.results.show_evaluation(self.runs[index].outcome.evaluation)
        self.pages.setCurrentIndex(1)
        if self.mistakes is not None and self.mistakes.isVisible():
            self._fill_misclassified()

    def show_misclassified(self) -> None:
        """The wrong training, validation and test images of the shown run, in a window."""
        if self.shown is None:
            return
        if self.mistakes is None:
            self.mistakes = MisclassifiedDialog(self.loader, self.runner, self)
            # Files moved: the dataset is scanned again (its problems are asked about again).
            self.mistakes.dataset_changed.connect(self.state.dataset_requested.emit)
        self._fill_misclassified()
        self.mistakes.show()
        self.mistakes.raise_()

    def _fill_misclassified(self) -> None:
        run = self.runs[self.shown]
        splits = run.outcome.splits or {Split.TEST: run.outcome.evaluation}
        self.mistakes.show_run(splits, run.dataset)

    def shutdown(self) -> None:
        self.loader.shutdown()


def _train_and_remember(scan, config: TrainConfig, ctx) -> tuple[Run, str]:
    """The training task: train, then keep the run in the history (still off the GUI thread)."""
    outcome = train(
        scan,
        config,
        progress=ctx.progress,
        on_epoch=ctx.partial,
        cancel=ctx.cancel,
        on_batch=ctx.progress,
    )
    record, warning = run_history.remember(outcome)
    return Run(record, outcome), warning


def _scan_argument(_view, state: AppState, args: list[str]) -> None:
    if args:
        from classifier.scan import scan_dataset

        state.set_scan(scan_dataset(args[0]))


if __name__ == "__main__":
    from ui.standalone import run_view

    run_view(TrainView, _scan_argument)
