"""Kill and resume: ``vidprint batch`` SIGKILLed at 20 seeded moments, then run to the end.

Each moment is either a time after start (during start-up, listing, warm-up) or "after the k-th
file hashed (k = 1 or 2), plus d seconds (d < 0.1)" (during hashing and index commits,
``--commit-every 2``): each run adds a file or two, so the 40-file archive is still being hashed at
the 20th kill. After every
kill the index must open, hold only archive files, and the next run must not hash any file that was
committed before it started (it may hash again the few that were hashed but not yet committed when
the kill came). The final index must equal, entry for entry, the one an uninterrupted run builds,
the broken file must be logged once, and the killed batch must leave no process behind.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from vidprint.batch import BatchConfig, run_batch
from vidprint.synth import make_video

from index_helpers import entries

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc (Linux)")

CLI = [sys.executable, "-c", "import sys; from vidprint.cli import main; sys.exit(main())"]
N_VIDEOS = 40  # enough that the archive is still being hashed at the 20th kill, even on a fast machine
KILLS = 20


def _events(path) -> list[dict]:
    rows = []
    with open(path) as f:
        for line in f:
            if line.endswith("\n"):
                rows.append(json.loads(line))
    return rows


def _live_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that still run (zombies waiting for the init process to reap them
    do not count: they hold no resource and run no code)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            out.append(int(entry))
    return out


def _wait_group_gone(pgid: int, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not _live_members(pgid):
            return True
        time.sleep(0.02)
    os.killpg(pgid, signal.SIGKILL)  # clean up what the batch left behind (the assertion fails)
    return False


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill_archive")
    for i in range(N_VIDEOS):
        (root / f"v{i:02d}.mp4").write_bytes(make_video(100 + i, seconds=1.0, size=(48, 32)))
    (root / "v00_copy.mp4").write_bytes((root / "v00.mp4").read_bytes())
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(300))
    return root


def test_kill_at_20_moments_then_resume(archive, tmp_path):
    reference = tmp_path / "reference"
    run_batch([str(archive)], str(reference), BatchConfig(workers=1, commit_every=2))
    expected = entries(reference)
    assert len(expected) == N_VIDEOS

    index = tmp_path / "index"
    rng = np.random.default_rng(20261129)
    committed: set[str] = set()
    cmd = CLI + ["batch", str(archive), "--index", str(index), "--workers", "1", "--commit-every", "2", "--json"]
    killed_mid_hashing = 0
    for n in range(KILLS):
        out = tmp_path / f"run{n}.jsonl"
        by_time = rng.random() < 0.3
        # by time: within start-up, listing and the first files (a later time-kill on a fast machine
        # would let one run hash most of the archive and leave the later kills nothing to interrupt)
        when, k, delay = rng.uniform(0.2, 1.2), int(rng.integers(1, 3)), rng.uniform(0.0, 0.1)
        with open(out, "w") as f:
            proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.DEVNULL, start_new_session=True)
        t0 = time.monotonic()
        while proc.poll() is None:
            if by_time and time.monotonic() - t0 >= when:
                break
            if not by_time and sum(e.get("status") == "hashed" for e in _events(out)) >= k:
                time.sleep(delay)
                killed_mid_hashing += 1
                break
            time.sleep(0.01)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert _wait_group_gone(proc.pid), f"run {n}: processes left behind after SIGKILL"
        hashed = {e["content_id"] for e in _events(out) if e.get("status") == "hashed"}
        assert not hashed & committed, f"run {n} hashed again files committed by an earlier run"
        if index.exists() and (index / "MANIFEST.json").exists():
            now = set(entries(index))
            assert committed <= now <= set(expected)
            committed = now
    assert killed_mid_hashing >= 5  # the schedule really hit the hashing phase

    out = tmp_path / "final.jsonl"
    with open(out, "w") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.DEVNULL, timeout=300).returncode
    final_events = _events(out)
    assert not {e["content_id"] for e in final_events if e.get("status") == "hashed"} & committed
    summary = final_events[-1]
    assert summary["event"] == "summary" and not summary["interrupted"]
    if summary["skipped"].get("failed before") == 1:  # broken.mp4 failed in an earlier run: not retried
        assert rc == 0 and summary["failed_total"] == 0
    else:  # the kills all came before broken.mp4 was tried
        assert rc == 1 and summary["failed_total"] == 1
    assert entries(index) == expected
    log = [json.loads(line) for line in open(str(index) + ".log.jsonl")]
    assert sum(r["event"] == "error" and r["path"].endswith("broken.mp4") for r in log) == 1
