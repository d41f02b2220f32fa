"""The `sortscope` command line: the same core functions the GUI uses, with a text progress bar.

Progress goes to stderr, results to stdout or files. Exit status: 0 success, 1 failure (one line
saying what happened and what to do), 2 wrong usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

from classifier import __version__, paths
from classifier.errors import Cancelled, SortscopeError
from classifier.textprogress import TextProgress

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _cmd_scan(args: argparse.Namespace) -> int:
    from classifier.scan import scan_dataset
    from classifier.split import assign_splits, split_counts
    from classifier.types import Split, SplitConfig

    progress = TextProgress(quiet=args.quiet)
    result = scan_dataset(args.data_dir, progress=progress)
    progress.close()
    config = SplitConfig(args.validation_percent, args.test_percent)
    counts = split_counts(result.images, assign_splits(result.images, config))
    if args.json:
        print(json.dumps(_scan_json(result, counts), indent=2))
        return EXIT_OK
    print(
        f"{len(result.images)} usable images in {len(result.classes)} classes "
        f"({result.ignored_files} other files ignored)"
    )
    for name in result.classes:
        c = counts.get(name, {})
        print(
            f"  {name}: {sum(c.values())}  (train {c.get(Split.TRAIN, 0)}, "
            f"validation {c.get(Split.VALIDATION, 0)}, test {c.get(Split.TEST, 0)})"
        )
    if result.problems:
        print(f"{len(result.problems)} problem(s):")
        for p in result.problems:
            where = f"{p.path}: " if p.path else ""
            print(f"  [{p.severity.value}] {where}{p.message} {p.advice}")
    return EXIT_OK if result.usable else EXIT_FAILURE


def _scan_json(result, counts) -> dict:
    return {
        "root": str(result.root),
        "classes": list(result.classes),
        "counts": result.counts(),
        "splits": {c: {s.value: n for s, n in v.items()} for c, v in counts.items()},
        "ignored_files": result.ignored_files,
        "problems": [
            {
                "kind": p.kind.value,
                "severity": p.severity.value,
                "file": str(p.path) if p.path else None,
                "class": p.class_name,
                "message": p.message,
                "advice": p.advice,
            }
            for p in result.problems
        ],
    }


def _cmd_backbones(args: argparse.Namespace) -> int:
    from classifier.backbones import DEFAULT_BACKBONE, listed_backbones

    rows = []
    for b in listed_backbones():
        status = b.availability()
        rows.append(
            {
                "name": b.name,
                "title": b.title,
                "input_size": b.input_size,
                "feature_dim": b.feature_dim,
                "available": status.available,
                "reason": status.reason,
                "default": b.name == DEFAULT_BACKBONE,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for r in rows:
        mark = "yes" if r["available"] else "no "
        default = " (default)" if r["default"] else ""
        print(
            f"{r['name']:<20} {mark} {r['input_size']}px {r['feature_dim']:>5} features  "
            f"{r['title']}{default}"
        )
        if r["reason"]:
            print(f"{'':<24}{r['reason']}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sortscope",
        description="Train an image classifier on folders of images and sort new images with it.",
    )
    parser.add_argument("--version", action="version", version=f"sortscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    scan = sub.add_parser("scan", help="check a dataset folder: classes, counts, splits, problems")
    scan.add_argument("data_dir", metavar="DATA_DIR", type=Path)
    _add_split_options(scan)
    scan.add_argument("--json", action="store_true", help="print the report as JSON")
    scan.add_argument("--quiet", action="store_true", help="no progress on stderr")
    scan.set_defaults(run=_cmd_scan)

    backbones = sub.add_parser("backbones", help="list the pretrained networks and availability")
    backbones.add_argument("--json", action="store_true", help="print the list as JSON")
    backbones.set_defaults(run=_cmd_backbones)
    return parser


def _add_split_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--validation-percent",
        type=float,
        default=10.0,
        metavar="P",
        help="share of each class held out for validation (default 10)",
    )
    parser.add_argument(
        "--test-percent",
        type=float,
        default=10.0,
        metavar="P",
        help="share of each class held out for the final test (default 10)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_OK
    try:
        return args.run(args)
    except SortscopeError as exc:
        print(f"sortscope: {exc.what}", file=sys.stderr)
        if exc.todo:
            print(f"  What to do: {exc.todo}", file=sys.stderr)
        return EXIT_FAILURE
    except (Cancelled, KeyboardInterrupt):
        print("\nsortscope: interrupted; finished work is kept in the cache.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug, not a user mistake: keep the details, say where
        log = _write_crash_log()
        print(
            f"sortscope: unexpected internal error ({type(exc).__name__}: {exc}).", file=sys.stderr
        )
        print(f"  What to do: please report it with the details in {log}", file=sys.stderr)
        return EXIT_FAILURE


def _write_crash_log() -> Path:
    log = paths.cache_dir() / "crash.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(traceback.format_exc(), encoding="utf-8")
    except OSError:
        traceback.print_exc()
    return log
