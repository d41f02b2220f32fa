"""GUI benchmarks: start-up, a 20,000-image dataset, event-loop stalls, batch view at scale.

    xvfb-run -a .venv/bin/python bench/bench_gui.py [--images 20000] [--classify 2000]
        [--rows 1000000] [--parts startup,warmup,dataset,train,table]

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
from gui_meter import StallMeter, rss_mb, wait  # noqa: E402
from workdir import work_folder  # noqa: E402

WORK = work_folder("sortscope-bench-gui-")
os.environ["SORTSCOPE_CACHE_DIR"] = str(WORK / "cache")
os.environ["SORTSCOPE_DATA_DIR"] = str(WORK / "data")
os.environ["XDG_CONFIG_HOME"] = str(WORK / "config")


def startup_seconds() -> float:
    code = (
        "import time, sys; t0 = time.perf_counter()\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from PySide6.QtCore import QSettings, QTimer\n"
        "app = QApplication(sys.argv)\n"
        "from ui.main_window import MainWindow\n"
        "from ui.warm_up import before_window; before_window()\n"
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


def make_pngs(folder: Path, count: int) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in range(4):
        (folder / f"class_{c}").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        pixels = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize((96, 72)).save(folder / f"class_{i % 4}" / f"{i:06d}.png")


PARTS = ("startup", "warmup", "dataset", "train", "table")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--classify", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--parts", default=",".join(PARTS), help="which parts to run")
    parser.add_argument(
        "--plain-warmup",
        action="store_true",
        help="import TensorFlow as before: no ml_dtypes before the window, no preloading",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    if "startup" in parts:
        startup_seconds()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    from ui.main_window import MainWindow
    from ui.warm_up import before_window

    if not args.plain_warmup:
        before_window()  # as ui/app.py does

    window = MainWindow(QSettings(str(WORK / "s.ini"), QSettings.Format.IniFormat))
    window.resize(1280, 820)
    window.show()
    meter = StallMeter()
    if "warmup" in parts:
        warm_up(app, window, meter, args.plain_warmup)
    if "dataset" in parts:
        dataset_part(app, window, meter, args.images)
    if "train" in parts:
        train_part(app, window, meter, args.classify)
    if "table" in parts:
        from bench_results_table import results_table_part

        results_table_part(app, window, meter, args.rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MB")
    window.close()


def warm_up(app, window, meter: StallMeter, plain: bool) -> None:
    """As the app does 1.5 s after start-up: import TensorFlow in the background (`plain`:
    without loading its native libraries first, as before)."""
    from classifier.tf_runtime import keras
    from ui.warm_up import warm_up_job

    meter.reset()
    start = time.perf_counter()
    window.runner.start("warm-up", (lambda ctx: keras()) if plain else warm_up_job)
    wait(app, lambda: not window.runner.is_running("warm-up"))
    print(
        f"TensorFlow warm-up in the background{' (plain import)' if plain else ''}: "
        f"{time.perf_counter() - start:.1f}s, "
        f"worst GUI stall {meter.worst * 1000:.0f} ms"
    )


def dataset_part(app, window, meter: StallMeter, images: int) -> None:
    """A big dataset: scan time, first thumbnails, memory while scrolling everything."""
    big = WORK / "big"
    make_pngs(big, images)
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
        f"dataset {images} images: scan {scanned:.1f}s, first thumbnail "
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
        f"scrolled through all {images}: worst stall {meter.worst * 1000:.0f} ms, "
        f"thumbnail cache {len(view.loader._cache)} items, memory +{rss_mb() - before:.0f} MB"
    )


def train_part(app, window, meter: StallMeter, images: int) -> None:
    """Training on the example dataset with the real backbone (cold cache), then classifying
    fresh JPEGs through the GUI and the command line."""
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
    make_jpegs(night, images, (1024, 768), 5)
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
        f"classify {images} fresh 1024x768 JPEGs, GUI: {images / gui_seconds:.1f} "
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
        f"{images / cli_seconds:.1f} img/s"
    )


if __name__ == "__main__":
    main()
