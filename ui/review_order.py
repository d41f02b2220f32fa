"""The review mode's order choice: "Most unfamiliar first" only where the batch has novelty
scores; otherwise the option stays in the list, disabled, with a tooltip saying why."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox

from classifier.types import Prediction

NOVELTY = "novelty"
NOVELTY_TEXT = "Most unfamiliar first (novelty)"
NO_NOVELTY = (
    "This batch has no novelty scores: its model was saved before models described their "
    "training images. Train or retrain the model to get them."
)
HAS_NOVELTY = "Images least like the model's training images first."


def update_novelty_order(combo: QComboBox, rows: Sequence[Prediction]) -> None:
    """Enable "Most unfamiliar first" when some row has a novelty score; when it is disabled
    while chosen, the order falls back to the first one."""
    index = combo.findData(NOVELTY)
    model = combo.model()
    if index < 0 or not isinstance(model, QStandardItemModel):
        return
    scored = any(r.novelty is not None for r in rows)
    item = model.item(index)
    item.setEnabled(scored)
    item.setToolTip(HAS_NOVELTY if scored else NO_NOVELTY)
    if not scored and combo.currentIndex() == index:
        combo.setCurrentIndex(0)
