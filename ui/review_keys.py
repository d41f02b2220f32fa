"""Review mode's keys and decisions: 1-9, Enter/A, X, Space, Backspace/Ctrl+Z and Esc decide,
skip, undo or leave (winning over menu shortcuts while the review has focus), and the class list
for the tenth class on or a new one. Mixed into `review_view.ReviewView`."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QInputDialog

from classifier.errors import SortscopeError
from classifier.review import predicted_class
from ui.errors import ErrorInfo, show_error


class ReviewKeys:
    """Needs the view's session, queue, position, revisit, picker, `current`, `_show_current`
    and `leave_requested`."""

    def event(self, event: QEvent) -> bool:
        # The review's keys win over menu shortcuts (Ctrl+Z, plain letters) while it has focus.
        if event.type() == QEvent.Type.ShortcutOverride and _is_review_key(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if Qt.Key.Key_1 <= key <= Qt.Key.Key_9 and not ctrl:
            index = key - Qt.Key.Key_1
            if index < len(self.session.class_names):
                self.decide(self.session.class_names[index])
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) or (key == Qt.Key.Key_A and not ctrl):
            self.accept_prediction()
        elif key == Qt.Key.Key_X and not ctrl:
            self.decide(None)
        elif key == Qt.Key.Key_Space:
            self.advance()
        elif key == Qt.Key.Key_Backspace or (key == Qt.Key.Key_Z and ctrl):
            self.undo()
        elif key == Qt.Key.Key_Escape:
            self.leave_requested.emit()
        else:
            super().keyPressEvent(event)

    def accept_prediction(self) -> None:
        row = self.current()
        if row is not None:
            self.decide(predicted_class(row, self.session.class_names))

    def decide(self, label: str | None) -> None:
        row = self.current()
        if row is None:
            return
        try:
            self.session.decide(row, label)
        except SortscopeError as error:  # the disk is full: say so, keep the image shown
            show_error(self, ErrorInfo(error.what, error.todo))
            return
        self.advance()

    def advance(self) -> None:
        if self.revisit is not None:
            self.revisit = None  # back to where the queue was
        elif self.position < len(self.queue):
            self.position += 1
        self._show_current()

    def undo(self) -> None:
        undone = self.session.undo()
        if undone is None:
            return
        rows = self.session.rows_of(undone.digest)
        if not rows:
            self._show_current()
            return
        previous = self.queue[self.position - 1] if 0 < self.position <= len(self.queue) else None
        if self.revisit is None and previous is not None and previous.digest == undone.digest:
            self.position -= 1
        else:
            self.revisit = rows[0]
        self._show_current()

    def _picked(self, index: int) -> None:
        name = self.picker.itemData(index)
        self.picker.setCurrentIndex(0)
        if index == self.picker.count() - 1:  # "New class…": a kind the model does not know
            name, ok = QInputDialog.getText(self, "New class", "Name of the new class:")
            name = name.strip() if ok else ""
        if name:
            self.decide(name)
        self.setFocus()


REVIEW_KEYS = {
    *(getattr(Qt.Key, f"Key_{i}") for i in range(1, 10)),
    Qt.Key.Key_Return,
    Qt.Key.Key_Enter,
    Qt.Key.Key_A,
    Qt.Key.Key_X,
    Qt.Key.Key_Space,
    Qt.Key.Key_Backspace,
    Qt.Key.Key_Z,
    Qt.Key.Key_Escape,
}


def _is_review_key(event: QKeyEvent) -> bool:
    ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
    if event.key() == Qt.Key.Key_Z:
        return ctrl
    return event.key() in REVIEW_KEYS and not ctrl
