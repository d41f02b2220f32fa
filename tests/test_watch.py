"""classify --watch: new files picked up once complete, the CSV whole, an end on --idle-exit."""

import io
import os
import subprocess
import sys
import threading
import time

import numpy as np
from datasets import noisy_image, read_csv
from test_batch import make_folder
from test_cli_workflow import ROOT, tiny_model  # noqa: F401 (a fixture)

from classifier.modelfile import load_model
from classifier.predict import classify_files, list_image_files
from classifier.watch import watch_folder


def png_bytes(seed: int) -> bytes:
    buffer = io.BytesIO()
    noisy_image(np.random.default_rng(seed), (200, 40, 40), size=(64, 64)).save(buffer, "PNG")
    return buffer.getvalue()


def wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_new_files_are_classified_once_complete(tiny_model, tmp_path):  # noqa: F811
    night = make_folder(tmp_path / "night", 3)
    model = load_model(tiny_model, lazy=True)

    def classify(files):
        return classify_files(files, night, model).rows

    rows = {row.file: row for row in classify(list_image_files(night))}
    written: list[dict] = []
    stopped = threading.Event()

    def watch():
        watch_folder(
            night,
            rows,
            classify,
            lambda snapshot: written.append({r.file: r for r in snapshot}),
            idle_exit=2.0,
            poll_seconds=0.1,
            settle_seconds=1.5,
        )
        stopped.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        (night / "new_0.png").write_bytes(png_bytes(1))
        wait_for(lambda: written and "new_0.png" in written[-1])
        assert not written[-1]["new_0.png"].error
        assert set(written[-1]) == {"img_0000.png", "img_0001.png", "img_0002.png", "broken.png",
                                    "new_0.png"}  # fmt: skip
        # Half a file, then a pause shorter than the settle time: not classified (nor an error).
        data = png_bytes(2)
        with open(night / "new_1.png", "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            time.sleep(0.8)
            assert all("new_1.png" not in snapshot for snapshot in written)
            f.write(data[len(data) // 2 :])
        wait_for(lambda: "new_1.png" in written[-1])
        assert not written[-1]["new_1.png"].error
        assert all("new_1.png" not in s or not s["new_1.png"].error for s in written)
        # A removed file's row goes; then, with nothing new for --idle-exit, the watch ends.
        os.unlink(night / "img_0001.png")
        wait_for(lambda: "img_0001.png" not in written[-1])
        assert stopped.wait(30)
    finally:
        stopped.wait(30)
        watcher.join(30)
    assert [*written[-1]] == sorted(written[-1]) and len(written[-1]) == 5


def test_classify_watch_picks_up_a_file_and_exits_when_idle(tiny_model, tmp_path):  # noqa: F811
    night = make_folder(tmp_path / "night", 2)
    out = tmp_path / "out.csv"
    command = [sys.executable, str(ROOT / "main.py"), "classify", str(night), "--model",
               str(tiny_model), "--csv", str(out), "--watch", "--idle-exit", "4"]  # fmt: skip
    child = subprocess.Popen(
        command, env=os.environ.copy(), stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        wait_for(out.exists, 120)
        assert len(read_csv(out)) == 4  # the header, two images and the broken file
        (night / "later.png").write_bytes(png_bytes(3))
        wait_for(lambda: "later.png" in {row[0] for row in read_csv(out)})
        stderr = child.communicate(timeout=60)[1]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, stderr
    assert "Stopped watching; 4 rows" in stderr and "Traceback" not in stderr
    rows = read_csv(out)
    assert [r[0] for r in rows[1:]] == ["broken.png", "img_0000.png", "img_0001.png", "later.png"]


def test_a_poll_lists_only_the_folders_that_changed(tmp_path):
    from classifier.watch import FolderListing

    night = tmp_path / "night"
    (night / "sub").mkdir(parents=True)
    (night / ".hidden").mkdir()
    for name in ["a.png", "b.jpg", "notes.txt", ".c.png", "sub/d.png", ".hidden/e.png"]:
        (night / name).write_bytes(b"x")
    old = time.time() - 60  # settled folders: not listed again for a recent time
    for folder in (night, night / "sub"):
        os.utime(folder, (old, old))
    listing = FolderListing(night, recursive=True)
    present, new, gone = listing.poll()
    assert sorted(present) == ["a.png", "b.jpg", "sub/d.png"] == sorted(new) and not gone
    assert listing.listings == 2
    present, new, gone = listing.poll()
    assert sorted(present) == ["a.png", "b.jpg", "sub/d.png"] and not new and not gone
    assert listing.listings == 2  # nothing changed: two stats, no listing
    (night / "sub" / "f.png").write_bytes(b"x")
    os.unlink(night / "a.png")
    present, new, gone = listing.poll()
    assert new == {"sub/f.png"} and gone == {"a.png"} and "a.png" not in present
    # A file replaced by a rename keeps its name but not its inode: new again.
    (night / "tmp.part").write_bytes(b"yy")
    os.replace(night / "tmp.part", night / "b.jpg")
    assert listing.poll()[1] == {"b.jpg"}
    assert set(FolderListing(night, recursive=False).poll()[0]) == {"b.jpg"}
