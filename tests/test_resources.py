"""resources/: the icon, palette, style sheet and desktop-entry template ship with the package."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import resources

ROOT = Path(__file__).parent.parent


def test_every_icon_size_is_a_png_of_that_size():
    from PIL import Image

    for size in resources.ICON_SIZES:
        data = resources.icon_png(size)
        assert data.startswith(b"\x89PNG")
        path = ROOT / "resources" / "icons" / f"sortscope-{size}.png"
        with Image.open(path) as image:
            assert image.size == (size, size)
            assert image.mode == "RGBA"
            # Drawn, not blank: the middle is opaque and the corners (rounded) see-through.
            assert image.getpixel((size // 2, size // 2))[3] == 255
            assert image.getpixel((0, 0))[3] < 64
    with pytest.raises(ValueError):
        resources.icon_png(20)


def test_palette_colours_and_style_sheet_placeholders():
    palette = resources.palette()
    assert all(re.fullmatch(r"#[0-9a-f]{6}", v) for v in palette.values()), palette
    from ui.style import style_sheet

    sheet = style_sheet()
    assert "@" not in sheet  # every @role was a palette colour
    assert palette["error"] in sheet


def test_no_inline_hex_colours_in_the_widgets():
    """Colours come from the palette (resources/palette.json), never a hex string in ui/."""
    offenders = [
        f"{path.name}:{n}"
        for path in (ROOT / "ui").glob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"""["']#[0-9a-fA-F]{3,8}["']""", line)
    ]
    assert not offenders, offenders


def test_app_icon_has_every_size(qapp):
    from ui.style import app_icon

    sizes = {(s.width(), s.height()) for s in app_icon().availableSizes()}
    assert {(s, s) for s in resources.ICON_SIZES} <= sizes


def test_resources_found_in_an_installed_wheel(tmp_path):
    """A non-editable wheel carries resources/, and the installed copy finds its icon."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "main.py"):
        shutil.copy(ROOT / name, source / name)
    for package in ("classifier", "ui", "resources"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "-q", "-w", str(dist), str(source)], check=True, timeout=300)
    (wheel,) = dist.glob("sortscope-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    expected = {f"resources/icons/sortscope-{s}.png" for s in resources.ICON_SIZES} | {
        "resources/sortscope.svg",
        "resources/sortscope.desktop.in",
        "resources/palette.json",
        "resources/style.qss",
    }
    assert expected <= names, expected - names

    target = tmp_path / "installed"
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q"]
    subprocess.run([*install, "--target", str(target), str(wheel)], check=True, timeout=300)
    probe = (
        "import json, resources; print(json.dumps([resources.__file__, "
        "len(resources.icon_png(512)), sorted(resources.palette())]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,  # not the checkout: the installed copy must be the one found
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    location, size, roles = json.loads(done.stdout)
    assert Path(location).is_relative_to(target)
    assert size == len(resources.icon_png(512))
    assert "accent" in roles
