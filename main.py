"""Sortscope: with no arguments `sortscope` (or `python main.py`) opens the window; else the CLI."""

from __future__ import annotations

import os
import sys


def _no_display() -> bool:
    """On Linux without a screen Qt would abort; say so and fall back to the command line."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _opens_window(args: list[str]) -> bool:
    """No arguments, or one dataset folder (dropped on a launcher): the window, else the CLI."""
    if not args:
        return True
    if len(args) != 1 or args[0].startswith("-") or not os.path.isdir(args[0]):
        return False
    from classifier.cli import command_names

    return args[0] not in command_names()  # `sortscope scan` stays a command


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    window = _opens_window(args)
    if window and _no_display():
        print(
            "sortscope: there is no screen here (DISPLAY is not set), so the window cannot "
            "open; the command line works:",
            file=sys.stderr,
        )
        window, args = False, ["--help"]
    if window:
        try:
            from ui.app import run_gui
        except ImportError as exc:  # e.g. a server without Qt's system libraries
            print(
                f"sortscope: the window cannot open here ({exc}); the command line works:",
                file=sys.stderr,
            )
            args = ["--help"]
        else:
            return run_gui([sys.argv[0], *args])
    from classifier.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
