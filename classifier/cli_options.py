"""Options shared by several `sortscope` commands: split, training, FITS, pixel limit,
stretch, cache."""

from __future__ import annotations

import argparse
from pathlib import Path

from classifier.preprocessing import (
    DEFAULT_HIGH_PERCENT,
    DEFAULT_LOW_PERCENT,
    STRETCHES,
    parse_hdu,
)
from classifier.types import DEFAULT_TEST_PERCENT, DEFAULT_VALIDATION_PERCENT


def add_split_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--validation-percent",
        type=float,
        default=DEFAULT_VALIDATION_PERCENT,
        metavar="P",
        help="share of each class held out for validation (default: %(default)g)",
    )
    parser.add_argument(
        "--test-percent",
        type=float,
        default=DEFAULT_TEST_PERCENT,
        metavar="P",
        help="share of each class held out for the final test (default: %(default)g)",
    )


def add_advanced_training_options(parser: argparse.ArgumentParser, d) -> None:
    from classifier.types import LR_SCHEDULES, MODEL_TYPES

    group = parser.add_argument_group("advanced training")
    group.add_argument(
        "--model-type",
        default=d.model_type,
        choices=MODEL_TYPES,
        help="transfer: pretrained backbone + head (default); mlp: a 128-unit MLP on 32x32 "
        "pixels; small_cnn: a small CNN from scratch (both baselines, to compare)",
    )
    group.add_argument(
        "--oversample",
        action="store_true",
        help="repeat small classes' images to the largest class's count (instead of weights)",
    )
    group.add_argument(
        "--augment-copies",
        type=int,
        default=d.augment_copies,
        metavar="N",
        help="augmented copies per training image, cached like the originals (default 0: off)",
    )
    group.add_argument("--flip", action="store_true", help="augment: random mirror images")
    group.add_argument(
        "--rotate90", action="store_true", help="augment: random 90-degree turns (sky images)"
    )
    group.add_argument(
        "--rotate", type=float, default=0.0, metavar="DEG", help="augment: rotate up to +-DEG"
    )
    group.add_argument(
        "--zoom", type=float, default=0.0, metavar="X", help="augment: crop up to X (0..0.5)"
    )
    group.add_argument(
        "--brightness", type=float, default=0.0, metavar="X", help="augment: brightness 1+-X"
    )
    group.add_argument(
        "--contrast", type=float, default=0.0, metavar="X", help="augment: contrast 1+-X"
    )
    group.add_argument(
        "--fine-tune-blocks",
        type=int,
        default=d.fine_tune_blocks,
        metavar="N",
        help="after the head, train the backbone's last N blocks too (default 0: off)",
    )
    group.add_argument(
        "--fine-tune-epochs",
        type=int,
        default=d.fine_tune_epochs,
        metavar="N",
        help="epochs of fine-tuning after the head's (with --fine-tune-blocks)",
    )
    group.add_argument(
        "--fine-tune-learning-rate",
        type=float,
        default=d.fine_tune_learning_rate,
        metavar="X",
        help="learning rate while fine-tuning: small, not to undo the pretrained weights",
    )
    group.add_argument(
        "--lr-schedule",
        default=d.lr_schedule,
        choices=LR_SCHEDULES,
        help="constant (default), cosine decay, or halve on a validation-loss plateau",
    )
    group.add_argument(
        "--tensorboard",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the run's loss/accuracy curves to DIR for TensorBoard (default: off)",
    )


def add_hdu_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hdu",
        type=parse_hdu,
        default=None,
        metavar="NAME|INDEX",
        help="FITS extension to read from every file, by name or index "
        "(default: the first one holding an image)",
    )


def pixel_count(text: str) -> int:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("give a number of pixels, like 400000000") from exc
    if not 1 <= value <= 1e12:
        raise argparse.ArgumentTypeError("give a number of pixels between 1 and 1e12")
    return int(value)


def add_max_pixels(parser: argparse.ArgumentParser) -> None:
    from classifier.images import DEFAULT_MAX_PIXELS

    parser.add_argument(
        "--max-pixels",
        type=pixel_count,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help="skip images above N pixels (width x height; default "
        f"{DEFAULT_MAX_PIXELS:,}), the guard against decompression bombs; files larger than "
        "an uncompressed image of N pixels are not read either",
    )


def percentiles(text: str) -> tuple[float, float]:
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"give two numbers, like {DEFAULT_LOW_PERCENT:g},{DEFAULT_HIGH_PERCENT:g}"
        ) from exc
    return low, high


def add_stretch_options(parser: argparse.ArgumentParser) -> None:
    # argparse formats help with %: the percent signs in the descriptions are doubled.
    choices = "; ".join(f"{name}: {text}" for name, text in STRETCHES.items()).replace("%", "%%")
    parser.add_argument(
        "--stretch",
        default="auto",
        choices=list(STRETCHES),
        metavar="NAME",
        help="how FITS and 16-bit/float images become 8-bit, stored in the model "
        f"(default: auto). {choices}",
    )
    parser.add_argument(
        "--stretch-percentiles",
        type=percentiles,
        default=(DEFAULT_LOW_PERCENT, DEFAULT_HIGH_PERCENT),
        metavar="LOW,HIGH",
        help="clip points for the percentile and asinh stretches "
        f"(default: {DEFAULT_LOW_PERCENT:g},{DEFAULT_HIGH_PERCENT:g})",
    )
    add_hdu_option(parser)


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="feature cache folder (default: the user cache folder)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
