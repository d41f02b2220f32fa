"""The Results page of the Train area: the honest evaluation of a run on its held-out test images,
per class and as a confusion matrix whose cells click through to the images behind them."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from classifier.evaluate import verdict
from classifier.types import Evaluation
from ui.thumbnails import ThumbnailLoader
from ui.widgets import ThumbnailStrip


class ConfusionTable(QTableWidget):
    """The confusion matrix as a heat-map; clicking a cell asks for the images behind it."""

    cell_chosen = Signal(str, str)  # true class, predicted class

    def __init__(self) -> None:
        super().__init__()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.cellClicked.connect(self._clicked)
        self.classes: tuple[str, ...] = ()

    def show_matrix(self, evaluation: Evaluation) -> None:
        self.classes = evaluation.classes
        n = len(self.classes)
        self.setRowCount(n)
        self.setColumnCount(n)
        self.setHorizontalHeaderLabels([f"predicted {c}" for c in self.classes])
        self.setVerticalHeaderLabels(list(self.classes))
        for i, row in enumerate(evaluation.confusion_matrix):
            total = sum(row) or 1
            for j, count in enumerate(row):
                share = count / total
                item = QTableWidgetItem(str(count))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                base = (59, 130, 196) if i == j else (214, 69, 69)
                alpha = int(40 + 200 * share) if count else 0
                item.setBackground(QColor(*base, alpha))
                item.setToolTip(f"true {self.classes[i]}, predicted {self.classes[j]}: {count}")
                self.setItem(i, j, item)

    def _clicked(self, row: int, column: int) -> None:
        if row < len(self.classes) and column < len(self.classes):
            self.cell_chosen.emit(self.classes[row], self.classes[column])


def summary_text(evaluation: Evaluation) -> str:
    """The evaluation in plain words, model beside the do-nothing baseline."""
    if evaluation.n_images == 0:
        return (
            "<b>No test images</b>: set Test % above zero to get an honest score on images "
            "the model never saw."
        )
    return (
        f"<span style='font-size:15px'><b>{evaluation.accuracy:.1%}</b> of "
        f"{evaluation.n_images} held-out test images classified correctly</span> "
        f"(balanced accuracy {evaluation.balanced_accuracy:.1%}, which weighs every class "
        f"equally).<br>Always answering <i>{evaluation.baseline_class}</i> would score "
        f"{evaluation.baseline_accuracy:.1%}: the model is {verdict(evaluation)} that "
        f"baseline. {len(evaluation.misclassified)} test image(s) were misclassified; click a "
        "cell of the matrix to see them."
    )


class EvaluationPanel(QWidget):
    """One run's scores: summary, per-class table, confusion matrix and the images of a cell."""

    save_requested = Signal()

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.evaluation: Evaluation | None = None
        self.summary = QLabel("Results appear here when a run finishes.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.per_class = QTableWidget(0, 5)
        self.per_class.setHorizontalHeaderLabels(
            ["Class", "Precision", "Recall", "F1", "Test images"]
        )
        self.per_class.verticalHeader().setVisible(False)
        self.per_class.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.per_class.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.confusion = ConfusionTable()
        self.confusion.cell_chosen.connect(self.show_cell)
        self.cell_title = QLabel(
            "Click a cell of the matrix (rows: true class, columns: "
            "predicted) to see its test images."
        )
        self.cell_title.setWordWrap(True)
        self.cell_images = ThumbnailStrip(loader)
        self.save_button = QPushButton("Save model…")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save_requested)
        tables = QSplitter(Qt.Orientation.Horizontal)
        tables.addWidget(self.per_class)
        tables.addWidget(self.confusion)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        layout.addWidget(tables, 2)
        layout.addWidget(self.cell_title)
        layout.addWidget(self.cell_images, 2)

    def show_evaluation(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.summary.setText(summary_text(evaluation))
        self.per_class.setRowCount(len(evaluation.per_class))
        for row, (name, m) in enumerate(evaluation.per_class.items()):
            values = [name, f"{m.precision:.3f}", f"{m.recall:.3f}", f"{m.f1:.3f}", str(m.support)]
            for column, value in enumerate(values):
                self.per_class.setItem(row, column, QTableWidgetItem(value))
        self.confusion.show_matrix(evaluation)
        self.cell_images.show_items([])
        self.save_button.setEnabled(True)

    def show_cell(self, true_label: str, predicted: str) -> None:
        if self.evaluation is None:
            return
        images = self.evaluation.cell(true_label, predicted)
        kind = "correct" if true_label == predicted else "mistakes"
        self.cell_title.setText(
            f"<b>{len(images)}</b> test image(s) of <b>{true_label}</b> "
            f"predicted as <b>{predicted}</b> ({kind})."
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
