"""The app's look in one place: the icon, the colour palette and the style sheet from resources/.

Widgets ask for colours by role (`colour("error")`, `qcolor("accent", 60)`) instead of writing
hex strings, and mark labels with a role (`set_role(label, "hint")`) the style sheet styles.
"""

from __future__ import annotations

import re
from functools import cache

from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

import resources


def colour(role: str) -> str:
    """'#rrggbb' of a palette role; an unknown role is a programming error (KeyError)."""
    return resources.palette()[role]


def qcolor(role: str, alpha: int | None = None) -> QColor:
    """The palette colour of `role`, see-through by `alpha` (0-255) when given."""
    colour_ = QColor(colour(role))
    if alpha is not None:
        colour_.setAlpha(alpha)
    return colour_


def rgb(role: str) -> tuple[int, int, int]:
    c = qcolor(role)
    return c.red(), c.green(), c.blue()


def style_sheet() -> str:
    """resources/style.qss with every @role replaced by its palette colour."""
    palette = resources.palette()

    def fill(match: re.Match) -> str:
        return palette[match.group(1)]

    return re.sub(r"@([a-z_]+)", fill, resources.read_text("style.qss"))


def set_role(widget: QWidget, role: str) -> QWidget:
    """Give `widget` a style-sheet role ('error', 'hint', 'guide'); returns it for chaining."""
    widget.setProperty("role", role)
    widget.style().unpolish(widget)  # a role set after the widget was styled takes effect too
    widget.style().polish(widget)
    return widget


@cache
def app_icon() -> QIcon:
    """Sortscope's icon, every rendered size (Qt picks the closest for title bars, docks...)."""
    icon = QIcon()
    for size in resources.ICON_SIZES:
        pixmap = QPixmap()
        pixmap.loadFromData(resources.icon_png(size), "PNG")
        icon.addPixmap(pixmap)
    return icon


def icon_pixmap(size: int) -> QPixmap:
    """The icon at `size` logical pixels, sharp on high-DPI screens."""
    return app_icon().pixmap(size, size)


def apply(app: QApplication) -> None:
    """Give the application its icon (every window and dialog inherits it) and style sheet."""
    app.setWindowIcon(app_icon())
    app.setStyleSheet(style_sheet())
