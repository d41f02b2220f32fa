"""The Map: every image as a point of a 2-D projection of its features (classifier/projection).

Coloured by class or predicted label, or by novelty; hovering shows the image's thumbnail and
name (decoded off the GUI thread, FITS stretched), clicking a point selects its image, "Select
area" draws a rectangle whose images the host shows (the dataset grid, or the results table
filters to them). One widget serves the dataset browser (ui/dataset_quality.py) and the batch
view (ui/classify_map.py); `MapPanel` computes the projection as a task, `MapView` only draws.
`python -m ui.map_view FOLDER` maps a dataset alone.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from classifier.backbones import Backbone
from classifier.names import UNCERTAIN, UNFAMILIAR
from classifier.preprocessing import Preprocessing
from classifier.projection import ImageMap, map_files
from ui import style
from ui.errors import show_error
from ui.map_hover import HOVER_SIZE, HoverCard
from ui.tasks import TaskRunner
from ui.thumbnails import ThumbnailLoader
from ui.widgets import TaskProgress

BY_NOVELTY = "Colour by novelty"
NOVELTY_LEGEND = ("novelty 0: like the training images", "0.5", "1: unlike any of them")
POINT_SIZE = 7
# Class colours and the two special labels' greys, by palette role (resources/palette.json).
PALETTE = tuple(f"category_{i}" for i in range(1, 10))
SPECIAL = {UNCERTAIN: "map_uncertain", UNFAMILIAR: "map_unfamiliar"}


@dataclass(frozen=True)
class MapSource:
    """What to map: files with a label each (class folder or predicted label), optionally a
    novelty score each, and the backbone and stretch whose cached features place them."""

    files: Sequence[Path]
    labels: Sequence[str]
    backbone: Backbone
    prep: Preprocessing
    novelty: Sequence[float] | None = None
    digests: Sequence[str | None] | None = None
    colour_by: str = "Colour by class"  # the label colouring's name ("… predicted label")


class MapView(QWidget):
    image_clicked = Signal(object)  # Path
    selection_changed = Signal(object)  # tuple[Path, ...] in the area (maybe ()); None: no area

    def __init__(self, parent: QWidget | None = None, area_shows: str = "") -> None:
        super().__init__(parent)
        self.image_map: ImageMap | None = None
        self.novelty: np.ndarray | None = None
        self.by_label = "Colour by class"
        self.area_shows = area_shows  # where the host shows the area's images, for the note
        self.loader = ThumbnailLoader(HOVER_SIZE, threads=1, parent=self, cache_items=200)
        self.card = HoverCard(self.loader, self)
        self.plot = pg.PlotWidget(background="w")
        self.plot.hideAxis("bottom")
        self.plot.hideAxis("left")
        self.plot.setAspectLocked(True)
        self.scatter = pg.ScatterPlotItem(size=POINT_SIZE, hoverable=True, pen=None)
        self.scatter.sigClicked.connect(self._clicked)
        self.scatter.sigHovered.connect(self._hovered)
        self.plot.addItem(self.scatter)
        self.legend = self.plot.addLegend(offset=(10, 10), labelTextColor=(40, 40, 40))
        self.colour = QComboBox()
        self.colour.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.colour.currentTextChanged.connect(lambda _t: self._draw())
        self.colour.setEnabled(False)
        self.area = QCheckBox("Select area")
        self.area.setToolTip(
            "Draw a rectangle on the map (drag it, or its corner, to change it); the images "
            "inside are shown " + (area_shows or "here") + "."
        )
        self.area.toggled.connect(self._toggle_area)
        self.area.setEnabled(False)
        self.roi: pg.RectROI | None = None
        self.note = QLabel("")
        self.area_note = QLabel("")
        self.bar = bar = QHBoxLayout()  # a host adds its own controls at the end
        bar.addWidget(self.colour)
        bar.addWidget(self.area)
        bar.addWidget(self.area_note)
        bar.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.plot, 1)

    def show_map(
        self,
        image_map: ImageMap,
        novelty: Sequence[float] | None = None,
        by_label: str = "Colour by class",
        prep: Preprocessing | None = None,
    ) -> None:
        """Draw `image_map`; `novelty` (one value per point) enables colouring by novelty;
        `by_label` names the label colouring; `prep` is how hovered thumbnails look."""
        self.area.setChecked(False)
        self.image_map, self.by_label = image_map, by_label
        self.novelty = np.asarray(novelty, dtype=float) if novelty is not None else None
        if prep is not None:
            self.loader.set_preprocessing(prep)
        self.colour.blockSignals(True)
        self.colour.clear()
        self.colour.addItems([by_label, *([BY_NOVELTY] if novelty is not None else [])])
        self.colour.blockSignals(False)
        self.colour.setEnabled(novelty is not None)
        self.area.setEnabled(bool(len(image_map.paths)))
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
            ends = cmap.map(np.array([0.0, 0.5, 1.0]), mode="qcolor")
            legend = dict(zip(NOVELTY_LEGEND, ends, strict=True))
            return [pg.mkBrush(c) for c in colours], legend
        names = sorted(set(self.image_map.labels) - set(SPECIAL))
        # A qualitative palette while it lasts (matplotlib's tab10), then evenly spaced hues;
        # "uncertain" and "unfamiliar" are greys, so they never look like a class.
        many = len(names) > len(PALETTE)
        palette = {
            name: pg.intColor(i, len(names)) if many else style.qcolor(PALETTE[i])
            for i, name in enumerate(names)
        }
        palette |= {
            name: style.qcolor(SPECIAL[name]) for name in SPECIAL if name in self.image_map.labels
        }
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

    def clear(self) -> None:
        """Nothing mapped (another dataset, a new batch)."""
        self.area.setChecked(False)
        self.image_map, self.novelty = None, None
        self.scatter.clear()
        self.legend.clear()
        self.note.setText("")
        self.area.setEnabled(False)
        self.colour.setEnabled(False)
        self.card.hide()

    def _clicked(self, _item, points, _event=None) -> None:
        if len(points) and self.image_map is not None:
            self.image_clicked.emit(self.image_map.paths[points[0].data()])

    def _hovered(self, _item, points, event=None) -> None:
        if not len(points) or self.image_map is None or event is None:
            self.card.hide()
            return
        self.show_card(points[0].data(), event.screenPos().toPoint())

    def show_card(self, i: int, at: QPoint) -> None:
        """The hover card of point `i` at the screen position `at`."""
        assert self.image_map is not None
        path = self.image_map.paths[i]
        text = f"<b>{html.escape(path.name)}</b><br>{html.escape(self.image_map.labels[i])}"
        if self.novelty is not None:
            text += f" · novelty {self.novelty[i]:.2f}"
        self.card.show_for(path, text, at)

    def leaveEvent(self, event) -> None:
        self.card.hide()
        super().leaveEvent(event)

    def _toggle_area(self, on: bool) -> None:
        if self.roi is not None:
            self.plot.removeItem(self.roi)
            self.roi = None
        if not on or self.image_map is None or not len(self.image_map.paths):
            self.area_note.setText("")
            self.selection_changed.emit(None)
            return
        # At first a quarter of the view each way, around the point nearest the points' median.
        xy = self.image_map.projection.xy
        centre = xy[np.argmin(((xy - np.median(xy, axis=0)) ** 2).sum(axis=1))]
        (x0, x1), (y0, y1) = self.plot.viewRange()
        w, h = (x1 - x0) / 4, (y1 - y0) / 4
        corner = QPointF(centre[0] - w / 2, centre[1] - h / 2)
        self.roi = pg.RectROI(corner, (w, h), pen=pg.mkPen("r", width=2))
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
        paths = self.selected_paths()
        where = f": {self.area_shows}" if self.area_shows else ""
        self.area_note.setText(f"<b>{len(paths):,} in the area</b>{where}")
        self.selection_changed.emit(paths)

    def shutdown(self) -> None:
        self.card.hide()
        self.loader.shutdown()


class MapPanel(QWidget):
    """A "Draw map" button, the task's progress, and the map. `source()` names what to map
    (a MapSource), or None when there is nothing to map."""

    def __init__(
        self,
        runner: TaskRunner,
        source: Callable[[], MapSource | None],
        parent: QWidget | None = None,
        area_shows: str = "",
    ):
        super().__init__(parent)
        self.runner, self.source = runner, source
        self.task = f"map-{id(self)}"
        self.button = QPushButton("Draw map")
        self.button.setToolTip("Place every image by how similar the network finds it.")
        self.button.clicked.connect(self.draw)
        self.progress = TaskProgress()
        self.progress.cancel_requested.connect(lambda: self.runner.cancel(self.task))
        self.view = MapView(area_shows=area_shows)
        self.hint = QLabel(
            "Similar images lie close together. Draw the map to see every image as a point."
        )
        bar = self.view.bar  # one row: the map's controls, then drawing it
        bar.addWidget(self.hint, 1)
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)

    def draw(self) -> None:
        what = self.source()
        if what is None:
            return
        self.button.setEnabled(False)
        self.progress.start("Drawing the map")

        def job(ctx):
            image_map = map_files(
                what.files,
                what.labels,
                what.backbone,
                prep=what.prep,
                digests=what.digests,
                progress=ctx.progress,
                cancel=ctx.cancel,
            )
            if what.novelty is None:
                return image_map, None, what.colour_by, what.prep
            by_path = dict(zip(map(Path, what.files), what.novelty, strict=True))
            return image_map, [by_path[p] for p in image_map.paths], what.colour_by, what.prep

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
        self.hint.setVisible(False)
        self.view.show_map(*outcome)

    def clear(self) -> None:
        """Another dataset or batch: the map drawn no longer applies."""
        self.runner.cancel(self.task)
        self.view.clear()
        self.hint.setVisible(True)

    def _ended(self, info=None) -> None:
        self.progress.finish()
        self.button.setEnabled(True)
        if info is not None:
            show_error(self, info)

    def shutdown(self) -> None:
        self.runner.cancel(self.task)
        self.view.shutdown()


def dataset_source(state, backbone: str | None = None) -> Callable[[], MapSource | None]:
    """What the dataset browser maps: the scanned images, coloured by class folder."""
    from classifier.backbones import DEFAULT_BACKBONE, get_backbone

    backbone = backbone or DEFAULT_BACKBONE

    def source() -> MapSource | None:
        scan = state.scan
        if scan is None or not scan.images:
            return None
        return MapSource(
            files=[r.path for r in scan.images],
            labels=[r.class_name for r in scan.images],
            backbone=get_backbone(backbone),
            prep=state.preprocessing,
            digests=[r.digest for r in scan.images],
        )

    return source


def _map_folder(panel: MapPanel, state, args: list[str]) -> None:
    from classifier.scan import scan_dataset

    if args:
        state.set_scan(scan_dataset(Path(args[0])))
        panel.draw()


if __name__ == "__main__":
    from ui.standalone import run_view

    run_view(lambda state, runner, _s: MapPanel(runner, dataset_source(state)), _map_folder)
