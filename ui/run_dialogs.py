"""A run of the history seen again (its curves and results as they were), and two runs compared
side by side (curves overlaid, score differences). Both read `classifier.run_history` records.

`python -m ui.run_dialogs` opens the comparison of the two newest runs in the history.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from classifier.model_info import model_title
from classifier.run_history import RunRecord, compare, saved_model
from ui import style
from ui.curves import TrainingCurves
from ui.evaluation_panel import EvaluationPanel
from ui.thumbnails import ThumbnailLoader


def _lay_out(dialog: QDialog, header: QWidget, top: QWidget, bottom: QWidget, sizes) -> None:
    """Header, then curves above a table in a splitter, then Close."""
    splitter = QSplitter(Qt.Orientation.Vertical)
    splitter.addWidget(top)
    splitter.addWidget(bottom)
    splitter.setSizes(sizes)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(header)
    layout.addWidget(splitter, 1)
    layout.addWidget(buttons)
    dialog.resize(1100, 800)


def run_title(record: RunRecord) -> str:
    """'12 Dec 2026 14:05, star_clusters: EfficientNet-Lite0'"""
    when = record.created.astimezone().strftime("%d %b %Y %H:%M") if record.created else "?"
    dataset = record.dataset.name if record.dataset else "unknown dataset"
    return f"{when}, {dataset}: {model_title(record.config)}"


def model_text(record: RunRecord) -> str:
    """Where the run's model is: its file, or that it was not kept."""
    if saved_model(record) is not None:
        return f"Saved as {record.saved}"
    if record.saved is not None:
        return f"Saved as {record.saved}, which is no longer there"
    return "The model was not saved, so it was not kept: train again with these options to use it"


class RunDialog(QDialog):
    """One run of the history, as it finished: curves, test scores, confusion matrix."""

    def __init__(
        self, record: RunRecord, loader: ThumbnailLoader, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.record = record
        self.setObjectName("sortscope-run")
        self.setWindowTitle(f"Run of {run_title(record)}")
        header = QLabel(
            f"<b>{run_title(record)}</b><br>Dataset {record.dataset}<br>{model_text(record)}."
        )
        header.setWordWrap(True)
        header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.curves = TrainingCurves()
        self.curves.add_epochs(list(record.run.history))
        self.results = EvaluationPanel(loader)
        self.results.show_evaluation(record.evaluation)
        self.results.save_button.setVisible(False)  # the model itself is not in the history
        if not record.all_test_images:
            header.setText(
                header.text() + "<br>Only the misclassified test images were kept for this run."
            )
        _lay_out(self, header, self.curves, self.results, [260, 520])


class CompareDialog(QDialog):
    """Two runs side by side: B measured against A."""

    def __init__(self, a: RunRecord, b: RunRecord, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sortscope-compare")
        self.setWindowTitle("Compare two runs")
        header = QLabel(
            f"<b>A</b> (solid lines): {run_title(a)}<br><b>B</b> (dashed lines): {run_title(b)}"
        )
        header.setWordWrap(True)
        self.curves = TrainingCurves()  # A as the Train area draws a run, B dashed over it
        self.curves.add_epochs(list(a.run.history))
        self.curves.overlay_epochs(list(b.run.history))
        self.differences = compare(a, b)
        self.table = QTableWidget(len(self.differences), 4)
        self.table.setHorizontalHeaderLabels(["", "A", "B", "B compared with A"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header_view = self.table.horizontalHeader()
        header_view.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header_view.setStretchLastSection(True)
        for row, d in enumerate(self.differences):
            for column, text in enumerate((d.what, d.a, d.b, d.change)):
                item = QTableWidgetItem(text)
                if column == 3:
                    item.setForeground(_change_colour(d.change))
                self.table.setItem(row, column, item)
        _lay_out(self, header, self.curves, self.table, [340, 360])


def _change_colour(change: str):
    """Better scores in the accent colour, worse ones in the error colour."""
    if change.startswith("+") and "points" in change:
        return style.qcolor("accent")
    if change.startswith("-") and "points" in change:
        return style.qcolor("error")
    return style.qcolor("hint")


if __name__ == "__main__":
    import sys

    from PySide6.QtWidgets import QApplication

    from classifier.run_history import load

    app = QApplication(sys.argv)
    style.apply(app)
    runs = load().runs
    if len(runs) < 2:
        sys.exit("The run history holds fewer than two runs; train twice first.")
    dialog = CompareDialog(runs[1], runs[0])
    dialog.show()
    sys.exit(app.exec())
