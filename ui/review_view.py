"""Review mode: one image at a time, least certain first, decided with one key each.

Keys: 1-9 assign the class with that number, Enter or A accepts the prediction, X marks "none
of these", Space skips, Backspace or Ctrl+Z undoes, Esc goes back to the table. Every decision
goes to the session's journal (on disk before the next image shows) and advances at once; the
next images are decoded ahead on the loader's threads, so the next one is usually in memory when
the key is pressed (bench/bench_review_keys.py measures key press to image). The last decisions
stay visible below the image; clicking one shows that image again to change it.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from classifier.review import predicted_class
from classifier.types import Prediction
from classifier.uncertainty import novelty_scores, probability_matrix, review_order
from ui.prediction_bars import PredictionBars
from ui.review_keys import ReviewKeys
from ui.review_order import NOVELTY, NOVELTY_TEXT, update_novelty_order
from ui.review_session import NONE_TEXT, ReviewSession
from ui.tasks import TaskRunner
from ui.thumbnails import ThumbnailLoader

IMAGE_SIZE = 720  # decoded size of the large image
PRELOAD = 6  # images decoded ahead of the current one
STRIP = 5  # last decisions and next images shown in the strip
STRIP_SIZE = 64
ORDERS = [
    ("margin", "Least certain first (margin)"),
    ("entropy", "Least certain first (entropy)"),
    (NOVELTY, NOVELTY_TEXT),
    ("table", "As the table shows (its sort and filters)"),
]
KEY_HELP = (
    "<b>1–9</b> class · <b>Enter</b>/<b>A</b> accept · <b>X</b> none of these · "
    "<b>Space</b> skip · <b>Backspace</b>/<b>Ctrl+Z</b> undo · <b>Esc</b> back to the table"
)


class ReviewView(ReviewKeys, QWidget):
    leave_requested = Signal()

    def __init__(
        self,
        session: ReviewSession,
        table_rows: Callable[[], list[Prediction]],
        runner: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = runner  # orders the queue off the GUI thread (a million rows: seconds)
        self.table_rows = table_rows  # the rows as the results table shows them
        self.queue: list[Prediction] = []
        self.position = 0
        self.revisit: Prediction | None = None  # a decided image shown again (undo, strip)
        self.shown: Prediction | None = None
        self.image_ready = False  # the shown row's image is on screen (benchmarks wait on it)
        self.loader = ThumbnailLoader(IMAGE_SIZE, threads=2, parent=self, cache_items=4 * PRELOAD)
        self.strip_loader = ThumbnailLoader(STRIP_SIZE, threads=1, parent=self, cache_items=200)
        self.loader.loaded.connect(self._image_loaded)
        self.strip_loader.loaded.connect(lambda *_: self._show_strip())
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._build()
        session.opened.connect(self._batch_opened)
        self.recent: list = []  # the last decisions (Decision), newest first, for the strip
        session.changed.connect(self._decisions_changed)

    # --- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.counter = QLabel()
        self.order = QComboBox()
        for key, text in ORDERS:
            self.order.addItem(text, key)
        self.hide_reviewed = QCheckBox("Hide reviewed")
        self.hide_reviewed.setChecked(True)
        self.hide_reviewed.setToolTip("Leave images already reviewed out of the queue.")
        back = QPushButton("Back to table")
        back.clicked.connect(self.leave_requested)
        for widget in (self.order, self.hide_reviewed, back):
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the review
        self.order.currentIndexChanged.connect(lambda *_: self.rebuild_queue())
        self.hide_reviewed.toggled.connect(lambda *_: self.rebuild_queue())
        top = QHBoxLayout()
        top.addWidget(self.counter, 1)
        top.addWidget(QLabel("Order"))
        top.addWidget(self.order)
        top.addWidget(self.hide_reviewed)
        self.actions = QHBoxLayout()  # the labelling loop's next steps, added by its owner
        top.addLayout(self.actions)
        top.addWidget(back)

        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(320, 320)
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.file_label = QLabel()
        self.file_label.setWordWrap(True)
        self.state_label = QLabel()
        self.state_label.setWordWrap(True)
        self.bars = PredictionBars()
        self.classes = QLabel()
        self.classes.setWordWrap(True)
        self.picker = QComboBox()
        self.picker.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.picker.activated.connect(self._picked)
        self.keys = QLabel(KEY_HELP)
        self.keys.setWordWrap(True)
        side = QVBoxLayout()
        side.addWidget(self.file_label)
        side.addWidget(self.state_label)
        side.addWidget(QLabel("<b>Top predictions</b>"))
        side.addWidget(self.bars)
        side.addWidget(QLabel("<b>Classes</b>"))
        side.addWidget(self.classes)
        side.addWidget(self.picker)
        side.addStretch(1)
        side.addWidget(self.keys)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_widget.setMaximumWidth(420)
        middle = QHBoxLayout()
        middle.addWidget(self.image, 1)
        middle.addWidget(side_widget)

        self.recent_buttons = [self._strip_button(True) for _ in range(STRIP)]
        self.next_buttons = [self._strip_button(False) for _ in range(STRIP)]
        strip = QHBoxLayout()
        strip.addWidget(QLabel("Last decisions"))
        for button in self.recent_buttons:
            strip.addWidget(button)
        strip.addStretch(1)
        strip.addWidget(QLabel("Next"))
        for button in self.next_buttons:
            strip.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(middle, 1)
        layout.addLayout(strip)

    def add_action(self, text: str, slot: Callable[[], None]) -> QPushButton:
        """A button in the top bar (it never takes the keys' focus)."""
        button = QPushButton(text)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(slot)
        self.actions.addWidget(button)
        return button

    def _strip_button(self, clickable: bool) -> QToolButton:
        button = QToolButton()
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        button.setIconSize(QSize(STRIP_SIZE, STRIP_SIZE))
        button.setFixedWidth(STRIP_SIZE + 36)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setAutoRaise(True)
        button.setVisible(False)
        if clickable:
            button.clicked.connect(lambda: self.show_row(button.property("row")))
        return button

    # --- the queue ------------------------------------------------------------------------

    def _batch_opened(self) -> None:
        model = self.session.model
        if model is not None:
            self.loader.set_preprocessing(model.preprocessing)
            self.strip_loader.set_preprocessing(model.preprocessing)
        names = self.session.class_names
        self.classes.setText(
            " · ".join(f"<b>{i + 1}</b> {name}" for i, name in enumerate(names[:9]))
            + (f" · {len(names) - 9} more in the list below" if len(names) > 9 else "")
            + "<br>Another class, or a new one: the list below."
        )
        self.picker.clear()
        self.picker.addItem("Another class…", None)
        for name in names:
            self.picker.addItem(name, name)
        self.picker.addItem("New class…", None)
        update_novelty_order(self.order, self.session.rows)
        self.rebuild_queue()

    def rebuild_queue(self) -> None:
        """Order the batch again (a new order, hiding reviewed rows, re-scored rows); the
        ordering runs as a task, the queue is replaced when it is done."""
        rows, journal = self.session.rows, self.session.journal
        by, hide = self.order.currentData(), self.hide_reviewed.isChecked()
        n_classes = len(self.session.class_names)
        shown = self.table_rows() if by == "table" else None  # read on the GUI thread

        def job(ctx) -> list[Prediction]:
            skip = journal.reviewed_mask(rows) if hide and journal is not None else None
            if shown is not None:
                queue = [r for r in shown if not r.error and r.probabilities]
                if hide and journal is not None:
                    queue = [r for r in queue if journal.decision(r.digest) is None]
                return queue
            p = probability_matrix(rows, n_classes)
            scores = novelty_scores(rows) if by == NOVELTY else None
            return [rows[i] for i in review_order(p, by, skip=skip, novelty=scores)]

        self.queue, self.position, self.revisit = [], 0, None
        self.image_ready = False
        self.image.setPixmap(QPixmap())
        self.image.setText("Ordering the images…")
        self.runner.start("review-queue", job, finished=self._queue_ready)

    def _queue_ready(self, queue: list[Prediction]) -> None:
        self.queue, self.position, self.revisit = queue, 0, None
        self._show_current()

    def current(self) -> Prediction | None:
        if self.revisit is not None:
            return self.revisit
        return self.queue[self.position] if self.position < len(self.queue) else None

    def show_row(self, row: Prediction | None) -> None:
        """Show a decided image again (from the strip) to change its decision."""
        if row is not None:
            self.revisit = row
            self._show_current()
        self.setFocus()

    # --- showing --------------------------------------------------------------------------

    def _decisions_changed(self) -> None:
        journal = self.session.journal
        # Read once per change: recent() sorts every decision, too much for each thumbnail.
        self.recent = list(reversed(journal.recent(STRIP))) if journal is not None else []
        self._show_counts()

    def _show_counts(self) -> None:
        counts = self.session.counts
        queued = len(self.queue) - self.position
        self.counter.setText(f"<b>{counts.text()}</b> · {max(queued, 0):,} left in this order")

    def _show_current(self) -> None:
        row = self.current()
        self.shown = row
        self._show_counts()
        self._show_strip()
        if row is None:
            self.image_ready = False
            self.image.setPixmap(QPixmap())
            self.image.setText(
                "Nothing left to review in this order."
                if self.session.rows
                else "Classify a folder first."
            )
            self.file_label.clear()
            self.state_label.clear()
            self.bars.set_probabilities((), None)
            return
        self.file_label.setText(f"<b>{escape(row.file)}</b>")
        decision = self.session.decision(row)
        predicted = predicted_class(row, self.session.class_names)
        if decision is None:
            self.state_label.setText(f"Model says <b>{escape(predicted)}</b> · not reviewed yet")
        else:
            said = NONE_TEXT if decision.none_of_these else decision.label
            self.state_label.setText(
                f"Model says <b>{escape(predicted)}</b> · you said <b>{escape(said)}</b>"
            )
        self.bars.set_probabilities(self.session.class_names, row.probabilities)
        self._show_image(row)
        self._preload()

    def _show_image(self, row: Prediction) -> None:
        known, pixmap = self.loader.cached(row.path)
        if not known:
            self.image_ready = False
            self.image.setPixmap(QPixmap())
            self.image.setText("Loading…")
            self.loader.request(row.path)
            return
        self.image_ready = True
        if pixmap is None:
            self.image.setPixmap(QPixmap())
            self.image.setText("This image could not be read.")
            return
        target = self.image.size()  # logical pixels; the pixmap may have 2 per one (HiDPI)
        ratio = pixmap.devicePixelRatio()
        fit = min(
            target.width() * ratio / pixmap.width(), target.height() * ratio / pixmap.height()
        )
        # Larger than the space: reduced smoothly. Small cutouts: enlarged with crisp pixels.
        # In between it is shown as decoded: no scaling on the key press at all.
        if fit < 1 or fit >= 2:
            mode = (
                Qt.TransformationMode.SmoothTransformation
                if fit < 1
                else Qt.TransformationMode.FastTransformation
            )
            pixmap = pixmap.scaled(target * ratio, Qt.AspectRatioMode.KeepAspectRatio, mode)
            pixmap.setDevicePixelRatio(ratio)
        self.image.setPixmap(pixmap)

    def _preload(self) -> None:
        """Ask for the next images, farthest first: the loader decodes the newest request
        first, so the very next image is decoded before the ones after it."""
        start = self.position + (0 if self.revisit is not None else 1)
        ahead = [r.path for r in self.queue[start : start + PRELOAD] if r.path is not None]
        for path in reversed(ahead):
            if not self.loader.cached(path)[0]:
                self.loader.request(path)

    def _image_loaded(self, path: Path, _pixmap) -> None:
        if self.shown is not None and self.shown.path == path and not self.image_ready:
            self._show_image(self.shown)

    def _show_strip(self) -> None:
        for button, decision in zip(
            self.recent_buttons, [*self.recent, *[None] * STRIP], strict=False
        ):
            rows = self.session.rows_of(decision.digest) if decision is not None else []
            text = (NONE_TEXT if decision.none_of_these else decision.label) if rows else ""
            self._fill_button(button, rows[0] if rows else None, text)
        start = self.position + (0 if self.revisit is not None else 1)
        upcoming = self.queue[start : start + STRIP]
        for button, row in zip(self.next_buttons, [*upcoming, *[None] * STRIP], strict=False):
            self._fill_button(button, row, row.label if row is not None else "")

    def _fill_button(self, button: QToolButton, row: Prediction | None, text: str) -> None:
        button.setVisible(row is not None)
        button.setProperty("row", row)
        if row is None:
            return
        known, pixmap = self.strip_loader.cached(row.path)
        if not known:
            self.strip_loader.request(row.path)
        button.setIcon(QIcon(pixmap) if pixmap is not None else QIcon())
        metrics = button.fontMetrics()
        button.setText(metrics.elidedText(text, Qt.TextElideMode.ElideRight, STRIP_SIZE + 30))
        button.setToolTip(f"{row.file}: {text}")

    def shutdown(self) -> None:
        self.loader.shutdown()
        self.strip_loader.shutdown()
