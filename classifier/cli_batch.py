"""Command-line parts of long and spread-out runs: classify's --shard (and resumable parts),
and the `merge` command. Registered from classifier/cli.py."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from classifier.batch import ResumableRun, Shard, parse_shard, run_spec
from classifier.errors import SortscopeError
from classifier.filenames import escape


def _shard(text: str) -> Shard:
    try:
        return parse_shard(text)
    except SortscopeError as exc:
        raise argparse.ArgumentTypeError(f"{exc.what} {exc.todo}") from exc


def add_classify_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shard",
        type=_shard,
        default=None,
        metavar="K/N",
        help="classify only the files whose path hashes to shard K of N (1-based), e.g. "
        "--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT; join the shards' CSVs with "
        "'sortscope merge'",
    )
    parser.add_argument(
        "--engine",
        choices=["local", "dask"],
        default="local",
        help="where the images are classified: this machine's cores (local), or a Dask "
        'cluster (dask; pip install "sortscope[cluster]"), whose workers read the images '
        "at the same paths (a shared file system)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="with --engine dask: an existing cluster's scheduler, e.g. tcp://head:8786 "
        "(default: a cluster on this machine, one worker process per core)",
    )
    parser.add_argument(
        "--chunk-files",
        type=int,
        default=256,
        metavar="N",
        help="with --engine dask: files per task",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="after classifying what is there, keep watching FOLDER and classify each new "
        "image once it is complete; the CSV is rewritten (whole and sorted) as they come. "
        "Ctrl+C stops",
    )
    parser.add_argument(
        "--idle-exit",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with --watch: stop after SECONDS without a new file",
    )


def engine(args: argparse.Namespace, classify_files):
    """The classify function of --engine: `classify_files` itself, or its Dask adapter."""
    if args.engine != "dask":
        return classify_files
    from classifier.dask_engine import DaskEngine, require_dask

    require_dask()
    return DaskEngine(args.model, args.scheduler, args.chunk_files)


def resumable_run(
    args: argparse.Namespace, model, files: list[Path], novelty: bool = False
) -> ResumableRun | None:
    """The run's part files beside --csv (None for standard output), saying so when it
    continues an interrupted run."""
    if args.watch and (args.shard is not None or str(args.csv) == "-"):
        raise SortscopeError(
            "--watch needs a CSV file of its own, and no --shard.",
            "Give --csv results.csv, and watch the whole folder on one machine.",
        )
    if str(args.csv) == "-":
        if args.shard is not None:
            raise SortscopeError(
                "--shard needs a CSV file, not standard output.",
                "Give --csv shard-K.csv, so 'sortscope merge' can check the shards.",
            )
        return None
    spec = run_spec(
        args.model,
        model.class_names,
        args.folder,
        threshold=args.threshold,
        fits_keys=args.fits_keys,
        max_pixels=args.max_pixels,
        recursive=args.recursive,
        novelty=novelty,
        novelty_threshold=getattr(args, "novelty_threshold", None),
    )
    run = ResumableRun(args.csv, files, args.folder, spec, args.shard)
    if run.kept:
        print(
            f"Continuing an interrupted run: {len(run.kept)} image(s) already classified "
            f"(kept in {escape(str(run.store.folder))}), {len(run.todo)} to go.",
            file=sys.stderr,
        )
    elif run.store.discarded:
        print(
            "note: the unfinished results of an earlier run with other settings or another "
            "model were discarded; this run starts afresh.",
            file=sys.stderr,
        )
    return run


def add_merge_command(sub, command) -> None:
    merge = command(sub, "merge", "join the CSVs of a run's shards into the CSV one run writes")
    merge.add_argument(
        "parts", metavar="PART.csv", type=Path, nargs="+", help="the shards' CSVs (--shard K/N)"
    )
    merge.add_argument(
        "--csv", required=True, type=Path, metavar="OUT.csv", help="where to write the whole CSV"
    )
    merge.set_defaults(run=_cmd_merge)


def _cmd_merge(args: argparse.Namespace) -> int:
    from classifier.merge import merge_shards

    rows = merge_shards(args.parts, args.csv)
    print(
        f"Merged {len(args.parts)} shard(s), {rows} rows, into {escape(str(args.csv))}",
        file=sys.stderr,
    )
    return 0


def keep_watching(args: argparse.Namespace, model, result, novelty=None) -> int:
    """`classify --watch`: after the first run, new images until Ctrl+C or --idle-exit."""
    from classifier.export import write_csv
    from classifier.predict import classify_files
    from classifier.watch import watch_folder

    def classify(files: list[Path]):
        return classify_files(
            files,
            args.folder,
            model,
            threshold=args.threshold,
            batch_size=args.batch_size,
            cache_dir=args.cache_dir,
            fits_keys=args.fits_keys,
            max_pixels=args.max_pixels,
            novelty=novelty,
        ).rows

    def write(rows) -> None:
        write_csv(
            rows,
            model.class_names,
            args.csv,
            result.extra_columns,
            protected=[args.model],
            novelty=novelty is not None and model.novelty is not None,
        )

    def report(rows) -> None:
        if not args.quiet:
            names = ", ".join(escape(r.file) for r in rows[:3]) + (", ..." if len(rows) > 3 else "")
            print(f"{len(rows)} new: {names}", file=sys.stderr)

    idle = f", or {args.idle_exit:g} s without a new file" if args.idle_exit is not None else ""
    print(
        f"Watching {escape(str(args.folder))} for new images (Ctrl+C stops{idle})", file=sys.stderr
    )
    rows = {row.file: row for row in result.rows}
    # Ctrl+C ends it cleanly: the CSV on disk is whole, it is rewritten only after each batch.
    with contextlib.suppress(KeyboardInterrupt):
        watch_folder(
            args.folder,
            rows,
            classify,
            write,
            recursive=args.recursive,
            idle_exit=args.idle_exit,
            on_rows=report,
        )
    print(f"Stopped watching; {len(rows)} rows in {escape(str(args.csv))}", file=sys.stderr)
    return 0
