"""Learning curves: training and validation loss and accuracy, one point per epoch."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from classifier.types import EpochStats

CURVE_COLOURS = {"train": "#3b82c4", "validation": "#d9822b"}


class CurvePlot(pg.PlotWidget):
    """Training and validation curves of one metric, one point per epoch."""

    def __init__(self, title: str, ylabel: str) -> None:
        super().__init__()
        self.setBackground(None)
        item = self.getPlotItem()
        item.setTitle(title)
        item.setLabel("bottom", "epoch")
        item.setLabel("left", ylabel)
        item.showGrid(x=True, y=True, alpha=0.2)
        # Loss falls and accuracy rises: keep each legend in the corner its curves leave free.
        self.rising = ylabel == "share correct"
        item.addLegend(offset=(-10, -10) if self.rising else (-10, 10))
        self.curves = {
            name: item.plot(
                [],
                [],
                name=name,
                pen=pg.mkPen(colour, width=2),
                symbol="o",
                symbolSize=5,
                symbolBrush=colour,
                symbolPen=None,
            )
            for name, colour in CURVE_COLOURS.items()
        }
        self.points: dict[str, tuple[list[float], list[float]]] = {
            name: ([], []) for name in self.curves
        }
        self.stage_marks: list[pg.InfiniteLine] = []

    def clear_points(self) -> None:
        for name, curve in self.curves.items():
            self.points[name] = ([], [])
            curve.setData([], [])
        for mark in self.stage_marks:
            self.removeItem(mark)
        self.stage_marks.clear()

    def mark_stage(self, before_epoch: int, stage: str) -> None:
        """A dashed line where a new stage (e.g. fine-tuning) begins."""
        mark = pg.InfiniteLine(
            before_epoch - 0.5,
            angle=90,
            pen=pg.mkPen("#888888", style=Qt.PenStyle.DashLine),
            label=stage,
            # Accuracy curves rise to the top and loss curves fall: label where they are not.
            labelOpts={"position": 0.08 if self.rising else 0.95, "color": "#666666"},
        )
        self.addItem(mark)
        self.stage_marks.append(mark)

    def add_point(self, name: str, epoch: int, value: float | None) -> None:
        if value is None:
            return
        xs, ys = self.points[name]
        xs.append(epoch)
        ys.append(value)
        self.curves[name].setData(xs, ys)


class TrainingCurves(QWidget):
    """Loss and accuracy side by side; a new stage (e.g. fine-tuning) gets a mark on both."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss = CurvePlot("Loss (lower is better)", "cross-entropy")
        self.accuracy = CurvePlot("Accuracy", "share correct")
        self._last_stage = ""  # of the last epoch shown
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss)
        layout.addWidget(self.accuracy)

    def clear_points(self) -> None:
        self.loss.clear_points()
        self.accuracy.clear_points()
        self._last_stage = ""

    def add_epochs(self, epochs: list[EpochStats]) -> None:
        for e in epochs:
            if e.epoch > 1 and e.stage != self._last_stage:
                for plot in (self.loss, self.accuracy):
                    plot.mark_stage(e.epoch, e.stage)
            self._last_stage = e.stage
            self.loss.add_point("train", e.epoch, e.loss)
            self.loss.add_point("validation", e.epoch, e.val_loss)
            self.accuracy.add_point("train", e.epoch, e.accuracy)
            self.accuracy.add_point("validation", e.epoch, e.val_accuracy)
