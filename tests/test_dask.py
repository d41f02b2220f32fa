"""--engine dask: a LocalCluster, and a separately started scheduler with two workers (one of
them killed mid-run), give the CSV of a local run."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from test_batch import make_folder
from test_cli_workflow import sortscope, tiny_model  # noqa: F401 (a fixture)

from classifier.dask_engine import DaskEngine
from classifier.export import write_csv
from classifier.modelfile import load_model
from classifier.predict import classify_files, list_image_files

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_local_cluster_run_writes_the_local_csv(tiny_model, tmp_path):  # noqa: F811
    night = make_folder(tmp_path / "night", 40)
    local, dask = tmp_path / "local.csv", tmp_path / "dask.csv"
    sortscope("classify", night, "--model", tiny_model, "--csv", local, "--quiet")
    ran = sortscope(
        "classify", night, "--model", tiny_model, "--csv", dask, "--engine", "dask",
        "--chunk-files", "8", "--verbose",
    )  # fmt: skip
    assert dask.read_bytes() == local.read_bytes()
    assert "for 41 images" in ran.stderr


def wait_for_workers(address: str, n: int) -> None:
    from distributed import Client

    with Client(address, timeout="60s") as client:
        client.wait_for_workers(n, timeout=60)


def test_a_cluster_run_survives_a_lost_worker(tiny_model, tmp_path):  # noqa: F811
    night = make_folder(tmp_path / "night", 120)
    files = list_image_files(night)
    model = load_model(tiny_model, lazy=True)
    local = tmp_path / "local.csv"
    write_csv(classify_files(files, night, model).rows, model.class_names, local)

    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    port = address.rsplit(":", 1)[1]
    processes = [subprocess.Popen([BIN / "dask", "scheduler", "--port", port,
                                   "--no-dashboard", "--host", "127.0.0.1"], **quiet)]  # fmt: skip
    try:
        for _ in range(2):
            processes.append(
                subprocess.Popen(
                    [
                        BIN / "dask",
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                    ],
                    **quiet,
                )
            )
        wait_for_workers(address, 2)
        victim = processes[1]
        chunks_seen = []

        def on_rows(rows):
            chunks_seen.append(len(rows))
            if len(chunks_seen) == 1:
                victim.send_signal(signal.SIGKILL)  # a worker lost with chunks still to do

        engine = DaskEngine(tiny_model, address, chunk_files=4)
        start = time.monotonic()
        result = engine(files, night, model, on_rows=on_rows)
        assert time.monotonic() - start < 300
        assert victim.wait(timeout=30) == -signal.SIGKILL
        assert sum(chunks_seen) == len(files) == 121
        dask = tmp_path / "dask.csv"
        write_csv(result.rows, model.class_names, dask)
        assert dask.read_bytes() == local.read_bytes()
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_without_dask_the_engine_says_how_to_install_it(tiny_model, tmp_path):  # noqa: F811
    night = make_folder(tmp_path / "night", 2)
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "distributed.py").write_text("raise ImportError('hidden for this test')\n")
    env = {**os.environ, "PYTHONPATH": f"{hide}{os.pathsep}{Path(__file__).parents[1]}"}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).parents[1] / "main.py"), "classify", str(night),
         "--model", str(tiny_model), "--csv", str(tmp_path / "o.csv"), "--engine", "dask"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    assert "needs Dask" in out.stderr and "sortscope[cluster]" in out.stderr
