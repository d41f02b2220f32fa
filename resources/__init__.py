"""What Sortscope ships besides code: the icon, the desktop-entry template, the colour palette and
the Qt style sheet. Installed as package data and read through importlib.resources, so it is
found the same way from a checkout, an editable install or an installed wheel.

- `sortscope.svg`, `icons/sortscope-N.png` (N in ICON_SIZES; `python -m resources.render_icons`
  renders them from the SVG)
- `sortscope.desktop.in`: the freedesktop entry `sortscope install-launcher` fills in on Linux
- `palette.json`: every colour the widgets use, by role; `style.qss`: the style sheet, written
  with `@role` placeholders for those colours (ui/style.py fills them in)
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

RESOURCES: Traversable = files(__name__)
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICON_NAME = "sortscope"  # the icon's name in icon themes, and the desktop entry's file name


def read_bytes(name: str) -> bytes:
    """A resource's content, `name` relative to this folder with '/' separators."""
    return RESOURCES.joinpath(*name.split("/")).read_bytes()


def read_text(name: str) -> str:
    return read_bytes(name).decode("utf-8")


def icon_png(size: int) -> bytes:
    """The application icon rendered at `size` x `size` pixels (one of ICON_SIZES)."""
    if size not in ICON_SIZES:
        raise ValueError(f"no {size} px icon; there are {ICON_SIZES}")
    return read_bytes(f"icons/{ICON_NAME}-{size}.png")


def icon_svg() -> bytes:
    return read_bytes(f"{ICON_NAME}.svg")


@cache
def palette() -> dict[str, str]:
    """Colour role -> '#rrggbb' (or '#aarrggbb' where the colour is see-through)."""
    data = json.loads(read_text("palette.json"))
    return {role: value for role, value in data.items() if not role.startswith("_")}
