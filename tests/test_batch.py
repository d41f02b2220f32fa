"""Long runs: a killed classify continues where it stopped; shards merge into one run's CSV."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from datasets import CLASS_COLOURS, noisy_image
from test_cli_workflow import ROOT, sortscope, tiny_model  # noqa: F401 (a fixture)

from classifier.batch import parts_folder, shard_of, sidecar_path


def make_folder(folder: Path, n: int, seed: int = 5) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir()
    colours = list(CLASS_COLOURS.values())
    for i in range(n):
        noisy_image(rng, colours[i % 3]).save(folder / f"img_{i:04d}.png")
    (folder / "broken.png").write_bytes(b"not a png")
    return folder


# The command line with part files every chunk and each chunk slowed down, so a kill lands
# mid-way however fast the machine is.
SLOW_CLASSIFY = """
import sys, time
from classifier import batch
batch.PART_SECONDS = 0.0
add = batch.PartStore.add
def slow_add(self, rows):
    add(self, rows)
    time.sleep(0.15)
batch.PartStore.add = slow_add
from classifier.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_killed_run_continues_with_only_the_missing_files(tiny_model, tmp_path):  # noqa: F811
    night = make_folder(tmp_path / "night", 160)
    reference = tmp_path / "reference.csv"
    sortscope("classify", night, "--model", tiny_model, "--csv", reference, "--quiet")

    out = tmp_path / "out.csv"
    parts = parts_folder(out)
    args = ["classify", night, "--model", tiny_model, "--csv", out, "--batch-size", "8"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_CLASSIFY, *map(str, args), "--quiet"],
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 120
        while len(list(parts.glob("part-*.jsonl"))) < 3 and time.monotonic() < deadline:
            assert child.poll() is None, "the run ended before it could be killed"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert not out.exists()
    manifest = json.loads((parts / "manifest.json").read_text())
    assert manifest["classes"] == ["Blue Sky", "Red", "green"]
    assert len(manifest["model_sha256"]) == 64

    rerun = sortscope(*args, "--verbose")
    line = next(x for x in rerun.stderr.splitlines() if x.startswith("Continuing"))
    kept, to_go = (int(w) for w in line.replace(",", "").split() if w.isdigit())
    assert kept >= 24 and kept + to_go == 161 and to_go > 0, line
    assert f"for {to_go} images" in rerun.stderr  # only the missing files were computed
    assert out.read_bytes() == reference.read_bytes()
    assert not parts.exists()


def test_a_run_with_other_settings_does_not_reuse_the_parts(tiny_model, tmp_path):  # noqa: F811
    night = make_folder(tmp_path / "night", 12)
    out = tmp_path / "out.csv"
    parts = parts_folder(out)
    parts.mkdir()
    (parts / "manifest.json").write_text(json.dumps({"format": "sortscope-classify-run"}))
    (parts / "part-1.jsonl").write_text("{}\n")
    ran = sortscope("classify", night, "--model", tiny_model, "--csv", out, "--quiet")
    assert "were discarded" in ran.stderr
    assert len(out.read_text().splitlines()) == 14
    assert not parts.exists()


def test_a_failed_final_write_keeps_the_parts_and_says_where(tiny_model, tmp_path):  # noqa: F811
    night = make_folder(tmp_path / "night", 10)
    target = tmp_path / "results"
    target.mkdir()
    out = target / "out.csv"
    # The folder refuses new files after the probe: the final CSV (and its fallback) fail.
    script = f"""
import sys
from classifier import export
real = export._write
def full(rows, names, path, *a):
    import errno
    raise OSError(errno.ENOSPC, "No space left on device")
export._write = full
from classifier.cli import main
sys.exit(main({[str(a) for a in ["classify", night, "--model", tiny_model, "--csv", out]]}))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    failed = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert failed.returncode == 1, failed.stderr
    assert "the disk is full" in failed.stderr
    assert str(parts_folder(out)) in failed.stderr.replace("\n", "")
    assert list(parts_folder(out).glob("part-*.jsonl"))
    # Once there is room again, the same command writes the CSV without classifying again.
    again = sortscope("classify", night, "--model", tiny_model, "--csv", out, "--verbose")
    assert "11 image(s) already classified" in again.stderr and "0 to go" in again.stderr
    assert len(out.read_text().splitlines()) == 12


def _shards(tiny_model, night, folder, n, **extra):  # noqa: F811
    folder.mkdir(exist_ok=True)
    outs = []
    for k in range(1, n + 1):
        out = folder / f"shard-{k}.csv"
        args = ["classify", night, "--model", extra.get("model", tiny_model), "--csv", out]
        sortscope(*args, "--shard", f"{k}/{n}", "--quiet", *extra.get("more", ()))
        outs.append(out)
    return outs


def test_shards_merged_are_the_csv_of_one_run(tiny_model, tmp_path):  # noqa: F811
    night = make_folder(tmp_path / "night", 30)
    whole = tmp_path / "whole.csv"
    sortscope("classify", night, "--model", tiny_model, "--csv", whole, "--quiet")
    outs = _shards(tiny_model, night, tmp_path, 3)
    sizes = [len(p.read_text().splitlines()) - 1 for p in outs]
    assert sum(sizes) == 31 and all(sizes), sizes
    names = [f"img_{i:04d}.png" for i in range(30)]
    assert sizes[1] == sum(shard_of(n, 3) == 2 for n in [*names, "broken.png"])
    assert json.loads(sidecar_path(outs[0]).read_text())["shard"] == [1, 3]
    merged = tmp_path / "merged.csv"
    sortscope("merge", *reversed(outs), "--csv", merged)
    assert merged.read_bytes() == whole.read_bytes()


def test_merge_refuses_parts_that_do_not_belong_together(tiny_model, tmp_path):  # noqa: F811
    night = make_folder(tmp_path / "night", 12)
    a = _shards(tiny_model, night, tmp_path / "a", 2)
    merged = tmp_path / "merged.csv"

    def refused(*parts) -> str:
        out = sortscope("merge", *parts, "--csv", merged, check_rc=1)
        assert not merged.exists()
        return out.stderr

    # Another model file (same classes, other weights).
    other = tmp_path / "other.sortscope"
    other.write_bytes(tiny_model.read_bytes())
    with open(other, "ab") as f:  # a zip with trailing bytes still loads; its digest differs
        f.write(b"\0")
    b = _shards(tiny_model, night, tmp_path / "b", 2, model=other)
    assert "different model files" in refused(a[0], b[1])
    # Other columns: a FITS keyword asked for in one shard only.
    c = _shards(tiny_model, night, tmp_path / "c", 2, more=("--fits-keys", "EXPTIME"))
    assert "different columns" in refused(a[0], c[1])
    # The same shard twice, a shard missing, and a file in two parts.
    assert "both shard 1/2" in refused(a[0], a[0])
    assert "2/2 are missing" in refused(a[0])
    description = json.loads(sidecar_path(a[1]).read_text())
    forged = tmp_path / "forged.csv"
    forged.write_bytes(a[0].read_bytes())
    sidecar_path(forged).write_text(json.dumps(description))
    assert "is in both" in refused(a[0], forged)
    # A CSV without its description.
    sidecar_path(forged).unlink()
    assert "no shard description" in refused(a[0], forged)


@pytest.mark.parametrize("text", ["0/3", "4/3", "x", "1/0"])
def test_a_bad_shard_is_a_usage_error(text, tiny_model, tmp_path):  # noqa: F811
    out = sortscope(
        "classify", tmp_path, "--model", tiny_model, "--csv", "x.csv", "--shard", text, check_rc=2
    )
    assert "K/N" in out.stderr


def _fake_rows(files):
    from classifier.types import Prediction

    return [Prediction(f.name, "a", 1.0, (1.0, 0.0), path=f) for f in files]


def test_a_file_changed_since_its_row_was_saved_is_classified_again(tmp_path):
    from classifier.batch import ResumableRun, RunSpec

    night = tmp_path / "night"
    night.mkdir()
    files = [night / f"{name}.png" for name in "abcd"]
    for f in files:
        f.write_bytes(b"x")
    spec = RunSpec("0" * 64, ("a", "b"), ("file",), {"folder": str(night)})
    out = tmp_path / "out.csv"
    run = ResumableRun(out, files, night, spec)
    run.add(_fake_rows(files))
    run.store.flush()
    (night / "b.png").write_bytes(b"longer")  # another size
    info = os.stat(night / "c.png")
    os.utime(night / "c.png", ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))  # touched
    (night / "d.png").unlink()  # gone
    again = ResumableRun(out, files[:3], night, spec)
    assert sorted(again.kept) == ["a.png"]
    assert [f.name for f in again.todo] == ["b.png", "c.png"]
    # A later part wins: a file classified again (while watching) keeps its newer row.
    again.add([dataclasses.replace(_fake_rows([night / "b.png"])[0], label="b")])
    again.store.flush()
    third = ResumableRun(out, files[:3], night, spec)
    assert third.kept["b.png"].label == "b" and [f.name for f in third.todo] == ["c.png"]


def test_the_parts_can_live_elsewhere(tmp_path):
    from classifier.batch import ResumableRun, RunSpec

    night = tmp_path / "night"
    night.mkdir()
    files = [night / "a.png"]
    files[0].write_bytes(b"x")
    spec = RunSpec("0" * 64, ("a", "b"), ("file",), {})
    parts = tmp_path / "data" / "runs" / "key"
    run = ResumableRun(tmp_path / "nowhere.csv", files, night, spec, parts=parts)
    run.add(_fake_rows(files))
    run.store.flush()
    assert list(parts.glob("part-*.jsonl")) and not parts_folder(tmp_path / "nowhere.csv").exists()
    assert list(ResumableRun(tmp_path / "x.csv", files, night, spec, parts=parts).kept) == ["a.png"]


def test_a_second_run_on_the_same_csv_is_refused_and_a_dead_ones_lock_taken_over(
    tiny_model,  # noqa: F811
    tmp_path,
):
    import socket

    from classifier.run_lock import RunLocked, holding, lock_path

    night = make_folder(tmp_path / "night", 2)
    out = tmp_path / "out.csv"
    lock = lock_path(out)
    assert lock == tmp_path / ".out.csv.lock"
    live = {"pid": os.getppid(), "host": socket.gethostname(), "started": time.time(),
            "what": "sortscope classify"}  # fmt: skip
    lock.write_text(json.dumps(live))
    refused = sortscope("classify", night, "--model", tiny_model, "--csv", out, check_rc=1)
    assert f"Another run is writing {out}: sortscope classify (process {os.getppid()} on this " \
        "computer" in refused.stderr.replace("\n", " ")  # fmt: skip
    assert str(lock) in refused.stderr.replace("\n", "") and not out.exists()
    with pytest.raises(RunLocked, match="computer elsewhere"):  # cannot be checked from here
        lock.write_text(json.dumps({**live, "host": "elsewhere"}))
        with holding(lock, f"writing {out}", "a test"):
            pass
    # A run that was killed leaves its lock behind: the next run takes it over.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(json.dumps({**live, "pid": dead.pid}))
    sortscope("classify", night, "--model", tiny_model, "--csv", out, "--quiet")
    assert len(out.read_text().splitlines()) == 4 and not lock.exists()
