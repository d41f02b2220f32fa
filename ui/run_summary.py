"""The line under the results table: images per label, how many the filters show, and where
a run's time went, with its terms explained in plain words."""

from __future__ import annotations

import html

from classifier.names import UNFAMILIAR
from classifier.predict import UNCERTAIN
from classifier.types import ExtractionStats
from ui.results_model import ResultsModel

RUN_DETAILS_HELP = (
    "<p>Where the time of this run went.</p>"
    "<p><b>Start-up</b>: loading the network, once per run.</p>"
    "<p><b>Per new image on each of N workers</b>: N images are worked on side by side. For "
    "each image not classified before, the time one worker spent reading the file, decoding "
    "it into pixels and running the network on it (<b>inference</b>).</p>"
    "<p><b>Limited by</b>: the slowest of the three, the one to speed up (a faster disk, "
    "smaller files, a faster computer).</p>"
    "<p><b>From the cache</b>: images classified before, which cost almost nothing now.</p>"
    "<p><b>Engine</b>: the program that runs the network. <i>tflite</i> is the fast one "
    "Sortscope prepares for this computer; <i>keras</i> is the standard one, used when the "
    "fast one cannot be.</p>"
)


def counts_text(results: ResultsModel, shown: int | None) -> str:
    """Images per label and unreadable ones; `shown`: rows the filters let through, None
    when no filter is set. Each "name: count" stays on one line when the text wraps."""
    total = len(results.rows)
    if not total:
        return "No results yet."
    labels, errors = results.summary()
    head = f"{total:,} images" if shown is None else f"{shown:,} of {total:,} images shown"
    parts = [_part(name, labels.get(name, 0)) for name in results.class_names]
    parts.append(_part(UNCERTAIN, labels.get(UNCERTAIN, 0)))
    if results.novelty_threshold is not None:
        parts.append(_part(UNFAMILIAR, labels.get(UNFAMILIAR, 0)))
    if errors:
        parts.append(_part("unreadable", errors))
    return " · ".join([head, *parts])


def run_details(stats: ExtractionStats) -> str:
    """The run's numbers, led by a plain pointer to their explanation (the tooltip)."""
    engine = f", {stats.engine_text()}" if stats.engine else ""
    details = html.escape(stats.breakdown() + engine)
    if stats.cache_warning:
        details += f"<br>{html.escape(stats.cache_warning)}"
    return f"<br><small>Run details (point here for what they mean): {details}</small>"


def _part(name: str, count: int) -> str:
    return f"<span style='white-space:nowrap'>{html.escape(name)}: <b>{count:,}</b></span>"
