"""The main window: Dataset, Train and Classify areas, menus, status bar, drag and drop.

It owns the app state and the task runner, hands them to each view, and remembers window
geometry, recent folders and the last model in QSettings (tests pass their own settings file).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QWidget,
)

from classifier import __version__
from classifier.example import ensure_example_dataset
from ui import settings as keys
from ui.dataset_view import DatasetView
from ui.errors import ErrorInfo, show_error
from ui.state import AppState
from ui.tasks import TaskRunner

MAX_RECENT = 8


class MainWindow(QMainWindow):
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
        self.setCentralWidget(self.tabs)
        self.statusBar().showMessage("Open a dataset folder, or the example dataset, to begin.")
        self.state.status.connect(lambda text: self.statusBar().showMessage(text))
        self._build_menus()
        self._restore()

    def _extra_views(self) -> list[tuple[str, QWidget]]:
        """The Train and Classify areas (separate modules, same state and runner)."""
        from ui.classify_view import ClassifyView
        from ui.train_view import TrainView

        self.train_view = TrainView(self.state, self.runner, self.settings)
        self.classify_view = ClassifyView(self.state, self.runner, self.settings)
        return [("2  Train", self.train_view), ("3  Classify", self.classify_view)]

    # --- menus ----------------------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open dataset folder…", self.choose_dataset, QKeySequence.Open)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._action(file_menu, "Open &example dataset", self.open_example, "Ctrl+E")
        self._action(
            file_menu,
            "Open example dataset as &FITS",
            lambda: self.open_example(fits=True),
            "Ctrl+Shift+E",
        )
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.Quit)
        view_menu = self.menuBar().addMenu("&View")
        self.view_actions = []
        for i, name in enumerate(("Dataset", "Train", "Classify")):
            # `triggered` passes `checked` first: it must not land in the index default.
            show = lambda _checked=False, i=i: self.tabs.setCurrentIndex(i)  # noqa: E731
            self.view_actions.append(self._action(view_menu, name, show, f"Ctrl+{i + 1}"))
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&About Sortscope", self.about)
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

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About Sortscope",
            f"<h3>Sortscope {__version__}</h3><p>Train an image classifier on your own folders "
            "and sort thousands of new images with it.</p><p>Transfer learning from "
            "EfficientNet-Lite0 (ImageNet weights), running on this computer, offline.</p>",
        )

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

    def _restore(self) -> None:
        geometry = self.settings.value(keys.WINDOW_GEOMETRY)
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 820)

    def closeEvent(self, event) -> None:
        self.settings.setValue(keys.WINDOW_GEOMETRY, self.saveGeometry())
        self.statusBar().showMessage("Stopping background work…")
        self.runner.shutdown()
        self.dataset_view.shutdown()
        for view in (getattr(self, "train_view", None), getattr(self, "classify_view", None)):
            if view is not None:
                view.shutdown()
        self.settings.sync()
        super().closeEvent(event)
