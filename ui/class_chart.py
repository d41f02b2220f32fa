"""Images per class as a bar chart (the Dataset area)."""

from __future__ import annotations

import pyqtgraph as pg

from classifier.scan import SMALL_CLASS_IMAGES
from ui import style


class ClassChart(pg.PlotWidget):
    """Images per class as bars; classes below the small-class limit in a warning colour."""

    def __init__(self) -> None:
        super().__init__()
        self.setBackground(None)
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.getPlotItem().setLabel("left", "images")
        self.setMinimumHeight(140)
        self._bars: pg.BarGraphItem | None = None

    def show_counts(self, counts: dict[str, int]) -> None:
        if self._bars is not None:
            self.removeItem(self._bars)
            self._bars = None
        names = list(counts)
        if not names:
            return
        colours = [
            pg.mkBrush(style.colour("warning" if counts[n] < SMALL_CLASS_IMAGES else "accent"))
            for n in names
        ]
        self._bars = pg.BarGraphItem(
            x=list(range(len(names))),
            height=[counts[n] for n in names],
            width=0.6,
            brushes=colours,
        )
        self.addItem(self._bars)
        self.getPlotItem().getAxis("bottom").setTicks([list(enumerate(names))])
        self.getPlotItem().setXRange(-0.6, len(names) - 0.4, padding=0)
        self.getPlotItem().setYRange(0, max(counts.values()) * 1.1 or 1, padding=0)
