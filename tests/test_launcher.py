"""`sortscope install-launcher`: the applications-menu entry on Linux, Windows and macOS."""

from __future__ import annotations

import os
import plistlib
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import resources
from classifier import launcher
from classifier.cli import main as cli_main
from classifier.errors import SortscopeError

VALIDATOR = shutil.which("desktop-file-validate")
needs_validator = pytest.mark.skipif(
    VALIDATOR is None,
    reason="desktop-file-validate is not installed (Debian: apt-get install desktop-file-utils)",
)


@pytest.fixture
def xdg_home(tmp_path, monkeypatch):
    """A temporary home and XDG data folder: the user's menu is never touched."""
    home = tmp_path / "home"
    data = tmp_path / "xdg-data"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    return home, data


def _fake_app(folder: Path, name: str = "sortscope-app") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    app = folder / name
    app.write_text("#!/bin/sh\n")
    app.chmod(0o755)
    return app


def _entries(data: Path) -> list[Path]:
    return sorted((data / "applications").glob("*.desktop"))


def _validate(path: Path) -> None:
    done = subprocess.run([VALIDATOR, str(path)], capture_output=True, text=True, check=False)
    # The validator prints hints too; only errors and warnings make an entry invalid.
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error" not in done.stdout and "warning" not in done.stdout, done.stdout


def _exec_line(entry: Path) -> str:
    lines = entry.read_text(encoding="utf-8").splitlines()
    return next(line for line in lines if line.startswith("Exec="))


@needs_validator
def test_cli_installs_a_valid_entry_and_icons_for_this_installation(xdg_home, capsys):
    _home, data = xdg_home
    assert cli_main(["install-launcher"]) == 0
    assert "applications menu" in capsys.readouterr().out
    (entry,) = _entries(data)
    _validate(entry)
    app = launcher.app_executable()
    assert app.parent == Path(sys.executable).parent or app.is_file()
    assert _exec_line(entry) == f"Exec={app} %F"  # a dropped folder arrives as an argument
    text = entry.read_text(encoding="utf-8")
    assert f"TryExec={app}\n" in text and "Icon=sortscope\n" in text
    for size in resources.ICON_SIZES:
        icon = data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "sortscope.png"
        assert icon.read_bytes() == resources.icon_png(size)
    assert (data / "icons/hicolor/scalable/apps/sortscope.svg").read_bytes() == (
        resources.icon_svg()
    )


@needs_validator
def test_awkward_installation_paths_are_quoted_and_still_valid(xdg_home, tmp_path):
    _home, data = xdg_home
    app = _fake_app(tmp_path / "My Apps $HOME 100%" / 'quote"d' / "bin")
    launcher.install(app, platform="linux")
    (entry,) = _entries(data)
    _validate(entry)
    exec_line = _exec_line(entry)
    assert exec_line.startswith('Exec="') and exec_line.endswith('" %F')
    # Undo the two escape layers (string value, then Exec quoting) and get the path back.
    quoted = exec_line[len('Exec="') : -len('" %F')].replace("%%", "%")
    value = quoted.replace("\\\\", "\\")
    unquoted = "".join(c for i, c in enumerate(value) if c != "\\" or value[i - 1 : i] == "\\")
    assert unquoted == str(app)


def test_running_again_replaces_and_remove_undoes(xdg_home, tmp_path):
    _home, data = xdg_home
    old = _fake_app(tmp_path / "old-venv" / "bin")
    new = _fake_app(tmp_path / "new-venv" / "bin")
    launcher.install(old, platform="linux")
    report = launcher.install(new, platform="linux")
    (entry,) = _entries(data)  # one entry, never two
    assert str(new) in _exec_line(entry) and str(old) not in entry.read_text()
    all_files = sorted(p for p in data.rglob("*") if p.is_file())
    assert all_files == sorted(report.paths)  # nothing else, no temporary files left

    removed = launcher.remove(platform="linux")
    assert sorted(removed.paths) == sorted(report.paths)
    assert not [p for p in data.rglob("*") if p.is_file()]
    again = launcher.remove(platform="linux")
    assert again.paths == () and "nothing to remove" in again.message


def test_cli_remove(xdg_home, capsys):
    _home, data = xdg_home
    cli_main(["install-launcher"])
    assert _entries(data)
    assert cli_main(["install-launcher", "--remove"]) == 0
    assert "Removed" in capsys.readouterr().out
    assert not _entries(data)


def test_default_xdg_folder_is_under_home(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    app = _fake_app(tmp_path / "bin")
    report = launcher.install(app, platform="linux", home=tmp_path / "home")
    assert report.paths[0] == tmp_path / "home/.local/share/applications/sortscope.desktop"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")  # invalid per the spec: default
    assert launcher.linux_paths(tmp_path)[0].is_relative_to(tmp_path / ".local/share")


def test_missing_app_script_is_explained(monkeypatch, tmp_path):
    monkeypatch.setattr(launcher.sysconfig, "get_path", lambda _name: str(tmp_path))
    monkeypatch.setattr(launcher.sys, "executable", str(tmp_path / "python"))
    with pytest.raises(SortscopeError) as caught:
        launcher.app_executable()
    assert "sortscope-app" in caught.value.what and "pip install" in caught.value.todo


def test_windows_shortcut_command_and_icon(tmp_path, monkeypatch):
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    app = _fake_app(tmp_path / "venv O'Brien" / "Scripts", "sortscope-app.exe")
    ran = []

    def fake_run(command, **kwargs):
        ran.append(command)
        shortcut = launcher.windows_paths(tmp_path)[0]
        shortcut.write_bytes(b"lnk")  # what PowerShell would write
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(launcher.subprocess, "run", fake_run)
    launcher.install(app, platform="win32", home=tmp_path)
    launcher.install(app, platform="win32", home=tmp_path)  # replaces: same shortcut path
    (command,) = {tuple(c) for c in ran}
    assert command[:2] == ("powershell", "-NoProfile") and command[-2] == "-Command"
    script = command[-1]
    start_menu = tmp_path / "Roaming/Microsoft/Windows/Start Menu/Programs/Sortscope.lnk"
    assert f"CreateShortcut('{start_menu}')" in script
    assert "$s.TargetPath = '" + str(app).replace("'", "''") + "'" in script  # O''Brien
    assert script.endswith("$s.Save()")
    icon = tmp_path / "Roaming/Sortscope/sortscope.ico"
    data = icon.read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind, count) == (0, 1, len(launcher.ICO_SIZES))
    width, _h, _c, _r, _p, _bits, size, offset = struct.unpack("<BBBBHHII", data[6:22])
    assert width == 16 and data[offset : offset + size] == resources.icon_png(16)
    assert f"{icon},0" in script

    removed = launcher.remove(platform="win32", home=tmp_path)
    assert set(removed.paths) == {start_menu, icon} and not start_menu.exists()


def test_windows_powershell_failure_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("APPDATA", str(tmp_path))
    failed = subprocess.CompletedProcess([], 1, "", "Access denied")
    monkeypatch.setattr(launcher.subprocess, "run", lambda *a, **k: failed)
    with pytest.raises(SortscopeError) as caught:
        launcher.install(tmp_path / "sortscope-app.exe", platform="win32", home=tmp_path)
    assert "Access denied" in caught.value.what and "by hand" in caught.value.todo


def test_macos_bundle_starts_this_installation(tmp_path):
    app = _fake_app(tmp_path / "my venv" / "bin")
    home = tmp_path / "home"
    launcher.install(app, platform="darwin", home=home)
    report = launcher.install(app, platform="darwin", home=home)
    bundle = home / "Applications" / "Sortscope.app"
    assert report.paths == (bundle,)
    assert [p.name for p in (home / "Applications").iterdir()] == ["Sortscope.app"]
    info = plistlib.loads((bundle / "Contents/Info.plist").read_bytes())
    assert info["CFBundleExecutable"] == "Sortscope" and info["CFBundlePackageType"] == "APPL"
    script = bundle / "Contents/MacOS/Sortscope"
    assert os.access(script, os.X_OK)
    # The script runs this installation's app with the arguments it was given.
    app.write_text('#!/bin/sh\necho "started $*"\n')
    done = subprocess.run([str(script), "a folder"], capture_output=True, text=True, check=True)
    assert done.stdout == "started a folder\n"
    icns = (bundle / "Contents/Resources/sortscope.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    assert resources.icon_png(512) in icns

    launcher.remove(platform="darwin", home=home)
    assert not bundle.exists()


def test_a_folder_argument_opens_the_window_a_command_does_not(tmp_path, monkeypatch):
    import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "scan").mkdir()
    (tmp_path / "my data").mkdir()
    assert main._opens_window([]) and main._opens_window(["my data"])
    assert not main._opens_window(["scan"])  # a folder named like a command runs the command
    assert not main._opens_window(["missing"]) and not main._opens_window(["my data", "x"])
