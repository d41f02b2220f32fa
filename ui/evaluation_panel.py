"""The Results page of the Train area: the honest evaluation of a run on its held-out test images,
per class and as a confusion matrix whose cells click through to the images behind them."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from classifier.evaluate import accuracy_interval, reliability_warning, verdict
from classifier.types import Evaluation
from ui import style
from ui.thumbnails import ThumbnailLoader
from ui.widgets import ThumbnailStrip, hint, two_lines

METRIC_HELP = {
    "Precision": "Of the test images the model called this class, the share that really are "
    "(high: few false alarms).",
    "Recall": "Of the test images of this class, the share the model found (high: few missed).",
    "F1": "Precision and recall in one number (their harmonic mean): high only when both are.",
    "Test images": "Held-out images of this class the scores are computed from: the fewer, "
    "the rougher the scores.",
}
METRIC_HINT = (
    "Rows are the true class; the first columns count what the model predicted (click a cell "
    "to see its images). Precision: of the images called this class, how many are. Recall: of "
    "this class's images, how many were found. F1: both in one number. Hover a heading for more."
)


class ConfusionTable(QTableWidget):
    """Per class, one row: the confusion matrix as a heat-map (columns: predicted class), then
    its precision, recall, F1 and test images. One table names each class once, which is what
    lets six classes fit. Clicking a matrix cell asks for the images behind it."""

    cell_chosen = Signal(str, str)  # true class, predicted class

    def __init__(self) -> None:
        super().__init__()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(44)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.cellClicked.connect(self._clicked)
        self.classes: tuple[str, ...] = ()

    def show_matrix(self, evaluation: Evaluation) -> None:
        self.classes = evaluation.classes
        n = len(self.classes)
        self.setRowCount(n)
        self.setColumnCount(n + len(METRIC_HELP))
        for j, name in enumerate(self.classes):
            self.setHorizontalHeaderItem(j, _item(two_lines(name), f"predicted {name}"))
            row = _item(name, f"true class {name}")
            row.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            self.setVerticalHeaderItem(j, row)
        for k, (name, help_text) in enumerate(METRIC_HELP.items()):
            self.setHorizontalHeaderItem(n + k, _item(two_lines(name), help_text))
        for i, row in enumerate(evaluation.confusion_matrix):
            total = sum(row) or 1
            for j, count in enumerate(row):
                share = count / total
                tip = f"true {self.classes[i]}, predicted {self.classes[j]}: {count}"
                item = _item(str(count), tip)
                base = style.rgb("accent" if i == j else "error")
                alpha = int(40 + 200 * share) if count else 0
                item.setBackground(QColor(*base, alpha))
                self.setItem(i, j, item)
            m = evaluation.per_class[self.classes[i]]
            scores = (f"{m.precision:.0%}", f"{m.recall:.0%}", f"{m.f1:.0%}", str(m.support))
            for k, value in enumerate(scores):
                self.setItem(i, n + k, _item(value, list(METRIC_HELP.values())[k]))

    def metrics(self, row: int) -> dict[str, str]:
        """The scores shown in `row`, by heading (for tests and screen readers)."""
        n = len(self.classes)
        return {name: self.item(row, n + k).text() for k, name in enumerate(METRIC_HELP)}

    def _clicked(self, row: int, column: int) -> None:
        if row < len(self.classes) and column < len(self.classes):
            self.cell_chosen.emit(self.classes[row], self.classes[column])


def _item(text: str, tooltip: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
    item.setToolTip(tooltip)
    return item


def summary_text(evaluation: Evaluation) -> str:
    """The evaluation in plain words: how sure the score is for the test set's size, and the
    model beside the do-nothing baseline (the core's verdict, which weighs that certainty)."""
    if evaluation.n_images == 0:
        return (
            "<b>No test images</b>: set Test % above zero to get an honest score on images "
            "the model never saw."
        )
    interval = accuracy_interval(evaluation)
    return (
        f"<span style='font-size:15px'><b>{evaluation.accuracy:.1%}</b> of "
        f"{evaluation.n_images} held-out test images classified correctly</span> "
        f"(balanced accuracy {evaluation.balanced_accuracy:.1%}, which weighs every class "
        f"equally).<br>With {evaluation.n_images} test images the true accuracy lies between "
        f"<b>{interval.low:.0%}</b> and <b>{interval.high:.0%}</b> "
        f"({interval.level:.0%} confidence interval; more test images narrow it). "
        f"Always answering <i>{escape(evaluation.baseline_class)}</i> would score "
        f"{evaluation.baseline_accuracy:.1%}: the model is <b>{verdict(evaluation)}</b> that "
        f"baseline. {len(evaluation.misclassified)} test image(s) were misclassified; click a "
        "cell of the matrix to see them."
    )


class EvaluationPanel(QWidget):
    """One run's scores: summary, per-class table, confusion matrix and the images of a cell."""

    save_requested = Signal()
    misclassified_requested = Signal()
    export_requested = Signal()
    report_requested = Signal()

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.evaluation: Evaluation | None = None
        self.summary = QLabel("Results appear here when a run finishes.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.warning = QLabel()  # classes with too few test images for their scores to hold
        self.warning.setWordWrap(True)
        style.set_role(self.warning, "alert")
        self.warning.setVisible(False)
        self.confusion = ConfusionTable()
        self.confusion.cell_chosen.connect(self.show_cell)
        self.cell_title = QLabel("Click a cell of the matrix to see its test images.")
        self.cell_title.setWordWrap(True)
        self.cell_images = ThumbnailStrip(loader)
        self.save_button = QPushButton("Save model…")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save_requested)
        self.misclassified_button = QPushButton("Misclassified images…")
        self.misclassified_button.setToolTip(
            "Every training, validation and test image the model gets wrong, with its true "
            "and predicted class: often an image filed in the wrong folder."
        )
        self.misclassified_button.setEnabled(False)
        self.misclassified_button.clicked.connect(self.misclassified_requested)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("TFLite, SavedModel, Keras or ONNX, for use elsewhere")
        self.export_button.clicked.connect(self.export_requested)
        self.report_button = QPushButton("Save report…")
        self.report_button.setToolTip("One HTML file with the data, options, curves and scores")
        self.report_button.clicked.connect(self.report_requested)
        for button in (self.export_button, self.report_button):
            button.setEnabled(False)
        matrix = QVBoxLayout()
        matrix.addWidget(QLabel("<b>Per class</b>: the confusion matrix and the scores"))
        matrix.addWidget(self.confusion, 1)
        matrix.addWidget(hint(METRIC_HINT))
        buttons = QVBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.misclassified_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.report_button)
        buttons.addStretch()
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.warning)
        layout.addLayout(matrix, 3)
        layout.addWidget(self.cell_title)
        layout.addWidget(self.cell_images, 2)

    def show_evaluation(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.summary.setText(summary_text(evaluation))
        warning = reliability_warning(evaluation)
        self.warning.setText(f"⚠ {warning}" if warning else "")
        self.warning.setVisible(bool(warning))
        self.confusion.show_matrix(evaluation)
        self.cell_title.setText("Click a cell of the matrix to see its test images.")
        self.cell_images.show_items([])
        buttons = (self.save_button, self.misclassified_button, self.export_button)
        for button in (*buttons, self.report_button):
            button.setEnabled(True)

    def show_cell(self, true_label: str, predicted: str) -> None:
        if self.evaluation is None:
            return
        images = self.evaluation.cell(true_label, predicted)
        kind = "correct" if true_label == predicted else "mistakes"
        self.cell_title.setText(
            f"<b>{len(images)}</b> test image(s) of <b>{escape(true_label)}</b> "
            f"predicted as <b>{escape(predicted)}</b> ({kind})."
        )
        self.cell_images.show_items(
            [
                (
                    i.path,
                    f"{i.predicted_label} {i.confidence:.0%}",
                    f"{i.path}\ntrue: "
                    f"{i.true_label}\npredicted: {i.predicted_label} ({i.confidence:.1%})",
                )
                for i in images
            ]
        )
