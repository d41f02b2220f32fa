"""The `export` and `report` commands (registered by classifier/cli.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_export(args: argparse.Namespace) -> int:
    from classifier.exports import export_model

    result = export_model(
        args.model,
        args.output,
        args.format,
        int8=args.int8 is not None,
        calibration=args.int8 or 0,
        on_status=lambda message: print(message, file=sys.stderr),
    )
    print(f"Wrote {result.path}, {result.labels} and {result.description}")
    for note in result.notes:
        print(f"  {note}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from classifier.report import model_report
    from classifier.textprogress import TextProgress

    progress = TextProgress(quiet=args.quiet)
    out = model_report(args.model, args.output, progress)
    progress.close()
    print(f"Wrote {out}")
    return 0


def classify_report(args: argparse.Namespace, model, result) -> None:
    """`classify --report OUT.html`: the batch summary beside the CSV."""
    from classifier.filenames import escape
    from classifier.report import batch_details
    from classifier.report import classify_report as write

    details = batch_details(
        args.folder, args.model, result.rows, args.threshold, result.stats, args.csv, args.recursive
    )
    out = write(model, result.rows, args.report, details, protected=[args.model, args.csv])
    print(f"Summary in {escape(str(out))}", file=sys.stderr)


def add_commands(sub, command) -> None:
    """`command(sub, name, help)` makes a subcommand's parser as cli.py makes the others."""
    from classifier.exports import CALIBRATION_IMAGES, FORMATS

    export = command(
        sub, "export", "write the model for other runtimes (.keras, .tflite, SavedModel, .onnx)"
    )
    export.add_argument("model", metavar="M", type=Path, help="a .sortscope model file")
    export.add_argument(
        "output",
        metavar="OUT",
        type=Path,
        help="OUT.keras, OUT.tflite, OUT.onnx, or a folder (SavedModel); labels.txt and "
        "sortscope.json are written beside it",
    )
    export.add_argument("--format", choices=FORMATS, default=None, help="instead of OUT's name")
    export.add_argument(
        "--int8",
        type=int,
        nargs="?",
        const=CALIBRATION_IMAGES,
        default=None,
        metavar="N",
        help="TFLite only: full-integer model calibrated on N of the model's training images "
        f"(default {CALIBRATION_IMAGES}); prints its test accuracy next to the float one",
    )
    export.set_defaults(run=cmd_export)

    report = command(sub, "report", "write a self-contained HTML report of a model")
    report.add_argument("model", metavar="M", type=Path, help="a .sortscope model file")
    report.add_argument("output", metavar="OUT.html", type=Path, help="the report file")
    report.add_argument("--quiet", action="store_true", help="no progress on stderr")
    report.set_defaults(run=cmd_report)
