"""The short guide at the top of the window on a first start (and from Help ▸ Getting started):
the three steps, that the example is synthetic, and where the user's data goes.

"Don't show again" is remembered (settings key GUIDE_DISMISSED); "Hide" is for this session.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from classifier import paths
from ui import settings as keys
from ui import style

ICON_SIZE = 48


def guide_text() -> str:
    return (
        "<b>Getting started: three steps, one area each (Ctrl+1, Ctrl+2, Ctrl+3).</b>"
        "<ol style='margin-top:4px; margin-bottom:4px'>"
        "<li><b>Dataset</b>: open a folder that holds one sub-folder of images per class "
        "(<i>File ▸ Open dataset folder…</i>, or drop it on the window).</li>"
        "<li><b>Train</b>: press <i>Start training</i>. The model is scored on images it never "
        "saw; <i>Save model…</i> keeps it.</li>"
        "<li><b>Classify</b>: choose a folder of new images and press <i>Classify</i>; export "
        "a CSV or sort the files into one folder per label.</li></ol>"
        "Until you open your own folder, the dataset is Sortscope's <b>example: synthetic "
        "telescope images</b> drawn by the program, not real observations. "
        "Your images stay where they are (nothing is changed unless you sort or move files), "
        "models are saved where you choose, and Sortscope keeps its own data (the example, the "
        f"run history) in {paths.data_dir()}."
    )


class GettingStarted(QFrame):
    """A dismissible guide; the main window puts it above its areas."""

    open_requested = Signal()  # "Open my dataset folder…"

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setObjectName("sortscope-guide")
        style.set_role(self, "guide")
        icon = QLabel()
        icon.setPixmap(style.icon_pixmap(ICON_SIZE))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.text = QLabel(guide_text())
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        open_button = QPushButton("Open my dataset folder…")
        open_button.clicked.connect(self.open_requested)
        hide = QPushButton("Hide")
        hide.setToolTip("Hide the guide until Sortscope starts again")
        hide.clicked.connect(self.hide)
        self.dismiss_button = QPushButton("Don't show again")
        self.dismiss_button.setToolTip("Help ▸ Getting started shows it again")
        self.dismiss_button.clicked.connect(self.dismiss)
        buttons = QVBoxLayout()
        for button in (open_button, hide, self.dismiss_button):
            buttons.addWidget(button)
        buttons.addStretch()
        layout = QHBoxLayout(self)
        layout.addWidget(icon)
        layout.addWidget(self.text, 1)
        layout.addLayout(buttons)
        self.setVisible(not self.dismissed())

    def dismissed(self) -> bool:
        value = self.settings.value(keys.GUIDE_DISMISSED, False)
        return value in (True, "true", "1", 1)

    def dismiss(self) -> None:
        """Hide the guide for good (Help ▸ Getting started still shows it)."""
        self.settings.setValue(keys.GUIDE_DISMISSED, True)
        self.hide()

    def show_guide(self) -> None:
        self.show()
