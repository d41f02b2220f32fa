"""The batch view's Map: the classified images as points (ui/map_view.py, shared with the
dataset browser), coloured by predicted label or by novelty; a clicked point selects its row
(and the preview shows it), the map's area filters the results table to the images inside.

The features come from the cache the run filled, with the model's own backbone and stretch,
so drawing the map after a run reads no image again.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui.map_view import MapPanel, MapSource

BY_PREDICTION = "Colour by predicted label"
AREA_SHOWS = "the table shows only these"


class ResultsMap(QWidget):
    """Tabs "Table" (the results table) and "Map", with a note while the map's area filters
    the table. `view` is the ClassifyView whose results are mapped."""

    def __init__(self, view, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.panel = MapPanel(view.runner, self.source, area_shows=AREA_SHOWS)
        self.panel.hint.setText(
            "Similar images lie close together; colour them by predicted label or novelty. "
            "Classify a folder, then draw its map."
        )
        self.panel.hint.setWordWrap(True)
        self.panel.view.image_clicked.connect(self.select)
        self.panel.view.selection_changed.connect(self.filter_to)
        self.tabs = QTabWidget()
        self.tabs.addTab(view.results_table, "Table")
        self.tabs.addTab(self.panel, "Map")
        self.area_note = QLabel()
        show_all = QPushButton("Show all rows")
        show_all.clicked.connect(lambda: self.panel.view.area.setChecked(False))
        self.area_bar = QWidget()
        bar = QHBoxLayout(self.area_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.area_note, 1)
        bar.addWidget(show_all)
        self.area_bar.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.area_bar)
        layout.addWidget(self.tabs, 1)
        self._files: dict[Path, str] = {}  # mapped image -> its row's file (the filter's key)

    def source(self) -> MapSource | None:
        """The batch's readable images, labelled as the table labels them now."""
        view = self.view
        model, results = view.classified_with, view.results
        rows = [r for r in results.rows if not r.error and r.path is not None]
        if model is None or not rows or view.runner.is_running("classify"):
            return None
        self._files = {Path(r.path): r.file for r in rows}
        scored = results.novelty and all(r.novelty is not None for r in rows)
        return MapSource(
            files=[r.path for r in rows],
            labels=[results.label(r) for r in rows],
            backbone=model.backbone,
            prep=model.preprocessing,
            novelty=[float(r.novelty) for r in rows] if scored else None,
            digests=[r.digest or None for r in rows],
            colour_by=BY_PREDICTION,
        )

    def select(self, path: Path) -> None:
        """Select the point's row in the table (the preview follows); a row hidden by the
        table's filters is previewed all the same."""
        results, table = self.view.results, self.view.results_table
        for i, row in enumerate(results.rows):
            if row.path == path:
                index = table.proxy.shown_index(i)
                if index.isValid():
                    table.table.setCurrentIndex(index)
                    table.table.scrollTo(index)
                else:
                    self.view.show_prediction(row)
                return

    def filter_to(self, paths: tuple[Path, ...] | None) -> None:
        """The table shows only the rows of the map's area; no area (None): every row."""
        proxy = self.view.results_table.proxy
        if paths is None and proxy.only_files is None:
            return
        files = (
            None if paths is None else frozenset(self._files[p] for p in paths if p in self._files)
        )
        proxy.set_only_files(files)
        self.area_bar.setVisible(files is not None)
        if files is not None:
            self.area_note.setText(
                f"The table shows the <b>{len(files):,}</b> images in the map's area."
            )
        self.view.results_table.shown_changed.emit()

    def clear(self) -> None:
        """A new run: the map and its area belong to the old one."""
        self.panel.clear()
        self.filter_to(None)

    def shutdown(self) -> None:
        self.panel.shutdown()
