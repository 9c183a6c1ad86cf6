"""A batch through a real Dask cluster on 127.0.0.1 builds the same index as a local run.

The test starts ``dask scheduler`` and two ``dask worker`` processes (the ``dask`` command of the
environment vidprint is installed in), runs ``vidprint batch --scheduler`` once with workers reading
the files by path and once with the client shipping the bytes, and compares both indexes with the
one a local process pool builds, entry for entry.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vidprint.batch import BatchConfig, run_batch
from vidprint.cli import main as cli_main
from vidprint.synth import make_video

from index_helpers import entries

DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not DASK.exists() and shutil.which("dask") is None:
        pytest.skip("the dask command is not installed (pip install 'dask[distributed]')")
    dask = str(DASK) if DASK.exists() else shutil.which("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask_logs")
    procs = []

    def start(*args, name):
        log = open(logs / f"{name}.log", "w")
        procs.append(subprocess.Popen([dask, *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

    start("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard", name="scheduler")
    for i in range(2):
        start("worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard", "--memory-limit", "0",
              "--host", "127.0.0.1", name=f"worker{i}")
    try:
        from distributed import Client

        client = None
        end = time.monotonic() + 90
        while client is None:
            try:
                client = Client(address, timeout=5, set_as_default=False)
            except (OSError, TimeoutError):
                if time.monotonic() > end:
                    raise
                time.sleep(0.5)
        client.wait_for_workers(2, timeout=90)
        client.close()
        yield address
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("dask_archive")
    for i in range(6):
        (root / f"v{i}.mp4").write_bytes(make_video(200 + i, seconds=1.0, size=(64, 48)))
    (root / "sub").mkdir()
    (root / "sub" / "v0_again").write_bytes((root / "v0.mp4").read_bytes())
    (root / "sub" / "broken.mp4").write_bytes(os.urandom(2000))
    return root


def test_dask_batch_equals_local_batch(cluster, archive, tmp_path):
    local = tmp_path / "local"
    c = run_batch([str(archive)], str(local), BatchConfig(workers=2))
    assert c.done == 6 and c.failed == {"not a readable video": 1}
    expected = entries(local)

    previous = signal.getsignal(signal.SIGTERM)
    try:
        rc = cli_main(["batch", str(archive), "--index", str(tmp_path / "by_path"), "--scheduler", cluster, "-q"])
        assert rc == 1  # broken.mp4
        assert entries(tmp_path / "by_path") == expected

        ship = tmp_path / "shipped"
        c = run_batch([str(archive)], str(ship), BatchConfig(scheduler=cluster, ship_bytes=True))
        assert c.done == 6 and c.failed == {"not a readable video": 1}
        assert entries(ship) == expected
    finally:
        signal.signal(signal.SIGTERM, previous)
