"""The `sortscope` command line: the same core functions the GUI uses, with a text progress bar.

Progress goes to stderr, results to stdout or files. Exit status: 0 success, 1 failure (one line
saying what happened and what to do), 2 wrong usage, 130 interrupted, 141 standard output
closed early (`sortscope info M | head`: a normal end, without a message).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from classifier import __version__, cli_batch, paths
from classifier.cli_commands import (
    EXIT_FAILURE,
    EXIT_OK,
    cmd_add,
    cmd_backbones,
    cmd_classify,
    cmd_evaluate,
    cmd_info,
    cmd_install_launcher,
    cmd_scan,
    cmd_train,
)
from classifier.cli_options import (
    add_advanced_training_options,
    add_common,
    add_hdu_option,
    add_max_pixels,
    add_split_options,
    add_stretch_options,
)
from classifier.errors import Cancelled, SortscopeError
from classifier.fits_reader import parse_keys

EXIT_USAGE, EXIT_INTERRUPTED = 2, 130
EXIT_BROKEN_PIPE = 128 + 13  # 141, as for a tool killed by SIGPIPE (the number Windows lacks)


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, unless it says it already or there is none
    (flags are off, optional paths unset, unless given)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or "default" in text:
            return text
        unset = action.default is None or action.default is False or action.default == []
        if unset or action.default is argparse.SUPPRESS:
            return text
        return f"{text} (default: %(default)s)"


def _command(sub, name: str, text: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=text, description=text, formatter_class=_HelpFormatter)


DATA_DIR_HELP = "the dataset folder: one sub-folder of images per class"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sortscope",
        description="Train an image classifier on folders of images and sort new images with it.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sortscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    scan = _command(sub, "scan", "check a dataset folder: classes, counts, splits, problems")
    scan.add_argument("data_dir", metavar="DATA_DIR", type=Path, help=DATA_DIR_HELP)
    add_split_options(scan)
    scan.add_argument("--json", action="store_true", help="print the report as JSON")
    add_hdu_option(scan)
    add_max_pixels(scan)
    scan.add_argument("--quiet", action="store_true", help="no progress on stderr")
    from classifier.backbones import DEFAULT_BACKBONE

    scan.add_argument(
        "--label-issues",
        action="store_true",
        help="also list images that look like they are in the wrong class folder",
    )
    scan.add_argument(
        "--backbone",
        default=DEFAULT_BACKBONE,
        metavar="NAME",
        help=f"network whose features --label-issues compares (default {DEFAULT_BACKBONE})",
    )
    scan.add_argument(
        "--cache-dir", type=Path, default=None, metavar="DIR", help="feature cache folder"
    )
    scan.set_defaults(run=cmd_scan)
    from classifier.types import DEFAULT_THRESHOLD, OPTIMIZERS, TrainConfig

    d = TrainConfig()
    train = _command(sub, "train", "train a classifier on DATA_DIR and save it to --model")
    train.add_argument("data_dir", metavar="DATA_DIR", type=Path, help=DATA_DIR_HELP)
    train.add_argument(
        "--model", required=True, type=Path, metavar="OUT", help="where to write the model file"
    )
    train.add_argument(
        "--backbone",
        default=DEFAULT_BACKBONE,
        metavar="NAME",
        help="pretrained network (see 'backbones')",
    )
    train.add_argument(
        "--int8",
        action="store_true",
        help="Speed: fast. Classify ~2x faster with the backbone's int8 copy and a cheaper "
        "JPEG decode (recorded in the model; transfer learning without fine-tuning)",
    )
    train.add_argument(
        "--epochs",
        type=int,
        default=d.epochs,
        metavar="N",
        help="passes over the training images at most (early stopping may end sooner)",
    )
    train.add_argument(
        "--batch-size", type=int, default=d.batch_size, metavar="N", help="images per step"
    )
    train.add_argument(
        "--learning-rate",
        type=float,
        default=d.learning_rate,
        metavar="X",
        help="how big a step the optimizer takes",
    )
    train.add_argument(
        "--optimizer",
        default=d.optimizer,
        choices=OPTIMIZERS,
        metavar="NAME",
        help=f"one of {', '.join(OPTIMIZERS)}",
    )
    add_split_options(train)
    train.add_argument(
        "--seed",
        type=int,
        default=d.seed,
        metavar="N",
        help="random seed: the same seed and data give the same split and run",
    )
    train.add_argument(
        "--no-class-weights", action="store_true", help="do not weight classes by their rarity"
    )
    train.add_argument(
        "--hidden-units",
        type=int,
        default=d.hidden_units,
        metavar="N",
        help="add a hidden layer of N units with dropout (default: none)",
    )
    train.add_argument(
        "--dropout",
        type=float,
        default=d.dropout,
        metavar="X",
        help="share of the hidden layer's outputs dropped while training (with --hidden-units)",
    )
    train.add_argument(
        "--no-early-stopping",
        action="store_true",
        help="train all epochs instead of stopping when validation loss stalls",
    )
    train.add_argument(
        "--patience",
        type=int,
        default=d.patience,
        metavar="N",
        help="epochs without improvement before stopping early",
    )
    add_advanced_training_options(train, d)
    add_stretch_options(train)
    add_max_pixels(train)
    add_common(train)
    train.set_defaults(run=cmd_train)

    evaluate = _command(sub, "evaluate", "score a model on a labelled folder")
    evaluate.add_argument("data_dir", metavar="DATA_DIR", type=Path, help=DATA_DIR_HELP)
    evaluate.add_argument(
        "--model", required=True, type=Path, metavar="M", help="the model file to score"
    )
    evaluate.add_argument("--json", action="store_true", help="print the scores as JSON")
    add_common(evaluate)
    evaluate.set_defaults(run=cmd_evaluate)

    classify = _command(sub, "classify", "classify every image in FOLDER into a CSV")
    classify.add_argument(
        "folder",
        metavar="FOLDER",
        type=Path,
        help="the folder of images to classify (its sub-folders too with --recursive)",
    )
    classify.add_argument(
        "--model", required=True, type=Path, metavar="M", help="the model file to classify with"
    )
    classify.add_argument(
        "--csv",
        required=True,
        type=Path,
        metavar="OUT.csv",
        help="where to write the results: file, label, confidence, prob_<class>..., error; "
        "'-' writes them to standard output",
    )
    classify.add_argument("--recursive", action="store_true", help="include sub-folders")
    classify.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        metavar="X",
        help="label an image 'uncertain' when its best class's confidence is below X, 0..1 "
        "(0: never; the probabilities are kept either way)",
    )
    classify.add_argument(
        "--batch-size",
        type=int,
        default=32,
        metavar="N",
        help="results are gathered and reported N images at a time (each core's worker runs "
        "the network one image at a time, which is fastest on a CPU)",
    )
    classify.add_argument("--verbose", action="store_true", help="say where the time went")
    classify.add_argument(
        "--fits-keys",
        type=parse_keys,
        default=[],
        metavar="K1,K2",
        help="FITS header keywords to add as CSV columns after 'error' "
        "(e.g. DATE-OBS,FILTER,EXPTIME,OBJECT; default: none)",
    )
    classify.add_argument(
        "--report", type=Path, metavar="OUT.html", help="also write an HTML summary of the run"
    )
    classify.add_argument(
        "--novelty",
        action="store_true",
        help="add a 'novelty' column: 0..1, the share of training images less unusual",
    )
    classify.add_argument(
        "--novelty-threshold",
        type=float,
        default=None,
        metavar="X",
        help="label images with novelty above X 'unfamiliar' (implies --novelty; e.g. 0.99)",
    )
    cli_batch.add_classify_options(classify)
    add_max_pixels(classify)
    add_common(classify)
    classify.set_defaults(run=cmd_classify)
    cli_batch.add_merge_command(sub, _command)

    add = _command(
        sub, "add", "add the images a results CSV names a class for to DATA_DIR/<class>/"
    )
    add.add_argument("data_dir", metavar="DATA_DIR", type=Path, help=DATA_DIR_HELP)
    add.add_argument(
        "--from-csv",
        required=True,
        type=Path,
        metavar="RESULTS.csv",
        help="a results CSV of 'classify' or Export CSV, reviewed or edited",
    )
    add.add_argument(
        "--images",
        required=True,
        type=Path,
        metavar="FOLDER",
        help="the classified folder (the CSV's file names are relative to it)",
    )
    add.add_argument(
        "--column",
        default="reviewed_label",
        metavar="NAME",
        help="the column naming each image's class (default reviewed_label; 'label' accepts "
        "the predictions); empty, 'none' and 'uncertain' values and error rows are skipped",
    )
    add.add_argument("--move", action="store_true", help="move the images (default: copy)")
    add.add_argument("--dry-run", action="store_true", help="say what would be done, do nothing")
    add.add_argument(
        "--new-classes",
        action="store_true",
        help="create class folders that do not exist yet (otherwise they are an error)",
    )
    add.set_defaults(run=cmd_add)

    info = _command(sub, "info", "print a model file's metadata as JSON")
    info.add_argument("model", metavar="M", type=Path, help="a .sortscope model file")
    info.set_defaults(run=cmd_info)

    from classifier import cli_export

    cli_export.add_commands(sub, _command)  # export, report

    backbones = _command(sub, "backbones", "list the pretrained networks and availability")
    backbones.add_argument("--json", action="store_true", help="print the list as JSON")
    backbones.add_argument(
        "--import",
        dest="import_weights",
        nargs=2,
        metavar=("NAME", "FILE"),
        help="check a Keras weights file (e.g. copied from another computer) and install it",
    )
    backbones.add_argument(
        "--download", metavar="NAME", help="download a Keras backbone's ImageNet weights"
    )
    backbones.set_defaults(run=cmd_backbones)

    launcher = _command(
        sub,
        "install-launcher",
        "add Sortscope to the applications menu (Start menu, ~/Applications on macOS)",
    )
    launcher.add_argument(
        "--remove", action="store_true", help="take it out of the applications menu again"
    )
    launcher.set_defaults(run=cmd_install_launcher)
    return parser


def command_names() -> set[str]:
    """The subcommands (`sortscope FOLDER` opens the window unless FOLDER is one of them)."""
    parser = build_parser()
    return next(
        set(a.choices) for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "run", None):
            parser.print_help()
            return EXIT_OK
        status = _run(args)
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
        return status
    except BrokenPipeError:  # `sortscope info M | head`: the reader has all it wanted
        return _stdout_closed()


def _stdout_closed() -> int:
    """End quietly, like other command-line tools: no message, the status of a closed pipe."""
    # Python flushes stdout once more at exit; pointing it at devnull keeps that flush silent.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def _run(args: argparse.Namespace) -> int:
    try:
        return args.run(args)
    except BrokenPipeError:
        raise  # handled in main(): not a failure
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


if __name__ == "__main__":  # python -m classifier.cli
    sys.exit(main())
