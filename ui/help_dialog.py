"""Help ▸ How it works and the README's key sections, readable without leaving the app.

The sections come from README.md itself, so the help never drifts from it: the copy next to the
code in a checkout, else the one installed with the package (its metadata's long description).
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

HOW_IT_WORKS = "How it works"
README_SECTIONS = ("Preparing a dataset", "Telescope frames", "Command line")

HOW_IT_WORKS_TEXT = """\
Sortscope learns your classes from examples in folders, then sorts new images with what it
learned. Three steps, one area of the window each (Ctrl+1, Ctrl+2, Ctrl+3):

1. **Dataset**: open a folder with one sub-folder per class (*File ▸ Open dataset folder…*, or drop
   it on the window). Sortscope counts the images, checks every file and lists the problems it
   found, with what to do about each.
2. **Train**: press **Start training** (Ctrl+T). A network trained on millions of photos describes
   each image; Sortscope learns from those descriptions which class is which. It keeps some images
   back to test itself and shows how often it was right. *Save model…* (Ctrl+S) keeps the result.
3. **Classify**: choose a folder of new images and press **Classify** (Ctrl+R). Every image gets a
   label and a confidence; below the *Uncertain below* threshold it is labelled *uncertain*.
   *Export CSV…* (Ctrl+E) writes the table; *Sort into folders…* copies or moves the files into one
   folder per label, and can be undone.

Everything runs on this computer, offline. Double-click an image to open it in your image viewer.
"""


def readme_text() -> str:
    """README.md: beside the code in a checkout, else from the installed package's metadata."""
    beside = Path(__file__).resolve().parent.parent / "README.md"
    if beside.is_file():
        return beside.read_text(encoding="utf-8")
    try:
        meta = metadata.metadata("sortscope")
    except metadata.PackageNotFoundError:
        return ""
    return str(meta.get_payload() or "") or str(meta.get("Description") or "")


def readme_section(text: str, title: str) -> str:
    """The section of `text` whose '## ' heading starts with `title`, without the heading."""
    parts = re.split(r"^## +(.+)$", text, flags=re.MULTILINE)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        if heading.strip().startswith(title):
            return body.strip()
    return ""


def help_pages(readme: str | None = None) -> dict[str, str]:
    """Page title -> Markdown: How it works, then the README sections that were found."""
    readme = readme_text() if readme is None else readme
    pages = {HOW_IT_WORKS: HOW_IT_WORKS_TEXT}
    for title in README_SECTIONS:
        body = readme_section(readme, title)
        pages[title] = body or (
            f"This section is in README.md, which is not installed here. It is online with "
            f"Sortscope's source, under *{title}*."
        )
    return pages


class HelpDialog(QDialog):
    """The pages listed on the left, the chosen one on the right."""

    def __init__(self, parent: QWidget | None = None, page: str = HOW_IT_WORKS) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sortscope help")
        self.setObjectName("sortscope-help")
        self.resize(860, 600)
        self.pages = help_pages()
        self.index = QListWidget()
        self.index.addItems(list(self.pages))
        self.index.setFixedWidth(200)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.index.currentTextChanged.connect(self.show_page)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.index)
        row.addWidget(self.text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(buttons)
        self.show_page(page)

    def show_page(self, title: str) -> None:
        if title not in self.pages:
            return
        self.index.blockSignals(True)
        self.index.setCurrentRow(list(self.pages).index(title))
        self.index.blockSignals(False)
        self.text.setMarkdown(f"# {title}\n\n{self.pages[title]}")
