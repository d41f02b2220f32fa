"""Sortscope: with no arguments `sortscope` (or `python main.py`) opens the window; else the CLI."""

from __future__ import annotations

import os
import sys


def _no_display() -> bool:
    """On Linux without a screen Qt would abort; say so and fall back to the command line."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args and _no_display():
        print(
            "sortscope: there is no screen here (DISPLAY is not set), so the window cannot "
            "open; the command line works:",
            file=sys.stderr,
        )
        args = ["--help"]
    if not args:
        try:
            from ui.app import run_gui
        except ImportError as exc:  # e.g. a server without Qt's system libraries
            print(
                f"sortscope: the window cannot open here ({exc}); the command line works:",
                file=sys.stderr,
            )
            args = ["--help"]
        else:
            return run_gui()
    from classifier.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
