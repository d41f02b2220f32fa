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


def add_commands(sub) -> None:
    from classifier.exports import CALIBRATION_IMAGES, FORMATS

    export = sub.add_parser(
        "export", help="write the model for other runtimes (.keras, .tflite, SavedModel, .onnx)"
    )
    export.add_argument("model", metavar="M", type=Path)
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
