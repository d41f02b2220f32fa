"""Learning curves: training and validation loss and accuracy, one point per epoch.

The axes keep fixed units whatever the numbers: accuracy in percent from 0 to 100 and whole
epochs (pyqtgraph would otherwise show "x0.001" scale prefixes and ticks at 2.5 epochs).
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from classifier.types import EpochStats
from ui import style

CURVE_COLOURS = {"train": style.colour("accent"), "validation": style.colour("warning")}
CURVE_TITLES = {"train": "training images", "validation": "validation images"}
LOSS_HELP = (
    "Loss (cross-entropy) measures how wrong the model's answers are, counting how sure it "
    "was: it falls as the model learns. Validation loss rising while training loss falls "
    "means the model memorises its training images instead of learning the classes."
)
ACCURACY_HELP = (
    "The share of images classified correctly, in percent. Validation images are not "
    "trained on: their accuracy shows how well the model does on images it has not seen."
)


class EpochAxis(pg.AxisItem):
    """An axis of whole epochs: ticks at integers only, never at 2.5."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float):
        levels = [
            (float(math.ceil(spacing)), offset)
            for spacing, offset in super().tickSpacing(minVal, maxVal, size)
            if spacing >= 1
        ]
        return levels or [(1.0, 0)]

    def tickStrings(self, values, scale, spacing):
        return [str(round(v)) for v in values]


class CurvePlot(pg.PlotWidget):
    """Training and validation curves of one metric, one point per epoch.

    `percent` plots shares (0..1) as percent on a fixed 0-100 axis; the legend lives outside
    the plot (in `TrainingCurves`), so stage marks never collide with it."""

    def __init__(self, title: str, ylabel: str, *, percent: bool = False) -> None:
        super().__init__(axisItems={"bottom": EpochAxis("bottom")})
        self.setBackground(None)
        self.percent = percent
        item = self.getPlotItem()
        item.setTitle(title)
        item.setLabel("bottom", "epoch")
        item.setLabel("left", ylabel)
        item.showGrid(x=True, y=True, alpha=0.2)
        for side in ("left", "bottom"):
            item.getAxis(side).enableAutoSIPrefix(False)  # no "(x0.001)": units stay put
        box = item.getViewBox()
        box.setLimits(xMin=0)
        if percent:
            item.setYRange(0, 100, padding=0.02)
            box.setMouseEnabled(y=False)
            box.enableAutoRange(y=False)
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
            pen=pg.mkPen(style.colour("mark"), style=Qt.PenStyle.DashLine),
            label=stage,
            # Accuracy curves rise to the top and loss curves fall: label where they are not.
            labelOpts={
                "position": 0.08 if self.percent else 0.95,
                "color": style.colour("mark_label"),
            },
        )
        self.addItem(mark)
        self.stage_marks.append(mark)

    def add_point(self, name: str, epoch: int, value: float | None) -> None:
        if value is None:
            return
        xs, ys = self.points[name]
        xs.append(epoch)
        ys.append(100 * value if self.percent else value)
        self.curves[name].setData(xs, ys)
        # At least three epochs wide, so one or two points do not stretch into fractions.
        self.getPlotItem().setXRange(0.5, max(3, epoch) + 0.5, padding=0)

    def overlay(self, name: str, points: list[tuple[int, float | None]]) -> None:
        """Another run's `name` curve, dashed, on the same axes (two runs compared)."""
        points = [(x, 100 * y if self.percent else y) for x, y in points if y is not None]
        if not points:
            return
        xs, ys = (list(v) for v in zip(*points, strict=True))
        pen = pg.mkPen(CURVE_COLOURS[name], width=2, style=Qt.PenStyle.DashLine)
        self.getPlotItem().plot(xs, ys, pen=pen)
        shown = self.getPlotItem().getViewBox().viewRange()[0][1]
        self.getPlotItem().setXRange(0.5, max(3, max(xs) + 0.5, shown), padding=0)


def legend_html() -> str:
    """The curves' legend, once for both plots: a coloured line and what it stands for."""
    return "&nbsp;&nbsp;&nbsp;".join(
        f"<span style='color:{CURVE_COLOURS[name]}; font-weight:bold'>━━</span> {title}"
        for name, title in CURVE_TITLES.items()
    )


class TrainingCurves(QWidget):
    """Loss and accuracy side by side under one legend; a new stage (e.g. fine-tuning) gets
    a mark on both."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss = CurvePlot("Loss: how wrong (lower is better)", "cross-entropy")
        self.loss.setToolTip(LOSS_HELP)
        self.accuracy = CurvePlot("Accuracy (higher is better)", "% correct", percent=True)
        self.accuracy.setToolTip(ACCURACY_HELP)
        self.legend = QLabel(legend_html())
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._last_stage = ""  # of the last epoch shown
        plots = QHBoxLayout()
        plots.setContentsMargins(0, 0, 0, 0)
        plots.addWidget(self.loss)
        plots.addWidget(self.accuracy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.legend)
        layout.addLayout(plots, 1)

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

    def overlay_epochs(self, epochs: list[EpochStats]) -> None:
        """Another run's curves, dashed, over the ones shown (two runs compared)."""
        for plot, metric in ((self.loss, "loss"), (self.accuracy, "accuracy")):
            plot.overlay("train", [(e.epoch, getattr(e, metric)) for e in epochs])
            plot.overlay("validation", [(e.epoch, getattr(e, f"val_{metric}")) for e in epochs])
