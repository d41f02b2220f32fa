"""The main window: Dataset, Train and Classify areas, menus, status bar, drag and drop.

It owns the app state and the task runner, hands them to each view, and remembers window
geometry, recent folders and the last model in QSettings (tests pass their own settings file).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QWidget,
)

from classifier.example import ensure_example_dataset, example_root
from ui import settings as keys
from ui.about_dialog import show_about
from ui.dataset_view import DatasetView
from ui.desktop import add_help_actions, install_guide
from ui.errors import ErrorInfo, show_error
from ui.help_dialog import HOW_IT_WORKS, README_SECTIONS, HelpDialog
from ui.results_model import ROW_ROLE
from ui.runs_table import model_title
from ui.state import AppState
from ui.system import open_on_double_click
from ui.tasks import TaskRunner

MAX_RECENT = 8


class MainWindow(QMainWindow):
    ask_about_unsaved = True  # off only where a test closes a window with a run left unsaved

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings or QSettings("Sortscope", "Sortscope")
        self.state = AppState()
        self.runner = TaskRunner(self)
        self.setWindowTitle("Sortscope")
        self.setAcceptDrops(True)
        self.dataset_view = DatasetView(self.state, self.runner)
        self.dataset_view.open_requested.connect(self.choose_dataset)
        self.dataset_view.example_requested.connect(self.open_example)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.dataset_view, "1  Dataset")
        for title, view in self._extra_views():
            self.tabs.addTab(view, title)
        self.guide = install_guide(self, self.tabs)  # above the areas on a first start
        self.statusBar().showMessage("Open a dataset folder, or the example dataset, to begin.")
        self.state.status.connect(lambda text: self.statusBar().showMessage(text))
        self._build_menus()
        self._open_images_on_double_click()
        self._restore()

    def _extra_views(self) -> list[tuple[str, QWidget]]:
        """The Train and Classify areas (separate modules, same state and runner)."""
        from ui.classify_view import ClassifyView
        from ui.train_view import TrainView

        self.train_view = TrainView(self.state, self.runner, self.settings)
        self.classify_view = ClassifyView(self.state, self.runner, self.settings)
        # A run's saved model opened from the Runs page: Classify is where it is used.
        self.state.model_requested.connect(lambda _: self.tabs.setCurrentWidget(self.classify_view))
        return [("2  Train", self.train_view), ("3  Classify", self.classify_view)]

    def _open_images_on_double_click(self) -> None:
        """The thumbnail grid, the results table and the test images open in the system viewer
        (each preview does so itself)."""
        user = Qt.ItemDataRole.UserRole
        open_on_double_click(self.dataset_view.grid, lambda i: getattr(i.data(user), "path", None))
        table = self.classify_view.results_table.table
        open_on_double_click(table, lambda i: getattr(i.data(ROW_ROLE), "path", None))
        open_on_double_click(self.train_view.results.cell_images, lambda i: i.data(user))

    # --- menus ----------------------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open dataset folder…", self.choose_dataset, QKeySequence.Open)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._action(file_menu, "Open e&xample dataset", self.open_example)
        self._action(
            file_menu,
            "Open example dataset as &FITS",
            lambda: self.open_example(fits=True),
            "Ctrl+Shift+E",
        )
        file_menu.addSeparator()
        self._action(file_menu, "Open &model…", self.open_model, "Ctrl+Shift+O")
        self._action(file_menu, "&Save model…", self.save_model, QKeySequence.Save)
        self._action(file_menu, "&Export CSV…", self.export_csv, "Ctrl+E")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.Quit)
        view_menu = self.menuBar().addMenu("&View")
        self.view_actions = []
        for i, name in enumerate(("Dataset", "Train", "Classify")):
            # `triggered` passes `checked` first: it must not land in the index default.
            show = lambda _checked=False, i=i: self.tabs.setCurrentIndex(i)  # noqa: E731
            self.view_actions.append(self._action(view_menu, name, show, f"Ctrl+{i + 1}"))
        run_menu = self.menuBar().addMenu("&Run")
        self._action(run_menu, "Start &training", self.start_training, "Ctrl+T")
        self._action(run_menu, "&Classify", self.classify, "Ctrl+R")
        help_menu = self.menuBar().addMenu("&Help")
        for title in (HOW_IT_WORKS, *README_SECTIONS):
            self._action(help_menu, title, lambda _=False, t=title: self.show_help(t))
        help_menu.actions()[0].setShortcut(QKeySequence.HelpContents)
        help_menu.addSeparator()
        add_help_actions(self, help_menu, self.guide)
        self._refresh_recent()

    def _action(self, menu, text, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_folders()
        for folder in recent:
            self._action(self.recent_menu, folder, lambda _=False, f=folder: self.open_dataset(f))
        self.recent_menu.setEnabled(bool(recent))

    def recent_folders(self) -> list[str]:
        value = self.settings.value(keys.RECENT_FOLDERS, [])
        if isinstance(value, str):  # QSettings returns a lone item as a string
            value = [value]
        return [str(v) for v in value or []]

    # --- actions --------------------------------------------------------------------------

    def choose_dataset(self) -> None:
        recent = self.recent_folders()
        start = recent[0] if recent else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open dataset folder", start)
        if folder:
            self.open_dataset(folder)

    def open_dataset(self, folder: str | Path) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            show_error(
                self, ErrorInfo(f"The folder {folder} no longer exists.", "Choose another folder.")
            )
            return
        recent = [str(folder)] + [f for f in self.recent_folders() if f != str(folder)]
        self.settings.setValue(keys.RECENT_FOLDERS, recent[:MAX_RECENT])
        self._refresh_recent()
        self.tabs.setCurrentWidget(self.dataset_view)
        self.state.dataset_requested.emit(folder)

    def open_example(self, fits: bool = False) -> None:
        """The synthetic star clusters: PNG, or raw float FITS frames with header keywords."""
        self.statusBar().showMessage("Preparing the example dataset…")
        self.runner.start(
            "example",
            lambda ctx: ensure_example_dataset(fits=fits),
            finished=self._example_ready,
            failed=lambda info: show_error(self, info),
        )

    def _example_ready(self, example) -> None:
        self.state.example = example
        self.open_dataset(example.training)

    # --- the main actions, from menus and shortcuts -----------------------------------------

    def _press(self, view: QWidget, button: QPushButton, why_not: str) -> None:
        """Show `view` and press its button, or say in the status bar why it cannot be pressed."""
        self.tabs.setCurrentWidget(view)
        if button.isEnabled():
            button.click()
        else:
            self.statusBar().showMessage(why_not)

    def start_training(self) -> None:
        self._press(
            self.train_view,
            self.train_view.start_button,
            "Training cannot start now: open a dataset with at least two usable classes, "
            "or wait for the running training to finish.",
        )

    def classify(self) -> None:
        self._press(
            self.classify_view,
            self.classify_view.start_button,
            "Classify needs a model: train one, or open a saved one (File ▸ Open model…).",
        )

    def save_model(self) -> None:
        view = self.train_view
        if view.shown is None:
            self.statusBar().showMessage("There is no trained model to save yet: train one first.")
            return
        self.tabs.setCurrentWidget(view)
        view.save()

    def open_model(self) -> None:
        self.tabs.setCurrentWidget(self.classify_view)
        self.classify_view.model_picker.choose_model()

    def export_csv(self) -> None:
        self._press(
            self.classify_view,
            self.classify_view.export_button,
            "There are no results to export yet: classify a folder first.",
        )

    def show_help(self, page: str = HOW_IT_WORKS) -> None:
        dialog = HelpDialog(self, page)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    def about(self) -> None:
        show_about(self)

    # --- what would be lost ----------------------------------------------------------------

    def confirm_unsaved_model(self, doing: str, then: Callable[[], None]) -> bool:
        """Whether to go on with `doing`, which loses the newest trained model if it is unsaved.

        Save… saves it first (the save dialog) and calls `then` once it is saved; Cancel, and
        Save… until the save is done, return False.
        """
        index = self.train_view.unsaved_run
        if index is None or not self.ask_about_unsaved:
            return True
        run = self.train_view.runs[index]
        box = QMessageBox(self)
        box.setObjectName("sortscope-unsaved")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Unsaved model")
        box.setText(
            f"The model you trained last ({model_title(run.config)}, test accuracy "
            f"{run.outcome.evaluation.accuracy:.1%}) is not saved."
        )
        box.setInformativeText(f"{doing} loses it. Save it first?")
        buttons = QMessageBox.StandardButton
        box.setStandardButtons(buttons.Save | buttons.Discard | buttons.Cancel)
        box.setDefaultButton(buttons.Save)
        box.button(buttons.Save).setText("Save…")
        choice = buttons(box.exec())
        if choice == buttons.Discard:
            return True
        if choice == buttons.Save:
            self.tabs.setCurrentWidget(self.train_view)
            self.train_view.show_run(index)
            self.train_view.save(on_saved=lambda _path: then())
        return False

    # --- drag and drop --------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            path = Path(url.toLocalFile())
            if path.is_dir():
                self.open_dataset(path)
                event.acceptProposedAction()
                return
            if path.is_file() and hasattr(self, "classify_view"):
                self.classify_view.open_dropped_file(path)
                self.tabs.setCurrentWidget(self.classify_view)
                event.acceptProposedAction()
                return

    # --- window state ---------------------------------------------------------------------

    def restore_session(self, dataset: Path | None = None) -> None:
        """Reopen the last dataset (or open `dataset`, given on the command line) and model; a
        first start opens the example instead.

        What no longer exists is said quietly in the status bar, not in a dialog.
        """
        recent = self.recent_folders()
        missing = []
        if dataset is not None:
            self.open_dataset(dataset)
        elif not recent:
            self.open_example()  # a first start shows Sortscope working at once
        else:
            last = Path(recent[0])
            examples = {example_root(fits) / "star_clusters": fits for fits in (False, True)}
            if last in examples:  # drawn again if it was deleted, and marked as the example
                self.open_example(fits=examples[last])
            elif last.is_dir():
                self.open_dataset(last)
            else:
                missing.append(f"the last dataset ({last})")
        model = self.classify_view.model_picker.load_last_model()
        if model is not None and not model.is_file():
            missing.append(f"the last model ({model})")
        if missing:
            self.statusBar().showMessage(
                f"Not reopened, as {' and '.join(missing)} no longer exist"
                f"{'s' if len(missing) == 1 else ''}."
            )

    def _restore(self) -> None:
        geometry = self.settings.value(keys.WINDOW_GEOMETRY)
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 820)

    def closeEvent(self, event) -> None:
        if not self.confirm_unsaved_model("Quitting", then=self.close):
            event.ignore()
            return
        self.settings.setValue(keys.WINDOW_GEOMETRY, self.saveGeometry())
        self.statusBar().showMessage("Stopping background work…")
        self.runner.shutdown()
        self.dataset_view.shutdown()
        for view in (getattr(self, "train_view", None), getattr(self, "classify_view", None)):
            if view is not None:
                view.shutdown()
        self.settings.sync()
        super().closeEvent(event)
