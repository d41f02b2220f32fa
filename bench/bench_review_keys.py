"""Review mode: from a decision key press to the next image on screen. Target: under 50 ms.

.venv/bin/python bench/bench_review_keys.py [--images 300] [--presses 120] [--pace 0.3]

Generated 1024x768 JPEGs (photograph-like), reviewed through the real ReviewView and its
journal (append + fsync per decision). Each press is timed from the key event to the next
image shown (decoded, scaled and set; when it was not preloaded yet, until it arrives):

- at a person's pace (`--pace` seconds between presses, the preloading keeps up);
- as fast as the keys can go (no pause at all: the worst case for preloading).

Runs on the offscreen platform unless a display is set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_features import make_jpegs
from workdir import work_folder

CLASSES = ("alpha", "beta", "gamma", "delta", "epsilon")


def stand_in_model():
    """What the review needs of a model: classes, head weights (its journal key), stretch."""
    from classifier.preprocessing import Preprocessing

    head = [(np.zeros((4, len(CLASSES)), np.float32), np.zeros(len(CLASSES), np.float32), "s")]
    return SimpleNamespace(class_names=CLASSES, head_layers=head, preprocessing=Preprocessing())


def rows_for(paths: list[Path], rng) -> list:
    from classifier.types import Prediction

    rows = []
    for i, path in enumerate(paths):
        p = rng.dirichlet(np.ones(len(CLASSES)))
        rows.append(
            Prediction(
                path.name,
                CLASSES[int(p.argmax())],
                float(p.max()),
                tuple(float(x) for x in p),
                path=path,
                digest=f"{i:032x}",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--presses", type=int, default=120)
    parser.add_argument("--pace", type=float, default=0.3)
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = work_folder("sortscope-bench-review-keys-")
    os.environ["SORTSCOPE_DATA_DIR"] = str(work / "data")  # its journals, not the user's
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    from ui.review_session import ReviewSession
    from ui.review_view import ReviewView
    from ui.tasks import TaskRunner

    print(f"machine: {os.cpu_count()} cores; making {args.images} 1024x768 JPEGs…")
    paths = make_jpegs(work / "night", args.images, (1024, 768), 7)
    session = ReviewSession()
    runner = TaskRunner()
    view = ReviewView(session, lambda: session.rows, runner)
    view.resize(1280, 800)
    view.show()
    session.open(work / "night", stand_in_model(), rows_for(paths, np.random.default_rng(0)))

    def wait(condition, timeout=30.0) -> None:
        end = time.perf_counter() + timeout
        while not condition() and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.0005)

    def press_and_time(key) -> tuple[float, float, bool]:
        """ms to the image on screen, ms in the key handler itself, and whether the image
        was preloaded (on screen when the handler returned)."""
        start = time.perf_counter()
        QTest.keyClick(view, key)
        handled = time.perf_counter()
        preloaded = view.image_ready
        wait(lambda: view.image_ready)
        app.processEvents()  # the repaint
        done = time.perf_counter()
        return (done - start) * 1000, (handled - start) * 1000, preloaded

    wait(lambda: view.image_ready)
    keys = [Qt.Key.Key_1, Qt.Key.Key_Return, Qt.Key.Key_3, Qt.Key.Key_X, Qt.Key.Key_Space]
    for label, pace in (
        (f"person's pace ({args.pace} s between keys)", args.pace),
        ("no pause", 0),
    ):
        times, handler, preloaded = [], [], 0
        for i in range(args.presses // 2):
            if pace:
                end = time.perf_counter() + pace
                wait(lambda end=end: time.perf_counter() >= end)
            total, handled, ready = press_and_time(keys[i % len(keys)])
            times.append(total)
            handler.append(handled)
            preloaded += ready
        times.sort()
        print(
            f"key press to next image, {label}: median {statistics.median(times):.1f} ms, "
            f"95th percentile {times[int(len(times) * 0.95) - 1]:.1f} ms, "
            f"worst {times[-1]:.1f} ms over {len(times)} presses; "
            f"{preloaded} preloaded; the key handler itself (decision saved, next image "
            f"shown): median {statistics.median(handler):.1f} ms, worst {max(handler):.1f} ms"
        )
    print(f"counter: {session.counts.text()}")
    view.shutdown()
    runner.shutdown()
    session.close()


if __name__ == "__main__":
    main()
