"""Sortscope: with no arguments `sortscope` (or `python main.py`) opens the window; else the CLI."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
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
