"""The app's shared state: one object the main window owns and every view listens to.

Views never call each other; they change the state and react to its signals.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from classifier.example import ExampleDataset
from classifier.modelfile import SortscopeModel
from classifier.predict import ClassifyResult
from classifier.preprocessing import Preprocessing
from classifier.types import ScanResult, SplitConfig


class AppState(QObject):
    dataset_requested = Signal(object)  # Path: a view asks for a folder to be opened
    scan_changed = Signal(object)  # ScanResult | None
    split_changed = Signal(object)  # SplitConfig
    model_changed = Signal(object)  # SortscopeModel | None
    model_requested = Signal(object)  # Path: a view asks for a model file to be opened
    results_changed = Signal(object)  # ClassifyResult | None
    preprocessing_changed = Signal(object)  # Preprocessing: the stretch training will use
    status = Signal(str)  # a short message for the status bar
    # ui.runs_table.Run: a run made (or its model saved) outside the Train area, such as a
    # retrain with corrections; the Train area adds it to its runs, or updates it by id.
    run_recorded = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.scan: ScanResult | None = None
        self.split = SplitConfig()
        self.model: SortscopeModel | None = None
        self.model_path: Path | None = None
        self.results: ClassifyResult | None = None
        self.example: ExampleDataset | None = None  # set once the example has been opened
        self.preprocessing = Preprocessing()  # chosen in the dataset browser, used to train

    def set_preprocessing(self, prep: Preprocessing) -> None:
        if prep != self.preprocessing:
            self.preprocessing = prep
            self.preprocessing_changed.emit(prep)

    def set_scan(self, scan: ScanResult | None) -> None:
        self.scan = scan
        self.scan_changed.emit(scan)

    def set_split(self, split: SplitConfig) -> None:
        if split != self.split:
            self.split = split
            self.split_changed.emit(split)

    def set_model(self, model: SortscopeModel | None, path: Path | None = None) -> None:
        self.model = model
        self.model_path = path
        self.model_changed.emit(model)

    def set_results(self, results: ClassifyResult | None) -> None:
        self.results = results
        self.results_changed.emit(results)
