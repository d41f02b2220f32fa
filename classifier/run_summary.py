"""The record of a training run stored with the model: the dataset it saw (classes, images per
split, what was skipped), its settings, its epochs and its test scores."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from classifier.model_info import DatasetSummary, RunSummary
from classifier.types import Split


def build_run_summary(
    scan, config, labels_by_split, problems, log, best, stopped, evaluation, fine_tune=None
) -> RunSummary:
    dataset = DatasetSummary(
        # Absolute: the dataset reviewed images are added to later, from any folder.
        root=str(Path(scan.root).absolute()),
        classes=scan.counts(),
        # Images actually used, per class and split (no second pass over the hashes).
        splits={
            c: {s.value: int((labels_by_split[s] == i).sum()) for s in Split}
            for i, c in enumerate(scan.classes)
        },
        images_used=int(sum(len(y) for y in labels_by_split.values())),
        images_skipped=len(problems),
        training_rows=log.training_rows,
        high_range_images=scan.high_range_images,
    )
    return RunSummary(
        model_type=config.model_type,
        config=config,
        dataset=dataset,
        history=tuple(log.history),
        best_epoch=best,
        stopped_early=stopped,
        test_metrics=evaluation,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        tensorboard_run=str(log.tensorboard_run) if log.tensorboard_run else None,
        fine_tune=fine_tune,
    )
