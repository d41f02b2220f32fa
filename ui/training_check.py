"""Before a run: the dataset's problems that change what the model learns (files that will be
skipped, an image in two classes), in words, with the choice to go on or cancel."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QMessageBox, QWidget

from classifier.scan import problem_text
from classifier.types import Problem, ScanResult

MAX_LISTED = 8  # more would make the dialog taller than the screen; the rest are counted


def problems_box(parent: QWidget | None, scan: ScanResult, problems: list[Problem]) -> QMessageBox:
    """The question, not yet asked: 'Train anyway' or 'Cancel' (the default)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Problems in the dataset")
    box.setText(
        f"<b>{scan.root.name}</b> has {len(problems)} problem(s) that change what the model "
        "learns from:"
    )
    items = "".join(f"<li>{escape(problem_text(p, scan.root))}</li>" for p in problems[:MAX_LISTED])
    more = len(problems) - MAX_LISTED
    if more > 0:
        items += f"<li>and {more} more</li>"
    box.setInformativeText(
        f"<ul>{items}</ul>Unreadable files are skipped; an image in two classes is learnt as "
        "both. Fix them in the dataset folder (the Dataset area lists every problem and shows "
        "its image), or train anyway."
    )
    box.addButton("Train anyway", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(box.addButton(QMessageBox.StandardButton.Cancel))
    return box


def confirm_training(parent: QWidget | None, scan: ScanResult, problems: list[Problem]) -> bool:
    """Ask whether to train despite `problems`; True to go on."""
    box = problems_box(parent, scan, problems)
    box.exec()
    return box.buttonRole(box.clickedButton()) == QMessageBox.ButtonRole.AcceptRole
