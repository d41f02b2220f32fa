"""GUI benchmarks: start-up, a 20,000-image dataset, event-loop stalls, batch view at scale.

    xvfb-run -a .venv/bin/python bench/bench_gui.py [--images 20000] [--classify 2000]

(QT_QPA_PLATFORM=offscreen works too.) Each part prints one or two lines; bench/README.md
keeps the last numbers. Uses temporary data, cache and settings; never the user's.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from workdir import work_folder  # noqa: E402

WORK = work_folder("sortscope-bench-gui-")
os.environ["SORTSCOPE_CACHE_DIR"] = str(WORK / "cache")
os.environ["SORTSCOPE_DATA_DIR"] = str(WORK / "data")
os.environ["XDG_CONFIG_HOME"] = str(WORK / "config")


def rss_mb() -> float:
    """Current resident memory of this process, from /proc (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def startup_seconds() -> float:
    code = (
        "import time, sys; t0 = time.perf_counter()\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from PySide6.QtCore import QSettings, QTimer\n"
        "app = QApplication(sys.argv)\n"
        "from ui.main_window import MainWindow\n"
        f"w = MainWindow(QSettings('{WORK}/s.ini', QSettings.Format.IniFormat)); w.show()\n"
        "QTimer.singleShot(0, lambda: (print(time.perf_counter() - t0), app.quit()))\n"
        "app.exec()\n"
        "print('tensorflow' in sys.modules)\n"
    )
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    total = time.perf_counter() - start
    inside, tf_loaded = out.stdout.split()
    print(
        f"startup: window shown {total:.2f}s after process start "
        f"({float(inside):.2f}s after Python began); TensorFlow imported: {tf_loaded}"
    )
    return total


class StallMeter:
    """Measures the longest gap between 10 ms timer ticks on the GUI thread."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.last = time.perf_counter()
        self.worst = 0.0
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self.last)
        self.last = now

    def reset(self) -> None:
        self.last = time.perf_counter()
        self.worst = 0.0


def wait(app, condition, timeout: float = 3600) -> None:
    end = time.perf_counter() + timeout
    while not condition():
        app.processEvents()
        time.sleep(0.002)
        if time.perf_counter() > end:
            raise TimeoutError


def make_pngs(folder: Path, count: int) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in range(4):
        (folder / f"class_{c}").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        pixels = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize((96, 72)).save(folder / f"class_{i % 4}" / f"{i:06d}.png")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--classify", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=100000)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores")
    startup_seconds()

    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    from ui.main_window import MainWindow

    window = MainWindow(QSettings(str(WORK / "s.ini"), QSettings.Format.IniFormat))
    window.resize(1280, 820)
    window.show()
    meter = StallMeter()

    # As the app does 1.5 s after start-up: import TensorFlow in the background.
    from classifier.tf_runtime import keras

    start = time.perf_counter()
    window.runner.start("warm-up", lambda ctx: keras())
    wait(app, lambda: not window.runner.is_running("warm-up"))
    print(
        f"TensorFlow warm-up in the background: {time.perf_counter() - start:.1f}s, "
        f"worst GUI stall {meter.worst * 1000:.0f} ms"
    )

    # A big dataset: scan time, first thumbnails, memory while scrolling everything.
    big = WORK / "big"
    make_pngs(big, args.images)
    before = rss_mb()
    meter.reset()
    start = time.perf_counter()
    window.open_dataset(big)
    wait(app, lambda: window.state.scan is not None)
    scanned = time.perf_counter() - start
    view = window.dataset_view
    first = view.thumbnail_model.records[0].path
    wait(app, lambda: view.loader.cached(first)[0])
    first_thumb = time.perf_counter() - start - scanned
    print(
        f"dataset {args.images} images: scan {scanned:.1f}s, first thumbnail "
        f"{first_thumb * 1000:.0f} ms after the scan, worst GUI stall {meter.worst * 1000:.0f} ms"
    )
    meter.reset()
    bar = view.grid.verticalScrollBar()
    for step in range(0, bar.maximum() + 1, max(1, bar.maximum() // 200)):
        bar.setValue(step)
        for _ in range(5):
            app.processEvents()
            time.sleep(0.002)
    print(
        f"scrolled through all {args.images}: worst stall {meter.worst * 1000:.0f} ms, "
        f"thumbnail cache {len(view.loader._cache)} items, memory +{rss_mb() - before:.0f} MB"
    )

    # Training on the example dataset with the real backbone (cold cache).
    window.open_example()
    wait(
        app,
        lambda: window.state.scan is not None and window.state.scan.root.name == "star_clusters",
    )
    train = window.train_view
    train.form.epochs.setValue(30)
    meter.reset()
    start = time.perf_counter()
    train.start()
    wait(app, lambda: len(train.runs) == 1)
    print(
        f"train (180 images, Lite0, cold cache, 30 epochs max): {time.perf_counter() - start:.1f}s"
        f", worst GUI stall {meter.worst * 1000:.0f} ms"
    )

    # Classify the same folder through the GUI path and the CLI path.
    from bench_features import make_jpegs

    night = WORK / "night"
    make_jpegs(night, args.classify, (1024, 768), 5)
    model_path = WORK / "bench.sortscope"
    train.save_to(model_path)
    wait(app, lambda: window.state.model_path == model_path)
    classify = window.classify_view
    classify.folder_edit.setText(str(night))
    meter.reset()
    start = time.perf_counter()
    classify.start()
    wait(app, lambda: window.state.results is not None)
    gui_seconds = time.perf_counter() - start
    print(
        f"classify {args.classify} fresh 1024x768 JPEGs, GUI: {args.classify / gui_seconds:.1f} "
        f"img/s, worst GUI stall {meter.worst * 1000:.0f} ms"
    )
    # Same cache folder (the converted engine is per computer), features removed: a cold run.
    shutil.rmtree(WORK / "cache" / "features", ignore_errors=True)
    env = dict(os.environ)
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "classify",
            str(night),
            "--model",
            str(model_path),
            "--csv",
            str(WORK / "cli.csv"),
            "--quiet",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    cli_seconds = time.perf_counter() - start
    print(
        f"classify same folder, CLI (whole process, cold feature cache): "
        f"{args.classify / cli_seconds:.1f} img/s"
    )

    # The results table at 100,000 rows.
    import numpy as np

    from classifier.types import Prediction

    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet([1, 1, 1], args.rows)
    rows = [
        Prediction(
            f"night/{i:07d}.jpg",
            "",
            float(p.max()),
            tuple(map(float, p)),
            "",
            night / f"{i:07d}.jpg",
        )
        for i, p in enumerate(probabilities)
    ]
    classify.results.reset(("galaxy", "globular_cluster", "open_cluster"))
    before = rss_mb()
    meter.reset()
    start = time.perf_counter()
    for i in range(0, len(rows), 1000):
        classify.results.append(rows[i : i + 1000])
        app.processEvents()
    filled = time.perf_counter() - start
    start = time.perf_counter()
    # As a header click does (sortByColumn would sort twice).
    header = classify.results_table.table.horizontalHeader()
    header.setSortIndicator(3, Qt.SortOrder.DescendingOrder)
    app.processEvents()
    sorted_s = time.perf_counter() - start
    start = time.perf_counter()
    classify.results_table.uncertain_only.setChecked(True)
    app.processEvents()
    filtered = time.perf_counter() - start
    print(
        f"results table {args.rows} rows: filled in {filled:.1f}s, sort {sorted_s:.2f}s, "
        f"filter {filtered:.2f}s, memory +{rss_mb() - before:.0f} MB (rows included), worst "
        f"stall {meter.worst * 1000:.0f} ms"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MB")
    window.close()


if __name__ == "__main__":
    main()
