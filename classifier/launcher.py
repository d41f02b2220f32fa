"""Put Sortscope in the applications menu (`sortscope install-launcher [--remove]`).

Each launcher starts *this* installation's `sortscope-app` (the console-free entry point next to
the Python that runs this), so a launcher made from a virtual environment starts that one.

- Linux: a freedesktop desktop entry and the icon (hicolor sizes and the SVG) in the user's XDG
  data folder ($XDG_DATA_HOME, else ~/.local/share). `Exec=... %F`: a folder dropped on the
  launcher opens as the dataset.
- Windows: a Start-menu shortcut (.lnk, written by PowerShell's WScript.Shell) with an .ico.
- macOS: ~/Applications/Sortscope.app, a small bundle whose executable is a shell script that
  starts this installation.

Every file lives at one fixed name per platform: installing again replaces it, never adds a
second entry, and `--remove` deletes exactly those files. Qt-free and TensorFlow-free.
"""

from __future__ import annotations

import contextlib
import os
import plistlib
import shutil
import struct
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import resources
from classifier import __version__
from classifier.atomic import atomic_write
from classifier.errors import SortscopeError

APP_SCRIPT = "sortscope-app"
DESKTOP_FILE = f"{resources.ICON_NAME}.desktop"
BUNDLE = "Sortscope.app"
SHORTCUT = "Sortscope.lnk"
POWERSHELL = (
    "powershell",
    "-NoProfile",
    "-NonInteractive",
    "-ExecutionPolicy",
    "Bypass",
    "-Command",
)
# Icon sizes for the hicolor theme and the Windows/macOS containers (PNG inside ICO and ICNS).
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_TYPES = {b"icp4": 16, b"icp5": 32, b"icp6": 64, b"ic07": 128, b"ic08": 256, b"ic09": 512}


@dataclass(frozen=True)
class LauncherReport:
    """What `install` or `remove` did: the files written or removed, and a sentence for people."""

    platform: str  # "linux", "windows" or "macos"
    paths: tuple[Path, ...]
    message: str


def platform_name(platform: str | None = None) -> str:
    platform = platform or sys.platform
    if platform.startswith("win"):
        return "windows"
    if platform == "darwin":
        return "macos"
    return "linux"  # and the other freedesktop systems (BSDs)


def app_executable(platform: str | None = None) -> Path:
    """This installation's `sortscope-app`: the scripts folder of the running Python."""
    name = APP_SCRIPT + (".exe" if platform_name(platform) == "windows" else "")
    folders = [Path(sysconfig.get_path("scripts")), Path(sys.executable).parent]
    for folder in folders:
        if (folder / name).is_file():
            return (folder / name).absolute()
    raise SortscopeError(
        f"This Sortscope installation has no '{name}' program (looked in {folders[0]}).",
        "Install Sortscope with pip (pip install -e . in its folder), then run "
        "'sortscope install-launcher' again from that environment.",
    )


def install(
    executable: Path | None = None, platform: str | None = None, home: Path | None = None
) -> LauncherReport:
    """Create (or replace) the launcher for `executable` (default: this installation's)."""
    name = platform_name(platform)
    executable = Path(executable) if executable is not None else app_executable(platform)
    home = Path(home) if home is not None else Path.home()
    if name == "windows":
        return _install_windows(executable, home)
    if name == "macos":
        return _install_macos(executable, home)
    return _install_linux(executable, home)


def remove(platform: str | None = None, home: Path | None = None) -> LauncherReport:
    """Delete the launcher `install` made; nothing else. Removing twice is not an error."""
    name = platform_name(platform)
    home = Path(home) if home is not None else Path.home()
    targets = {
        "linux": lambda: linux_paths(home),
        "windows": lambda: windows_paths(home),
        "macos": lambda: [macos_bundle(home)],
    }[name]()
    removed = []
    for path in targets:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
            removed.append(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
            removed.append(path)
    message = (
        "Removed Sortscope from the applications menu."
        if removed
        else "Sortscope was not in the applications menu; nothing to remove."
    )
    return LauncherReport(name, tuple(removed), message)


# --- Linux (freedesktop) ----------------------------------------------------------------------


def xdg_data_home(home: Path) -> Path:
    value = os.environ.get("XDG_DATA_HOME", "")
    # The spec: a relative or empty value is invalid and the default applies.
    return Path(value) if os.path.isabs(value) else home / ".local" / "share"


def linux_paths(home: Path) -> list[Path]:
    """The desktop entry, then every icon file, at their fixed names."""
    data = xdg_data_home(home)
    icons = data / "icons" / "hicolor"
    png = [icons / f"{s}x{s}" / "apps" / f"{resources.ICON_NAME}.png" for s in resources.ICON_SIZES]
    svg = icons / "scalable" / "apps" / f"{resources.ICON_NAME}.svg"
    return [data / "applications" / DESKTOP_FILE, *png, svg]


def exec_quote(argument: str) -> str:
    """One Exec argument quoted per the Desktop Entry spec (paths with spaces, quotes, $)."""
    if argument and not any(c in argument for c in " \t\n\"'\\><~|&;$*?#()`"):
        return argument
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in argument)
    return f'"{escaped}"'


def desktop_entry(executable: Path) -> str:
    """The desktop entry for `executable`, from resources/sortscope.desktop.in."""
    exec_text = exec_quote(str(executable)).replace("%", "%%")
    # Backslashes are escaped once more inside a desktop file's string values (spec: "\\").
    exec_value = exec_text.replace("\\", "\\\\")
    text = resources.read_text("sortscope.desktop.in")
    return (
        text.replace("@EXEC@", exec_value)
        .replace("@TRY_EXEC@", str(executable).replace("\\", "\\\\"))
        .replace("@ICON@", resources.ICON_NAME)
    )


def _install_linux(executable: Path, home: Path) -> LauncherReport:
    entry, *pngs, svg = linux_paths(home)
    for size, path in zip(resources.ICON_SIZES, pngs, strict=True):
        _write(path, resources.icon_png(size))
    _write(svg, resources.icon_svg())
    _write(entry, desktop_entry(executable).encode("utf-8"))
    return LauncherReport(
        "linux",
        (entry, *pngs, svg),
        f"Sortscope is in the applications menu ({entry}); it starts {executable}. "
        "Drop a dataset folder on it to open that folder.",
    )


# --- Windows ----------------------------------------------------------------------------------


def windows_paths(home: Path) -> list[Path]:
    """The Start-menu shortcut and the icon file it points at."""
    appdata = Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
    programs = appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs"
    return [programs / SHORTCUT, appdata / "Sortscope" / f"{resources.ICON_NAME}.ico"]


def _ps_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"  # a PowerShell single-quoted string


def shortcut_command(shortcut: Path, executable: Path, icon: Path) -> list[str]:
    """The PowerShell command that writes the .lnk (WScript.Shell's CreateShortcut)."""
    script = "; ".join(
        [
            "$ErrorActionPreference = 'Stop'",
            "$s = (New-Object -ComObject WScript.Shell).CreateShortcut("
            f"{_ps_quote(str(shortcut))})",
            f"$s.TargetPath = {_ps_quote(str(executable))}",
            f"$s.WorkingDirectory = {_ps_quote(str(Path.home()))}",
            f"$s.IconLocation = {_ps_quote(f'{icon},0')}",
            f"$s.Description = {_ps_quote('Train an image classifier and sort images with it')}",
            "$s.Save()",
        ]
    )
    return [*POWERSHELL, script]


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico holding PNG images (Vista and later read PNG entries)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = 6 + 16 * len(pngs)
    entries, data = b"", b""
    for size, png in sorted(pngs.items()):
        side = 0 if size >= 256 else size  # 0 means 256 in an ICO directory entry
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset + len(data))
        data += png
    return header + entries + data


def _install_windows(executable: Path, home: Path) -> LauncherReport:
    shortcut, icon = windows_paths(home)
    _write(icon, ico_bytes({s: resources.icon_png(s) for s in ICO_SIZES}))
    shortcut.parent.mkdir(parents=True, exist_ok=True)
    command = shortcut_command(shortcut, executable, icon)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SortscopeError(
            f"Windows PowerShell could not be started to create the shortcut ({exc}).",
            f"Create a shortcut to {executable} in the Start menu by hand.",
        ) from exc
    if done.returncode != 0:
        raise SortscopeError(
            f"The Start-menu shortcut could not be created: {done.stderr.strip()[-300:]}",
            f"Create a shortcut to {executable} in the Start menu by hand.",
        )
    return LauncherReport(
        "windows",
        (shortcut, icon),
        f"Sortscope is in the Start menu ({shortcut}); it starts {executable}.",
    )


# --- macOS ------------------------------------------------------------------------------------


def macos_bundle(home: Path) -> Path:
    return home / "Applications" / BUNDLE


def icns_bytes(pngs: dict[bytes, bytes]) -> bytes:
    """An Apple .icns holding PNG images, keyed by their ICNS type code."""
    body = b"".join(code + struct.pack(">I", 8 + len(png)) + png for code, png in pngs.items())
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def info_plist() -> bytes:
    return plistlib.dumps(
        {
            "CFBundleName": "Sortscope",
            "CFBundleDisplayName": "Sortscope",
            "CFBundleIdentifier": "org.sortscope.Sortscope",
            "CFBundleExecutable": "Sortscope",
            "CFBundleIconFile": "sortscope.icns",
            "CFBundlePackageType": "APPL",
            "CFBundleShortVersionString": __version__,
            "CFBundleVersion": __version__,
            "NSHighResolutionCapable": True,
        }
    )


def bundle_script(executable: Path) -> str:
    quoted = "'" + str(executable).replace("'", "'\\''") + "'"  # a POSIX single-quoted string
    return (
        "#!/bin/sh\n# Starts the Sortscope installation this bundle was made from.\n"
        f'exec {quoted} "$@"\n'
    )


def _install_macos(executable: Path, home: Path) -> LauncherReport:
    bundle = macos_bundle(home)
    # Built beside the old bundle and swapped in, so a failure leaves the old one working.
    staging = bundle.with_name(f".{BUNDLE}.new")
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(staging)
    contents = staging / "Contents"
    _write(contents / "Info.plist", info_plist())
    script = contents / "MacOS" / "Sortscope"
    _write(script, bundle_script(executable).encode("utf-8"))
    script.chmod(0o755)
    icns = {code: resources.icon_png(size) for code, size in ICNS_TYPES.items()}
    _write(contents / "Resources" / "sortscope.icns", icns_bytes(icns))
    if bundle.exists():
        shutil.rmtree(bundle)
    staging.rename(bundle)
    return LauncherReport(
        "macos",
        (bundle,),
        f"Sortscope is in your Applications folder ({bundle}); it starts {executable}.",
    )


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        f.write(content)
