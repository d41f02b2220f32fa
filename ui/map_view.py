"""The Map: every image as a point of a 2-D projection of its features (classifier/projection).

Coloured by class or predicted label, or by novelty; hovering shows the image's thumbnail and
name, clicking a point selects its image, "Select area" draws a rectangle whose images the
host shows (the grid or the results table filters to them). The projection is computed by the
host as a task; this widget only draws. `python -m ui.map_view FOLDER` maps a dataset alone.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from classifier.projection import ImageMap, map_files
from ui.errors import show_error
from ui.tasks import TaskRunner
from ui.widgets import TaskProgress

BY_LABEL, BY_NOVELTY = "Colour by class", "Colour by novelty"
POINT_SIZE = 7


class MapView(QWidget):
    image_clicked = Signal(object)  # Path
    selection_changed = Signal(object)  # tuple[Path, ...]; () when the area is removed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image_map: ImageMap | None = None
        self.novelty: np.ndarray | None = None
        self.plot = pg.PlotWidget(background="w")
        self.plot.hideAxis("bottom")
        self.plot.hideAxis("left")
        self.plot.setAspectLocked(True)
        self.scatter = pg.ScatterPlotItem(size=POINT_SIZE, hoverable=True, pen=None)
        self.scatter.sigClicked.connect(self._clicked)
        self.scatter.sigHovered.connect(self._hovered)
        self.plot.addItem(self.scatter)
        self.legend = self.plot.addLegend(offset=(10, 10))
        self.colour = QComboBox()
        self.colour.addItems([BY_LABEL])
        self.colour.currentTextChanged.connect(lambda _t: self._draw())
        self.area = QCheckBox("Select area")
        self.area.toggled.connect(self._toggle_area)
        self.roi: pg.RectROI | None = None
        self.note = QLabel("")
        bar = QHBoxLayout()
        bar.addWidget(self.colour)
        bar.addWidget(self.area)
        bar.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.plot, 1)

    def show_map(self, image_map: ImageMap, novelty: Sequence[float] | None = None) -> None:
        """Draw `image_map`; `novelty` (one value per point) enables colouring by novelty."""
        self.image_map = image_map
        self.novelty = np.asarray(novelty, dtype=float) if novelty is not None else None
        self.colour.blockSignals(True)
        self.colour.clear()
        self.colour.addItems([BY_LABEL, *([BY_NOVELTY] if novelty is not None else [])])
        self.colour.blockSignals(False)
        n = len(image_map.paths)
        parts = [f"{n:,} images · {image_map.projection.method}"]
        if image_map.projection.note:
            parts.append(image_map.projection.note)
        if image_map.unreadable:
            parts.append(f"{image_map.unreadable} unreadable image(s) not shown")
        self.note.setText(" · ".join(parts))
        self._draw()
        self.plot.autoRange()

    def _brushes(self) -> tuple[list, dict[str, QColor]]:
        assert self.image_map is not None
        if self.colour.currentText() == BY_NOVELTY and self.novelty is not None:
            cmap = pg.colormap.get("viridis")
            colours = cmap.map(np.clip(self.novelty, 0, 1), mode="qcolor")
            return [pg.mkBrush(c) for c in colours], {}
        names = sorted(set(self.image_map.labels))
        palette = {name: pg.intColor(i, max(len(names), 1)) for i, name in enumerate(names)}
        brushes = {name: pg.mkBrush(colour) for name, colour in palette.items()}
        return [brushes[label] for label in self.image_map.labels], palette

    def _draw(self) -> None:
        if self.image_map is None:
            return
        xy = self.image_map.projection.xy
        brushes, palette = self._brushes()
        self.scatter.setData(
            x=xy[:, 0], y=xy[:, 1], brush=brushes, data=list(range(len(xy))), size=POINT_SIZE
        )
        self.legend.clear()
        for name, colour in palette.items():
            sample = pg.ScatterPlotItem(size=POINT_SIZE, brush=pg.mkBrush(colour), pen=None)
            self.legend.addItem(sample, name)

    def _clicked(self, _item, points, _event=None) -> None:
        if len(points) and self.image_map is not None:
            self.image_clicked.emit(self.image_map.paths[points[0].data()])

    def _hovered(self, _item, points, event=None) -> None:
        if not len(points) or self.image_map is None:
            QToolTip.hideText()
            return
        i = points[0].data()
        path = self.image_map.paths[i]
        text = (
            f'<img src="{html.escape(str(path))}" width="96"><br><b>{html.escape(path.name)}</b>'
            f"<br>{html.escape(self.image_map.labels[i])}"
        )
        if self.novelty is not None:
            text += f" · novelty {self.novelty[i]:.2f}"
        if event is not None:
            QToolTip.showText(event.screenPos().toPoint(), text, self)

    def _toggle_area(self, on: bool) -> None:
        if self.roi is not None:
            self.plot.removeItem(self.roi)
            self.roi = None
        if not on or self.image_map is None or not len(self.image_map.paths):
            self.selection_changed.emit(())
            return
        (x0, x1), (y0, y1) = self.plot.viewRange()
        w, h = (x1 - x0) / 3, (y1 - y0) / 3
        self.roi = pg.RectROI(QPointF(x0 + w, y0 + h), (w, h), pen=pg.mkPen("r", width=2))
        self.roi.sigRegionChangeFinished.connect(self._area_changed)
        self.plot.addItem(self.roi)
        self._area_changed()

    def selected_paths(self) -> tuple[Path, ...]:
        if self.roi is None or self.image_map is None:
            return ()
        x, y = self.roi.pos()
        w, h = self.roi.size()
        xy = self.image_map.projection.xy
        inside = (xy[:, 0] >= x) & (xy[:, 0] <= x + w) & (xy[:, 1] >= y) & (xy[:, 1] <= y + h)
        return tuple(self.image_map.paths[i] for i in np.flatnonzero(inside))

    def _area_changed(self, _roi=None) -> None:
        self.selection_changed.emit(self.selected_paths())

    def shutdown(self) -> None:
        pass


class MapPanel(QWidget):
    """A "Draw map" button, the task's progress, and the map. `source()` names what to map:
    (files, labels, novelty or None, backbone, preprocessing), or None when there is nothing."""

    def __init__(self, runner: TaskRunner, source: Callable, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner, self.source = runner, source
        self.task = f"map-{id(self)}"
        self.button = QPushButton("Draw map")
        self.button.setToolTip("Place every image by how similar the network finds it.")
        self.button.clicked.connect(self.draw)
        self.progress = TaskProgress()
        self.progress.cancel_requested.connect(lambda: self.runner.cancel(self.task))
        self.view = MapView()
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

    def draw(self) -> None:
        what = self.source()
        if what is None:
            return
        files, labels, novelty, backbone, prep = what
        self.button.setEnabled(False)
        self.progress.start("Drawing the map")

        def job(ctx):
            image_map = map_files(
                files, labels, backbone, prep=prep, progress=ctx.progress, cancel=ctx.cancel
            )
            if novelty is None:
                return image_map, None
            by_path = dict(zip(files, novelty, strict=True))
            return image_map, [by_path[p] for p in image_map.paths]

        self.runner.start(
            self.task,
            job,
            progressed=self.progress.update_progress,
            finished=self._finished,
            failed=self._ended,
            cancelled=self._ended,
        )

    def _finished(self, outcome) -> None:
        self._ended()
        self.view.show_map(*outcome)

    def _ended(self, info=None) -> None:
        self.progress.finish()
        self.button.setEnabled(True)
        if info is not None:
            show_error(self, info)

    def shutdown(self) -> None:
        self.runner.cancel(self.task)


def dataset_source(state, backbone: str | None = None) -> Callable:
    """What the dataset browser maps: the scanned images, coloured by class folder."""
    from classifier.backbones import DEFAULT_BACKBONE, get_backbone

    backbone = backbone or DEFAULT_BACKBONE

    def source():
        scan = state.scan
        if scan is None or not scan.images:
            return None
        files = [r.path for r in scan.images]
        labels = [r.class_name for r in scan.images]
        return files, labels, None, get_backbone(backbone), state.preprocessing

    return source


def _map_folder(panel: MapPanel, state, args: list[str]) -> None:
    from classifier.scan import scan_dataset

    if args:
        state.set_scan(scan_dataset(Path(args[0])))
        panel.draw()


if __name__ == "__main__":
    from ui.standalone import run_view

    run_view(lambda state, runner, _s: MapPanel(runner, dataset_source(state)), _map_folder)
