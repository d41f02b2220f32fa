""" "Keep watching this folder" in the Classify area: after the run, new images stream in as rows
during the night.

The watching is `classifier.watch.watch_folder`, the loop behind `sortscope classify --watch`,
in a background task of its own: a file is classified once complete (its size and time stable),
a removed file's row goes, a replaced file is classified again. New rows are added to the
run's part files as they come (ui/batch_resume.py), so a crash in the night keeps them and the
next start offers to continue; stopping the watch (Cancel, a new run, quitting) ends the run
and removes the parts. The bar and the status line say how many new images have come.
"""

from __future__ import annotations

import dataclasses
import html
import time
from pathlib import Path

from PySide6.QtWidgets import QCheckBox

from classifier import run_lock
from classifier.filenames import escape
from classifier.predict import ClassifyResult, classify_files
from classifier.types import Prediction
from classifier.watch import POLL_SECONDS, watch_folder
from ui.batch_resume import HOLDER, PreparedRun
from ui.errors import ErrorInfo

WATCH = "classify-watch"  # the task kind: apart from "classify", so export and sort stay usable


def watch_job(prepared: PreparedRun, rows: list[Prediction], poll_seconds: float = POLL_SECONDS):
    """The background job: watch until cancelled, sending ("rows", [...]) for new or
    classified-again rows and ("gone", [names]) for files removed."""
    run = prepared.run

    def job(ctx):
        def classify(files: list[Path]):
            return classify_files(
                files,
                prepared.folder,
                prepared.model,
                cancel=ctx.cancel,
                fits_keys=prepared.fits_keys,
                novelty=prepared.novelty,
            ).rows

        def arrived(new_rows) -> None:
            if run is not None:
                run.add(list(new_rows))  # saved as they come: a crash keeps them
            ctx.partial(("rows", list(new_rows)))

        def write(_rows) -> None:  # the window has no CSV: the parts are its record
            if run is not None:
                run.store.flush()

        def watch() -> None:
            watch_folder(
                prepared.folder,
                {row.file: row for row in rows},
                classify,
                write,
                recursive=prepared.recursive,
                stop=lambda: ctx.cancel.cancelled,
                on_rows=arrived,
                on_gone=lambda names: ctx.partial(("gone", names)),
                poll_seconds=poll_seconds,
            )

        if run is None:
            return watch()
        with run_lock.holding(prepared.lock, prepared.doing, HOLDER, wait=10.0):
            try:
                watch()
            finally:  # stopped (or failed): the run is over, its parts go
                run.store.remove()

    return job


class WatchActions:
    """The view's side of the watch. Mixed into `classify_view.ClassifyView`; needs its
    runner, state, progress, results, results_table, classified_with and `_update_buttons`."""

    watch_poll_seconds = POLL_SECONDS

    def _build_watch_box(self) -> QCheckBox:
        self.watch_box = QCheckBox("Keep watching this folder")
        self.watch_box.setToolTip(
            "After the run, classify each new image that appears in the folder (once it is "
            "completely written) until you press Cancel: for a night's frames as they come."
        )
        self._watched: dict[str, Prediction] = {}
        self._watch_new = 0
        self._watch_result: ClassifyResult | None = None
        self.progress.cancel_requested.connect(lambda: self.runner.cancel(WATCH))
        return self.watch_box

    def watching(self) -> bool:
        return self.runner.is_running(WATCH)

    def stop_watching(self) -> None:
        """A new run begins: the watch ends without a word (its rows are being replaced)."""
        task = self.runner.current(WATCH)
        if task is not None and task.running:
            task.stale = True
            task.cancel()

    def _start_watching(self, prepared: PreparedRun, result: ClassifyResult) -> None:
        self._watched = {row.file: row for row in result.rows}
        self._watch_new = 0
        self._watch_result = result
        self._watch_since = time.strftime("%H:%M")
        self.runner.start(
            WATCH,
            watch_job(prepared, result.rows, self.watch_poll_seconds),
            partial=self._watch_changes,
            finished=self._watch_ended,
            cancelled=self._watch_ended,
            failed=self._watch_failed,
        )
        self.progress.start("")
        self.progress.bar.setRange(0, 1)  # not a busy bar all night: a steady one with words
        self.progress.bar.setValue(1)
        self._watch_status()

    def _watch_status(self) -> None:
        folder = self.folder.name if self.folder else ""
        text = (
            f"Watching {escape(folder)} since {self._watch_since}: {self._watch_new} new "
            f"image{'' if self._watch_new == 1 else 's'} (Cancel stops)"
        )
        self.progress.bar.setFormat(text)
        self.progress.setToolTip(html.escape(text))
        self.state.status.emit(text)

    def _watch_changes(self, items: list) -> None:
        """New rows are appended; a file classified again or removed rebuilds the table
        from the watched rows (rare: the table has no row-by-row replace)."""
        added: list[Prediction] = []
        rebuild = False
        for kind, values in items:
            if kind == "gone":
                for name in values:
                    self._watched.pop(name, None)
                rebuild = True
                continue
            for row in values:
                if row.file in self._watched:
                    rebuild = True
                else:
                    self._watch_new += 1
                    added.append(row)
                self._watched[row.file] = row
        if rebuild:
            results = self.results
            self.results_table.reset(results.class_names, results.extra_columns, results.novelty)
            self.results_table.append([sorted(self._watched.values(), key=lambda r: r.file)])
        elif added:
            self.results_table.append([added])
        self._watch_status()

    def _watch_ended(self, _result=None) -> None:
        self.progress.finish()
        self.results_table.sort_as_shown()  # new rows came in at the end
        if self._watch_result is not None:  # the batch is now what the watch saw
            rows = sorted(self._watched.values(), key=lambda r: r.file)
            self.state.set_results(dataclasses.replace(self._watch_result, rows=rows))
        self.state.status.emit(
            f"Stopped watching; {self._watch_new} new image(s) were classified during the watch"
        )
        self._update_buttons()

    def _watch_failed(self, info: ErrorInfo) -> None:
        self._watch_ended()
        self._failed(info)
