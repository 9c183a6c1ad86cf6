"""Per-file isolation (time, memory, crashes) and reading one video from a pipe.

The isolation mechanisms are exercised here with a stand-in for the hashing function (a child that
sleeps, segfaults or allocates without bound), so each failure mode is produced deterministically;
``test_batch_run.py`` runs the real decoder on crafted hostile files.
"""
from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time

import pytest

import vidprint
from vidprint.batch import worker
from vidprint.batch.stdin import open_stdin
from vidprint.batch.worker import HashOptions, Limits, Task, run_isolated
from vidprint.errors import DecodeError, InvalidArgumentError
from vidprint.synth import make_video, scene_frames, write_video

from hostile_cases import NonSeekable


@pytest.fixture(scope="module")
def small_video() -> bytes:
    return make_video(5, seconds=1.0, size=(64, 48))  # written to memory: moov after mdat


def _boxes(data: bytes) -> list[bytes]:
    """Top-level ISO box types, read from the 8-byte headers (ISO/IEC 14496-12 §4.2)."""
    out, i = [], 0
    while i + 8 <= len(data):
        size = int.from_bytes(data[i:i + 4], "big")
        out.append(data[i + 4:i + 8])
        if size < 8:
            break
        i += size
    return out


# -- isolation ---------------------------------------------------------------------------------------

def test_a_hang_is_killed_at_the_timeout(monkeypatch):
    monkeypatch.setattr(worker, "_compute", lambda task, src: time.sleep(60))
    t0 = time.monotonic()
    out = run_isolated(Task("hangs.mp4", "ab" * 32, limits=Limits(timeout=0.5)))
    assert time.monotonic() - t0 < 30
    assert (out.stage, out.kind, out.content_id) == ("timeout", "timeout", "ab" * 32)
    assert "0.5 s" in out.reason


def test_a_segfault_kills_only_the_child(monkeypatch):
    monkeypatch.setattr(worker, "_compute", lambda task, src: os.kill(os.getpid(), signal.SIGSEGV))
    out = run_isolated(Task("crashes.mp4"))
    assert out.stage == "crash" and out.kind == "crashed (SIGSEGV)"
    assert "SIGSEGV" in out.reason


def test_the_memory_limit_applies_to_the_child_only(monkeypatch):
    import numpy as np

    def hog(task, src):  # 8 GiB of address space, never touched: fine without a cap on this machine
        return np.empty(8 << 30, np.uint8)

    monkeypatch.setattr(worker, "_compute", hog)
    out = run_isolated(Task("hog.mp4", limits=Limits(max_memory=2 << 30)))
    assert out.stage == "memory" and out.kind == "memory limit"
    assert "2,147,483,648" in out.reason
    assert np.empty(8 << 30, np.uint8).nbytes == 8 << 30  # the parent is not limited


def test_result_comes_back_from_the_child(small_video, tmp_path):
    path = tmp_path / "v.mp4"
    path.write_bytes(small_video)
    cid = hashlib.sha256(small_video).hexdigest()
    out = run_isolated(Task(str(path), cid, options=HashOptions(every_seconds=1.0)))
    assert out.ok, out.reason
    direct = vidprint.fingerprint(str(path), every_seconds=1.0)
    assert out.fingerprint == direct and out.content_id == cid and out.frames == 30


def test_a_file_changed_after_listing_is_a_failure(small_video, tmp_path):
    path = tmp_path / "v.mp4"
    path.write_bytes(small_video)
    out = run_isolated(Task(str(path), "0" * 64))
    assert out.stage == "read" and out.kind == "changed while hashing"


def test_limits_are_validated():
    with pytest.raises(InvalidArgumentError):
        Limits(timeout=0)
    with pytest.raises(InvalidArgumentError):
        Limits(max_memory=100 << 20)
    with pytest.raises(InvalidArgumentError):
        HashOptions(tmk=False, vpdq=False)


# -- the hosts of a local pool (the path every batch file takes) -------------------------------------

_SITECUSTOMIZE = """
import os, signal, time

def _patch():  # test stand-ins, in every host process started while PYTHONPATH names this folder
    from vidprint.batch import worker
    real = worker._compute

    def compute(task, src):
        name = os.path.basename(task.path)
        if name.startswith("hang"):
            time.sleep(600)
        if name.startswith("segv"):
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(task, src)

    worker._compute = compute

_patch()
"""


def test_pool_kills_a_hung_host_and_replaces_a_crashed_one(small_video, tmp_path, monkeypatch):
    from vidprint.batch.local import LocalPool

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path / "site"),
                                                                   os.environ.get("PYTHONPATH")])))
    good = tmp_path / "good.mp4"
    good.write_bytes(small_video)
    with LocalPool(1) as pool:
        assert pool.capacity == 2  # the running file and the next one
        outcomes = {}
        # Each failing file has a good one queued behind it on the same host: that one is sent
        # again to the replacement host and must succeed.
        for bad in ("hang.mp4", "segv.mp4"):
            pool.submit(bad, Task(str(tmp_path / bad), limits=Limits(timeout=1.5 if bad == "hang.mp4" else 60)))
            pool.submit("after " + bad, Task(str(good)))
            while pool.in_flight:
                outcomes.update(pool.results(timeout=30))
    assert outcomes["hang.mp4"].stage == "timeout"
    assert outcomes["segv.mp4"].stage == "crash" and outcomes["segv.mp4"].kind == "crashed (SIGSEGV)"
    for bad in ("hang.mp4", "segv.mp4"):
        assert outcomes["after " + bad].ok and outcomes["after " + bad].frames == 30


# -- standard input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["moov first", "moov last"])
def test_pipe_hashes_like_the_file(layout, small_video, tmp_path):
    if layout == "moov first":
        write_video(tmp_path / "v.mp4", scene_frames(6, 30, 64, 48), 30)  # a file: faststart
        data = (tmp_path / "v.mp4").read_bytes()
    else:
        data = small_video
    boxes = _boxes(data)
    assert (boxes.index(b"moov") < boxes.index(b"mdat")) == (layout == "moov first")
    src = open_stdin(stream=io.BufferedReader(NonSeekable(data)))
    assert src.buffered == (layout == "moov last")  # an index first needs no seeking: streamed
    fp = vidprint.fingerprint(src.source, every_seconds=1.0)
    ref = vidprint.fingerprint(data, every_seconds=1.0)
    assert fp.vpdq == ref.vpdq and fp.compact == ref.compact and fp.tmk == ref.tmk
    assert src.content_id() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("fmt", ["matroska", "mpegts"])
def test_streamable_pipe_is_decoded_as_read_whatever_its_size(fmt, tmp_path):
    """A pipe whose layout needs no seeking is not held in memory: --max-bytes does not apply, the
    fingerprint equals the file's, and the content id covers every byte (also what the decoder
    left unread)."""
    buf = io.BytesIO()
    write_video(buf, scene_frames(7, 45, 96, 64), 30, container_format=fmt)
    data = buf.getvalue() + b"\0" * 1000  # trailing bytes no demuxer needs
    src = open_stdin(max_bytes=1000, stream=io.BufferedReader(NonSeekable(data)))
    assert not src.buffered
    fp = vidprint.fingerprint(src.source, every_seconds=1.0)
    ref = vidprint.fingerprint(buf.getvalue(), every_seconds=1.0)
    assert fp.vpdq == ref.vpdq and fp.compact == ref.compact and fp.decoded_frames == 45
    assert src.content_id() == hashlib.sha256(data).hexdigest()
    # the library path too: a non-seekable file object handed to fingerprint directly
    direct = vidprint.fingerprint(io.BufferedReader(NonSeekable(buf.getvalue())), every_seconds=1.0, max_bytes=1000)
    assert direct.vpdq == ref.vpdq and direct.compact == ref.compact


def test_pipe_larger_than_max_bytes_fails_clearly(small_video):
    with pytest.raises(DecodeError, match="--max-bytes") as err:
        open_stdin(max_bytes=len(small_video) // 2, stream=io.BufferedReader(NonSeekable(small_video)))
    assert "index (moov box) after the media data" in err.value.reason and "corrupt" not in err.value.reason
    assert err.value.source == "<stdin>"


def test_pipe_of_exactly_max_bytes_is_accepted(small_video):
    src = open_stdin(max_bytes=len(small_video), stream=io.BufferedReader(NonSeekable(small_video)))
    assert src.content_id() == hashlib.sha256(small_video).hexdigest()


def test_empty_pipe_fails_clearly():
    with pytest.raises(DecodeError, match="empty"):
        open_stdin(stream=io.BufferedReader(NonSeekable(b"")))


def test_hash_dash_reads_stdin(small_video, tmp_path):
    """``vidprint hash -`` through a real pipe: the same vPDQ file as hashing the file itself."""
    (tmp_path / "v.mp4").write_bytes(small_video)
    cmd = [sys.executable, "-c", "import sys; from vidprint.cli import main; sys.exit(main())"]
    run = subprocess.run(cmd + ["hash", "-", "--vpdq-dir", str(tmp_path / "a"), "-q"], input=small_video,
                         capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr.decode()
    run = subprocess.run(cmd + ["hash", str(tmp_path / "v.mp4"), "--vpdq-dir", str(tmp_path / "b"), "-q"],
                         capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr.decode()
    assert (tmp_path / "a" / "stdin.txt").read_bytes() == (tmp_path / "b" / "v.txt").read_bytes()


def test_worker_environment_one_blas_thread_unless_set(monkeypatch):
    """Worker processes get one BLAS thread each (vidprint.worker_env); an operator's value is kept,
    and the context manager for spawned pools leaves os.environ as it found it."""
    import os

    from vidprint.worker_env import ONE_THREAD_VARIABLES, one_thread_workers, worker_environment

    for name in ONE_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    env = worker_environment()
    assert env["OPENBLAS_NUM_THREADS"] == "1" and env["MKL_NUM_THREADS"] == "1" and env["OMP_NUM_THREADS"] == "3"
    assert worker_environment({"PATH": "/bin"}) == {"PATH": "/bin", **{n: "1" for n in ONE_THREAD_VARIABLES}}
    before = dict(os.environ)
    with one_thread_workers():
        assert os.environ["OPENBLAS_NUM_THREADS"] == "1" and os.environ["OMP_NUM_THREADS"] == "3"
    assert dict(os.environ) == before


def test_batch_and_scan_clients_get_one_blas_thread_before_numpy_loads():
    """`vidprint batch` / `scan` size their own BLAS before NumPy loads (vidprint.worker_env.
    one_thread_here): building the CLI's parser must not load NumPy, and the helper refuses, changing
    nothing, once it is loaded."""
    import subprocess
    import sys

    code = ("import os, sys\n"
            "for n in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.pop(n, None)\n"
            "os.environ['MKL_NUM_THREADS'] = '4'\n"
            "import vidprint.cli as c\n"
            "c.build_parser()\n"
            "assert 'numpy' not in sys.modules, 'the parser loaded numpy'\n"
            "from vidprint.worker_env import one_thread_here\n"
            "assert one_thread_here()\n"
            "assert os.environ['OPENBLAS_NUM_THREADS'] == '1' and os.environ['MKL_NUM_THREADS'] == '4'\n"
            "import numpy\n"
            "os.environ.pop('OMP_NUM_THREADS')\n"
            "assert not one_thread_here() and 'OMP_NUM_THREADS' not in os.environ\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
