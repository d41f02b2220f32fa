"""The batch view's novelty controls: mark rows unfamiliar above a threshold, show only them.

Like the confidence threshold, the novelty threshold relabels rows live (their probabilities
stay); shown only when the model carries a description of its training images.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QWidget

from ui.results_model import ResultsModel

DEFAULT_NOVELTY_THRESHOLD = 0.99  # more unusual than 99 % of the training images


def novelty_controls(results: ResultsModel, only_unfamiliar: Callable[[bool], None]) -> QWidget:
    box = QWidget()
    mark = QCheckBox("Unfamiliar above")
    mark.setToolTip(
        "Label images 'unfamiliar' when they are more unusual than this share of the "
        "training images (novelty 0..1); their probabilities stay."
    )
    value = QDoubleSpinBox()
    value.setRange(0.0, 1.0)
    value.setDecimals(3)
    value.setSingleStep(0.005)
    value.setValue(DEFAULT_NOVELTY_THRESHOLD)
    only = QCheckBox("Unfamiliar only")

    def apply() -> None:
        results.set_novelty_threshold(value.value() if mark.isChecked() else None)
        only.setEnabled(mark.isChecked())

    mark.toggled.connect(apply)
    value.valueChanged.connect(apply)
    only.toggled.connect(only_unfamiliar)
    only.setEnabled(False)
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in (mark, value, only):
        layout.addWidget(widget)
    box.setVisible(False)
    box.mark, box.value, box.only = mark, value, only  # for tests and the host
    return box
