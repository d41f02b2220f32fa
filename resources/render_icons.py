"""Render the PNG icons from resources/sortscope.svg: `python -m resources.render_icons`.

Run it after changing the SVG and commit the PNGs it writes; it needs only PySide6 (QtSvg,
offscreen, no screen), which Sortscope already depends on.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from resources import ICON_SIZES, RESOURCES


def render(svg: Path, size: int, target: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a valid SVG file")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(target), "PNG"):
        raise SystemExit(f"could not write {target}")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (fonts)
    svg = Path(str(RESOURCES / "sortscope.svg"))
    folder = svg.parent / "icons"
    folder.mkdir(exist_ok=True)
    for size in ICON_SIZES:
        target = folder / f"sortscope-{size}.png"
        render(svg, size, target)
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
