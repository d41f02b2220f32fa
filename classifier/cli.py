"""The `sortscope` command line: the same core functions the GUI uses, with a text progress bar.

Progress goes to stderr, results to stdout or files. Exit status: 0 success, 1 failure (one line
saying what happened and what to do), 2 wrong usage, 130 interrupted, 141 standard output
closed early (`sortscope info M | head`: a normal end, without a message).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import traceback
from pathlib import Path

from classifier import __version__, cli_batch, paths
from classifier.errors import Cancelled, SortscopeError
from classifier.filenames import escape
from classifier.fits_reader import parse_keys
from classifier.preprocessing import (
    DEFAULT_HIGH_PERCENT,
    DEFAULT_LOW_PERCENT,
    STRETCHES,
    parse_hdu,
)
from classifier.textprogress import TextProgress
from classifier.types import DEFAULT_TEST_PERCENT, DEFAULT_VALIDATION_PERCENT

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BROKEN_PIPE = 128 + 13  # 141, as for a tool killed by SIGPIPE (the number Windows lacks)
STDOUT = "-"  # as a file name: standard output


def _cmd_scan(args: argparse.Namespace) -> int:
    from classifier.scan import scan_dataset
    from classifier.split import assign_splits, split_counts
    from classifier.types import Split, SplitConfig

    progress = TextProgress(quiet=args.quiet)
    result = scan_dataset(
        args.data_dir, progress=progress, hdu=args.hdu, max_pixels=args.max_pixels
    )
    check = _check_labels(args, result, progress) if args.label_issues else None
    progress.close()
    config = SplitConfig(args.validation_percent, args.test_percent)
    counts = split_counts(result.images, assign_splits(result.images, config))
    if args.json:
        report = _scan_json(result, counts)
        if check is not None:
            report["label_issues"] = [
                {"file": escape(i.file), "class": i.class_name, "suggested": i.suggested}
                | {"score": round(i.score, 4)}
                for i in check.issues
            ]
        print(json.dumps(report, indent=2))
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
            where = f"{escape(str(p.path))}: " if p.path else ""
            print(f"  [{p.severity.value}] {where}{escape(p.message)} {p.advice}")
    if check is not None:
        _print_label_issues(check)
    return EXIT_OK if result.usable else EXIT_FAILURE


def _check_labels(args: argparse.Namespace, result, progress):
    """Suspected label errors (classifier/quality.py), or None for an unusable dataset."""
    from classifier.backbones import get_backbone
    from classifier.preprocessing import Preprocessing
    from classifier.quality import check_labels

    if not result.usable:
        return None
    backbone = get_backbone(args.backbone)
    prep = Preprocessing(hdu=args.hdu)
    return check_labels(result, backbone, prep=prep, cache_dir=args.cache_dir, progress=progress)


def _print_label_issues(check) -> None:
    if check.note:
        print(f"Labels not checked: {check.note}")
    print(f"{len(check.issues)} suspected label error(s), worst first:")
    for i in check.issues:
        print(
            f"  {escape(i.file)}: in '{i.class_name}', looks like '{i.suggested}' "
            f"({i.suggested_probability:.0%} sure)"
        )
    if check.kept:
        print(f"  ({check.kept} more kept as they are before, not listed)")


def _scan_json(result, counts) -> dict:
    return {
        "root": escape(str(result.root)),
        "classes": list(result.classes),
        "counts": result.counts(),
        "splits": {c: {s.value: n for s, n in v.items()} for c, v in counts.items()},
        "ignored_files": result.ignored_files,
        "problems": [
            {
                "kind": p.kind.value,
                "severity": p.severity.value,
                "file": escape(str(p.path)) if p.path else None,
                "class": p.class_name,
                "message": escape(p.message),
                "advice": p.advice,
                # The other copies of a duplicate (the second file of a cross-class one).
                "related_files": [str(r) for r in p.related],
            }
            for p in result.problems
        ],
    }


def _cmd_backbones(args: argparse.Namespace) -> int:
    from classifier.backbones import DEFAULT_BACKBONE, listed_backbones

    if args.import_weights or args.download:
        from classifier import weights

        if args.import_weights:
            name, source = args.import_weights
            installed = weights.import_weights(name, source)
        else:
            progress = TextProgress(quiet=args.json)
            installed = weights.download_weights(args.download, progress)
            progress.close()
        print(f"Weights checked and installed as {installed}", file=sys.stderr)

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


def _print_epoch(stats) -> None:
    line = f"Epoch {stats.epoch}/{stats.epochs}  loss {stats.loss:.4f}  acc {stats.accuracy:.1%}"
    if stats.val_loss is not None:
        line += f"  val_loss {stats.val_loss:.4f}  val_acc {stats.val_accuracy:.1%}"
    print(line, file=sys.stderr)


def _cmd_train(args: argparse.Namespace) -> int:
    from classifier import run_history
    from classifier.evaluate import evaluation_text
    from classifier.modelfile import save_model
    from classifier.scan import scan_dataset
    from classifier.train import train, validate_config
    from classifier.types import TrainConfig

    config = TrainConfig(
        backbone=args.backbone,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        optimizer=args.optimizer,
        validation_percent=args.validation_percent,
        test_percent=args.test_percent,
        hidden_units=args.hidden_units,
        dropout=args.dropout,
        early_stopping=not args.no_early_stopping,
        patience=args.patience,
        class_weights=not args.no_class_weights,
        seed=args.seed,
        stretch=args.stretch,
        stretch_low=args.stretch_percentiles[0],
        stretch_high=args.stretch_percentiles[1],
        fits_hdu=args.hdu,
        model_type=args.model_type,
        oversample=args.oversample,
        augment_copies=args.augment_copies,
        augment_flips=args.flip,
        augment_rotate90=args.rotate90,
        augment_rotation=args.rotate,
        augment_zoom=args.zoom,
        augment_brightness=args.brightness,
        augment_contrast=args.contrast,
        fine_tune_blocks=args.fine_tune_blocks,
        fine_tune_epochs=args.fine_tune_epochs,
        fine_tune_learning_rate=args.fine_tune_learning_rate,
        lr_schedule=args.lr_schedule,
        tensorboard_dir=str(args.tensorboard or ""),
    )
    validate_config(config)
    progress = TextProgress(quiet=args.quiet)
    scan = scan_dataset(
        args.data_dir, progress=progress, hdu=config.fits_hdu, max_pixels=args.max_pixels
    )
    progress.close()
    for problem in scan.problems:
        if problem not in scan.errors[:1]:  # the first error is the failure message below
            print(f"note: {problem.message}", file=sys.stderr)
    outcome = train(
        scan,
        config,
        progress=progress,
        on_epoch=None if args.quiet else _print_epoch,
        cache_dir=args.cache_dir,
    )
    progress.close()
    if outcome.problems:
        print(
            f"note: {len(outcome.problems)} image(s) could not be read and were skipped.",
            file=sys.stderr,
        )
    save_model(outcome.model, args.model)
    _record, warning = run_history.remember(outcome, saved=args.model)
    if warning:
        print(f"note: {warning}", file=sys.stderr)
    print(evaluation_text(outcome.evaluation))
    print(f"Model saved to {args.model}")
    return EXIT_OK


def _load(path: Path, lazy: bool = False):
    from classifier.modelfile import load_model

    return load_model(path, lazy=lazy)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from classifier.evaluate import evaluate_scan, evaluation_text
    from classifier.scan import scan_dataset

    model = _load(args.model, lazy=True)
    progress = TextProgress(quiet=args.quiet or args.json)
    scan = scan_dataset(args.data_dir, progress=progress, hdu=model.preprocessing.hdu)
    evaluation, unreadable = evaluate_scan(scan, model, progress, cache_dir=args.cache_dir)
    progress.close()
    if args.json:
        print(json.dumps(_evaluation_json(evaluation), indent=2))
    else:
        print(evaluation_text(evaluation))
    if unreadable:
        print(f"note: {unreadable} file(s) could not be read and were not scored.", file=sys.stderr)
    return EXIT_OK


def _evaluation_json(evaluation) -> dict:
    from classifier.evaluate import accuracy_interval, small_test_classes, verdict

    interval = accuracy_interval(evaluation)
    return {
        **evaluation.to_json(),
        "accuracy_interval": {"low": interval.low, "high": interval.high, "level": interval.level},
        "verdict": verdict(evaluation),  # "clearly better than" (the baseline), ...
        "small_test_classes": small_test_classes(evaluation),
    }


def _cmd_classify(args: argparse.Namespace) -> int:
    from collections import Counter

    from classifier.export import OutputError, check_destination, write_csv, write_csv_to
    from classifier.folder_survey import require_image_files
    from classifier.predict import NoveltyOptions, classify_files

    # Refused before the work, not after it: a folder, a device, the model itself...
    check_destination(args.csv, [args.model], probe=True)
    if args.report:
        check_destination(args.report, [args.model, args.csv], probe=True)
    model = _load(args.model, lazy=True)  # cached images need no TensorFlow at all
    # No images: say what the folder holds instead of "succeeding" with a header-only CSV.
    files = require_image_files(args.folder, args.recursive, "use --recursive")
    wants_novelty = args.novelty or args.novelty_threshold is not None
    if wants_novelty and model.novelty is None:
        print(
            "note: this model was saved without a description of its training images, so "
            "no novelty column is written; train it again to get one.",
            file=sys.stderr,
        )
    novelty = NoveltyOptions(args.novelty_threshold) if wants_novelty else None
    progress = TextProgress(quiet=args.quiet)
    # Rows go to part files beside --csv as they come, so a killed run is continued, not redone.
    has_novelty = novelty is not None and model.novelty is not None
    run = cli_batch.resumable_run(args, model, files, has_novelty)
    with run.running() if run else contextlib.nullcontext():
        result = cli_batch.engine(args, classify_files)(
            run.todo if run else files,
            args.folder,
            model,
            threshold=args.threshold,
            batch_size=args.batch_size,
            progress=progress,
            on_rows=run.add if run else None,
            cache_dir=args.cache_dir,
            fits_keys=args.fits_keys,
            max_pixels=args.max_pixels,
            novelty=novelty,
        )
    progress.close()
    if run:
        result = dataclasses.replace(result, rows=run.all_rows(result.rows))
    if str(args.csv) == STDOUT:
        write_csv_to(
            sys.stdout,
            result.rows,
            model.class_names,
            result.extra_columns,
            novelty=has_novelty,
        )
        sys.stdout.flush()
        where = "standard output"
    else:
        try:
            write_csv(
                result.rows,
                model.class_names,
                args.csv,
                result.extra_columns,
                protected=[args.model],
                novelty=has_novelty,
            )
        except OutputError as exc:
            raise run.kept_failure(exc) from exc
        run.finished()
        where = escape(str(args.csv))
    if args.report:
        from classifier.cli_export import classify_report

        classify_report(args, model, result)
    counts = Counter(r.label for r in result.rows if not r.error)
    summary = ", ".join(f"{label} {n}" for label, n in sorted(counts.items()))
    print(
        f"Classified {len(result.rows) - result.n_errors} of {len(result.rows)} images "
        f"({summary or 'none'}); results in {where}",
        file=sys.stderr,
    )
    if result.n_errors:
        print(
            f"note: {result.n_errors} file(s) could not be read; their rows carry the error.",
            file=sys.stderr,
        )
    stats = result.stats
    if stats.cache_warning:
        print(f"note: {stats.cache_warning}", file=sys.stderr)
    if args.verbose:
        engine = f"{stats.engine} inference engine" if stats.engine else "no inference needed"
        print(f"time: {stats.breakdown()} ({engine})", file=sys.stderr)
    if args.watch:
        return cli_batch.keep_watching(args, model, result, novelty)
    return EXIT_OK


def _cmd_add(args: argparse.Namespace) -> int:
    from classifier.dataset_add import execute_add, plan_add
    from classifier.results_reader import items_from_csv
    from classifier.sorting import SortMode

    picked = items_from_csv(args.from_csv, args.images, args.column)
    mode = SortMode.MOVE if args.move else SortMode.COPY
    progress = TextProgress()
    plan = plan_add(picked.items, args.data_dir, mode, args.new_classes, progress=progress)
    progress.close()
    if args.dry_run:
        print(f"Dry run: {mode.value} into {plan.dataset} (nothing is changed)")
    else:
        report = execute_add(plan, progress)
        progress.close()
        print(f"{'Moved' if args.move else 'Copied'} {report.done} image(s) into {plan.dataset}")
    for line in plan.summary_lines(dry_run=args.dry_run):
        print(f"  {line}")
    if picked.skipped:
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(picked.skipped.items()))
        print(f"Rows skipped: {why}")
    if not args.dry_run and plan.actions:
        print(f"Undo log: {report.log}")
    return EXIT_OK


def _cmd_info(args: argparse.Namespace) -> int:
    from classifier.modelfile import read_info

    print(json.dumps(read_info(args.model).to_json(), indent=2))
    return EXIT_OK


def _cmd_install_launcher(args: argparse.Namespace) -> int:
    from classifier import launcher

    report = launcher.remove() if args.remove else launcher.install()
    print(report.message)
    return EXIT_OK


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
    _add_split_options(scan)
    scan.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_hdu_option(scan)
    _add_max_pixels(scan)
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
    scan.set_defaults(run=_cmd_scan)
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
    _add_split_options(train)
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
    _add_advanced_training_options(train, d)
    _add_stretch_options(train)
    _add_max_pixels(train)
    _add_common(train)
    train.set_defaults(run=_cmd_train)

    evaluate = _command(sub, "evaluate", "score a model on a labelled folder")
    evaluate.add_argument("data_dir", metavar="DATA_DIR", type=Path, help=DATA_DIR_HELP)
    evaluate.add_argument(
        "--model", required=True, type=Path, metavar="M", help="the model file to score"
    )
    evaluate.add_argument("--json", action="store_true", help="print the scores as JSON")
    _add_common(evaluate)
    evaluate.set_defaults(run=_cmd_evaluate)

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
    _add_max_pixels(classify)
    _add_common(classify)
    classify.set_defaults(run=_cmd_classify)
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
    add.set_defaults(run=_cmd_add)

    info = _command(sub, "info", "print a model file's metadata as JSON")
    info.add_argument("model", metavar="M", type=Path, help="a .sortscope model file")
    info.set_defaults(run=_cmd_info)

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
    backbones.set_defaults(run=_cmd_backbones)

    launcher = _command(
        sub,
        "install-launcher",
        "add Sortscope to the applications menu (Start menu, ~/Applications on macOS)",
    )
    launcher.add_argument(
        "--remove", action="store_true", help="take it out of the applications menu again"
    )
    launcher.set_defaults(run=_cmd_install_launcher)
    return parser


def command_names() -> set[str]:
    """The subcommands (`sortscope FOLDER` opens the window unless FOLDER is one of them)."""
    parser = build_parser()
    return next(
        set(a.choices) for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )


def _add_split_options(parser: argparse.ArgumentParser) -> None:
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


def _add_advanced_training_options(parser: argparse.ArgumentParser, d) -> None:
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


def _add_hdu_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hdu",
        type=parse_hdu,
        default=None,
        metavar="NAME|INDEX",
        help="FITS extension to read from every file, by name or index "
        "(default: the first one holding an image)",
    )


def _pixel_count(text: str) -> int:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("give a number of pixels, like 400000000") from exc
    if not 1 <= value <= 1e12:
        raise argparse.ArgumentTypeError("give a number of pixels between 1 and 1e12")
    return int(value)


def _add_max_pixels(parser: argparse.ArgumentParser) -> None:
    from classifier.images import DEFAULT_MAX_PIXELS

    parser.add_argument(
        "--max-pixels",
        type=_pixel_count,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help="skip images above N pixels (width x height; default "
        f"{DEFAULT_MAX_PIXELS:,}), the guard against decompression bombs; files larger than "
        "an uncompressed image of N pixels are not read either",
    )


def _percentiles(text: str) -> tuple[float, float]:
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"give two numbers, like {DEFAULT_LOW_PERCENT:g},{DEFAULT_HIGH_PERCENT:g}"
        ) from exc
    return low, high


def _add_stretch_options(parser: argparse.ArgumentParser) -> None:
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
        type=_percentiles,
        default=(DEFAULT_LOW_PERCENT, DEFAULT_HIGH_PERCENT),
        metavar="LOW,HIGH",
        help="clip points for the percentile and asinh stretches "
        f"(default: {DEFAULT_LOW_PERCENT:g},{DEFAULT_HIGH_PERCENT:g})",
    )
    _add_hdu_option(parser)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="feature cache folder (default: the user cache folder)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


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
