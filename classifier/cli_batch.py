"""Command-line parts of long and spread-out runs: classify's --shard (and resumable parts),
and the `merge` command. Registered from classifier/cli.py."""

from __future__ import annotations

import argparse
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


def resumable_run(
    args: argparse.Namespace, model, files: list[Path], novelty: bool = False
) -> ResumableRun | None:
    """The run's part files beside --csv (None for standard output), saying so when it
    continues an interrupted run."""
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
            "model were set aside; this run starts afresh.",
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
