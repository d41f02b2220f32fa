import shutil
import threading
import time
from pathlib import Path

import numpy as np
from datasets import make_dataset
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from classifier.types import ProblemKind
from ui.error_dialog import ErrorDialog
from ui.errors import ErrorInfo, ErrorReporter, install_exception_hooks


def wait_for_scan(qtbot, window, root: Path):
    qtbot.waitUntil(
        lambda: window.state.scan is not None and window.state.scan.root == root, timeout=30000
    )
    return window.state.scan


def test_window_has_three_areas_and_starts_empty(window):
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert tabs == ["1  Dataset", "2  Train", "3  Classify"]
    assert window.dataset_view.pages.currentIndex() == 0  # the welcome page
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&View", "&Run", "&Help"]


def test_open_dataset_shows_counts_splits_problems_and_thumbnails(qtbot, window, tmp_path):
    root = make_dataset(tmp_path / "data", per_class={"Red": 30, "green": 6, "Blue Sky": 25})
    (root / "Red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    shutil.copy(root / "green" / "green_000.png", root / "Red" / "from_green.png")
    window.open_dataset(root)
    scan = wait_for_scan(qtbot, window, root)
    view = window.dataset_view
    assert view.pages.currentIndex() == 1
    table = view.class_table
    rows = {
        table.item(r, 0).text(): [table.item(r, c).text() for c in range(1, 6)]
        for r in range(table.rowCount())
    }
    assert rows["All classes"][0] == "62"
    assert rows["Red"][0] == "31" and rows["green"][0] == "6"
    assert sum(int(v) for v in rows["Red"][1:4]) == 31  # train + validation + test
    assert "only 6 images" in rows["green"][4]
    problem_texts = [
        view.problems.table.item(r, 1).text() for r in range(view.problems.table.rowCount())
    ]
    assert len(problem_texts) == len(scan.problems)
    assert any("not an image" in t or "damaged" in t for t in problem_texts)
    assert any("several classes" in t for t in problem_texts)

    # Thumbnails arrive from the background pool for the visible items.
    model = view.thumbnail_model
    assert model.rowCount() == 62
    first = model.records[0].path
    qtbot.waitUntil(lambda: view.loader.cached(first)[0], timeout=10000)
    pixmap = view.loader.cached(first)[1]
    assert (pixmap.width(), pixmap.height()) == (48, 40)  # small images are not blown up

    # Selecting a class filters the grid; clicking a problem selects its image.
    table.selectRow(2)
    assert {r.class_name for r in model.records} == {scan.classes[1]}
    dup_row = next(
        i for i, p in enumerate(scan.problems) if p.kind == ProblemKind.DUPLICATE_ACROSS_CLASSES
    )
    view._problem_clicked(dup_row)
    assert table.currentRow() == 0
    current = view.grid.currentIndex().data(Qt.ItemDataRole.UserRole)
    assert current.path == scan.problems[dup_row].path
    qtbot.waitUntil(
        lambda: view.preview.pixmap() is not None and not view.preview.pixmap().isNull(),
        timeout=10000,
    )
    assert "split" in view.preview.info.text()


def test_cancel_scan_and_stale_results_are_dropped(qtbot, window, tmp_path):
    big = make_dataset(tmp_path / "big", per_class=400)
    small = make_dataset(
        tmp_path / "small", per_class=5, classes={"a": (0, 0, 0), "b": (255, 255, 255)}
    )
    window.open_dataset(big)
    window.dataset_view.progress.cancel_button.click()
    qtbot.waitUntil(lambda: not window.runner.is_running("scan"), timeout=20000)
    qtbot.wait(100)
    assert window.state.scan is None
    assert not window.dataset_view.progress.isVisible()

    window.open_dataset(big)
    window.open_dataset(small)  # supersedes the first scan
    scan = wait_for_scan(qtbot, window, small)
    qtbot.wait(500)
    assert window.state.scan is scan and scan.classes == ("a", "b")


def test_example_dataset_opens_from_the_menu(qtbot, window):
    window.open_example()
    qtbot.waitUntil(lambda: window.state.scan is not None, timeout=60000)
    scan = window.state.scan
    assert scan.classes == ("galaxy", "globular_cluster", "open_cluster")
    assert all(n == 60 for n in scan.counts().values())
    assert not scan.errors
    assert window.state.example.unsorted.is_dir()


def test_settings_are_remembered_in_the_given_file_only(qtbot, settings, tmp_path):
    from ui.main_window import MainWindow

    root = make_dataset(tmp_path / "d", per_class=3)
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.open_dataset(root)
    qtbot.waitUntil(lambda: win.state.scan is not None, timeout=20000)
    win.close()
    again = MainWindow(settings)
    qtbot.addWidget(again)
    assert again.recent_folders() == [str(root)]
    assert [a.text() for a in again.recent_menu.actions()] == [str(root)]
    assert Path(settings.fileName()).parent == tmp_path
    again.close()


def test_dropping_a_folder_opens_it(qtbot, window, tmp_path):
    root = make_dataset(tmp_path / "dropped", per_class=3)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(root))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    wait_for_scan(qtbot, window, root)


def test_errors_from_workers_and_threads_reach_one_handler(qtbot, window, tmp_path):
    reporter = ErrorReporter(window)
    reporter.show_dialogs = False
    import sys

    old_hooks = sys.excepthook, threading.excepthook
    restore = install_exception_hooks(reporter)
    try:
        failures = []
        window.runner.start("boom", lambda ctx: 1 / 0, failed=failures.append)
        qtbot.waitUntil(lambda: bool(failures), timeout=5000)
        info: ErrorInfo = failures[0]
        assert "ZeroDivisionError" in info.what and "Traceback" in info.details
        assert info.todo

        thread = threading.Thread(target=lambda: np.zeros(2)[5], name="plain-thread")
        thread.start()
        thread.join()
        qtbot.waitUntil(lambda: bool(reporter.history), timeout=5000)
        assert "IndexError" in reporter.history[0].what
    finally:
        restore()
        assert (sys.excepthook, threading.excepthook) == old_hooks


def test_a_job_without_a_failure_handler_reaches_the_reporter(qtbot, window):
    """The TensorFlow warm-up has no handler of its own: its failure must not vanish."""
    from classifier.errors import SortscopeError

    reporter = ErrorReporter(window)
    reporter.show_dialogs = False
    restore = install_exception_hooks(reporter)
    try:

        def warm_up(ctx):
            raise SortscopeError("TensorFlow could not be loaded.", "Reinstall Sortscope.")

        window.runner.start("warm-up", warm_up)
        qtbot.waitUntil(lambda: bool(reporter.history), timeout=5000)
        info = reporter.history[0]
        assert (
            info.what == "TensorFlow could not be loaded." and info.todo == "Reinstall Sortscope."
        )

        handled = []
        window.runner.start("handled", lambda ctx: 1 / 0, failed=handled.append)
        qtbot.waitUntil(lambda: bool(handled), timeout=5000)
        qtbot.wait(200)
        assert len(reporter.history) == 1  # a job with its own handler is not reported twice
    finally:
        restore()


def test_user_error_dialog_has_what_todo_and_folded_details(qtbot, window, tmp_path):
    window.open_dataset(tmp_path / "missing-folder")
    box = window.findChild(ErrorDialog, "sortscope-error")
    assert box is not None and "no longer exists" in box.text()
    assert box.informativeText()
    box.close()


def test_partial_results_arrive_without_waiting_for_the_next_one(qtbot, window):
    import time

    received = []
    release = threading.Event()

    def job(ctx):
        ctx.partial("first")
        ctx.partial("second")  # within the throttle window: buffered
        release.wait(5)  # a long pause, as in a slow epoch
        return "done"

    window.runner.start("slow", job, partial=received.extend)
    start = time.monotonic()
    qtbot.waitUntil(lambda: received == ["first", "second"], timeout=2000)
    assert time.monotonic() - start < 1.0
    release.set()
    qtbot.waitUntil(lambda: not window.runner.is_running("slow"), timeout=5000)


def test_a_job_is_no_longer_running_in_its_own_last_handler(qtbot, window, monkeypatch):
    """Views re-enable their buttons in the finished/failed handler: the runner must already
    say the job is over there, even while its thread is still winding down."""
    from ui import tasks

    emit = tasks.TaskContext._emit

    def emit_then_linger(self, signal, *args):
        emit(self, signal, *args)
        if signal in (self._task.finished, self._task.failed):
            time.sleep(0.5)  # the thread lives on while the GUI runs the handler

    monkeypatch.setattr(tasks.TaskContext, "_emit", emit_then_linger)
    seen = {}

    def finished(_result):
        seen["finished"] = window.runner.is_running("quick")

    def failed(_info):
        seen["failed"] = window.runner.is_running("bad")

    def failing(ctx):
        raise ValueError("boom")

    window.runner.start("quick", lambda ctx: "result", finished=finished)
    window.runner.start("bad", failing, failed=failed)
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=5000)
    assert seen == {"finished": False, "failed": False}


def test_a_split_change_is_worked_out_off_the_gui_thread(qtbot, window, tmp_path, monkeypatch):
    import ui.dataset_splits
    from classifier.split import assign_splits, split_counts
    from classifier.types import Split, SplitConfig

    root = make_dataset(tmp_path / "data", per_class=20)
    window.open_dataset(root)
    scan = wait_for_scan(qtbot, window, root)
    threads = []

    def recording(records, config):
        threads.append(threading.current_thread().name)
        return assign_splits(records, config)

    monkeypatch.setattr(ui.dataset_splits, "assign_splits", recording)
    new = SplitConfig(validation_percent=30.0, test_percent=25.0)
    expected = split_counts(scan.images, assign_splits(scan.images, new))
    table = window.dataset_view.class_table
    window.state.set_split(new)
    assert table.item(0, 3).text() == "…"  # not hashed yet: the GUI thread did not wait
    validation = str(sum(c[Split.VALIDATION] for c in expected.values()))
    qtbot.waitUntil(lambda: table.item(0, 3).text() == validation, timeout=10000)
    assert threads == ["sortscope-split"]
    name = table.item(1, 0).text()
    assert table.item(1, 4).text() == str(expected[name][Split.TEST])
