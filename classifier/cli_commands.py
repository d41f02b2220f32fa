"""What each `sortscope` command does (the parser in classifier/cli.py maps names here)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
from pathlib import Path

from classifier import cli_batch
from classifier.filenames import escape
from classifier.textprogress import TextProgress

EXIT_OK, EXIT_FAILURE = 0, 1
STDOUT = "-"  # as a file name: standard output


def cmd_scan(args: argparse.Namespace) -> int:
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


def cmd_backbones(args: argparse.Namespace) -> int:
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


def cmd_train(args: argparse.Namespace) -> int:
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
        int8=args.int8,
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


def cmd_evaluate(args: argparse.Namespace) -> int:
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


def cmd_classify(args: argparse.Namespace) -> int:
    if str(args.csv) == STDOUT or (args.csv.exists() and not args.csv.is_file()):
        return _classify(args)  # standard output, a device: nothing to guard (or refused)
    from classifier import run_lock

    # One run per CSV at a time: two would overwrite each other's parts and CSV.
    doing = f"writing {escape(str(args.csv))}"
    with run_lock.holding(run_lock.lock_path(args.csv), doing, "sortscope classify"):
        return _classify(args)


def _classify(args: argparse.Namespace) -> int:
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


def cmd_add(args: argparse.Namespace) -> int:
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


def cmd_info(args: argparse.Namespace) -> int:
    from classifier.modelfile import read_info

    print(json.dumps(read_info(args.model).to_json(), indent=2))
    return EXIT_OK


def cmd_install_launcher(args: argparse.Namespace) -> int:
    from classifier import launcher

    report = launcher.remove() if args.remove else launcher.install()
    print(report.message)
    return EXIT_OK
