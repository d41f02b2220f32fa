"""The Classify area's results table at a million rows: the worst event-loop stall while rows
stream in, during a sort, a filter change, a quick second filter change, a name filter and a
threshold move, with the table repainting all along (as a user watching it), and memory.

    xvfb-run -a .venv/bin/python bench/bench_results_table.py [--rows 1000000] [--code DIR]

Also the "table" part of bench_gui.py. `--code /other/checkout` measures another checkout's ui/
(an older one, for comparison) with this script.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gui_meter import StallMeter, rss_mb, wait


def make_rows(count: int, folder: Path) -> list:
    import numpy as np

    from classifier.types import Prediction

    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet([1, 1, 1], count)
    return [
        Prediction(
            f"night/{i:07d}.jpg",
            "",
            float(p.max()),
            tuple(map(float, p)),
            "",
            folder / f"{i:07d}.jpg",
            digest=f"{i:016x}",
        )
        for i, p in enumerate(probabilities)
    ]


def results_table_part(app, window, meter: StallMeter, count: int) -> None:
    from PySide6.QtCore import Qt, QTimer

    classify = window.classify_view
    window.tabs.setCurrentWidget(classify)
    table = classify.results_table
    results = classify.results
    rows = make_rows(count, Path("/nonexistent/night"))
    before = rss_mb()
    repaint = QTimer()  # the table keeps drawing, as on screen while a user waits
    repaint.setInterval(50)
    repaint.timeout.connect(table.table.viewport().repaint)
    repaint.start()
    table.reset(("galaxy", "globular_cluster", "open_cluster"), ())
    meter.reset()
    start = time.perf_counter()
    for i in range(0, len(rows), 1000):
        table.append([rows[i : i + 1000]])
        app.processEvents()
    print(
        f"results table {count:,} rows: streamed in (chunks of 1,000) in "
        f"{time.perf_counter() - start:.1f}s, worst stall {meter.worst * 1000:.0f} ms, "
        f"memory +{rss_mb() - before:.0f} MB (rows included)"
    )

    def measure(what: str, action) -> None:
        app.processEvents()
        meter.reset()
        start = time.perf_counter()
        action()
        app.processEvents()
        wait(app, lambda: not getattr(results, "busy", False))
        app.processEvents()
        seconds = time.perf_counter() - start
        print(
            f"  {what}: shown after {seconds:.2f}s ({results.rowCount():,} rows shown), "
            f"worst stall {meter.worst * 1000:.0f} ms"
        )

    header = table.table.horizontalHeader()  # as a header click does
    measure("sort by confidence", lambda: header.setSortIndicator(3, Qt.SortOrder.DescendingOrder))
    measure("sort by file name", lambda: header.setSortIndicator(1, Qt.SortOrder.AscendingOrder))
    measure("filter: uncertain only", lambda: table.uncertain_only.setChecked(True))
    measure("filter off", lambda: table.uncertain_only.setChecked(False))

    def twice() -> None:
        table.label_filter.setCurrentIndex(table.label_filter.findData("galaxy"))
        app.processEvents()
        table.label_filter.setCurrentIndex(table.label_filter.findData("open_cluster"))

    measure("filter by label, changed again at once", twice)
    measure("threshold 0.5 (relabels every row)", lambda: classify.threshold.setValue(0.5))
    measure("name filter '12345'", lambda: table.search.setText("12345"))
    measure("all filters cleared", table.clear_filters)
    table.table.selectRow(10)
    ascending = Qt.SortOrder.AscendingOrder
    measure("sort by label, a row selected", lambda: header.setSortIndicator(2, ascending))
    repaint.stop()
    print(f"  memory +{rss_mb() - before:.0f} MB after sorting and filtering (rows included)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    sys.path.insert(0, str(args.code))
    sys.path.insert(1, str(Path(__file__).resolve().parent))
    from workdir import work_folder

    work = work_folder("sortscope-bench-table-")
    os.environ["SORTSCOPE_CACHE_DIR"] = str(work / "cache")
    os.environ["SORTSCOPE_DATA_DIR"] = str(work / "data")
    os.environ["XDG_CONFIG_HOME"] = str(work / "config")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    from ui.main_window import MainWindow

    print(f"{args.code}: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    window = MainWindow(QSettings(str(work / "s.ini"), QSettings.Format.IniFormat))
    window.resize(1280, 820)
    window.show()
    results_table_part(app, window, StallMeter(), args.rows)
    window.close()


if __name__ == "__main__":
    main()
