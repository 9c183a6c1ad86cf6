"""Hostile input ends in a fingerprint with its decode report or a vidprint error: never a crash, a
hang, unbounded memory or a silently wrong result.

The cases are generated (``hostile_cases.py``: small, a few seconds to build) and fingerprinted in a
child process with a timeout and an address-space limit, so a crash or a hang fails the test
instead of killing pytest. The outcome table is printed with ``pytest -s``.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hostile_cases
from vidprint.decode import DecodeStats, TMKSource, VPDQSource, read_frames
from vidprint.decode.reader import MAX_BATCH_FRAMES, MAX_REPEATS
from vidprint.synth import scene_frames, write_video

HERE = Path(__file__).resolve().parent
TIMEOUT_S = 240
MEMORY_LIMIT = 6 << 30  # address space of the child (Numba/LLVM and thread stacks reserve a lot)
#: Options of vidprint.fingerprint in the child: none, the defaults (hashing on worker threads). The
#: tiny and odd-sized fallback formats of this set crashed or hung the child before the libswscale
#: fallback was made safe on worker threads (decode/convert.py, issue 11).
CHILD_OPTIONS: dict = {}


def _limit_child():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _run_child(lines: list[str], env_extra: dict | None = None, script: Path = HERE / "hostile_cases.py"):
    env = {**os.environ, "VIDPRINT_HOSTILE_OPTIONS": json.dumps(CHILD_OPTIONS), **(env_extra or {})}
    proc = subprocess.run([sys.executable, str(script)], input="".join(lines), capture_output=True, text=True,
                          timeout=TIMEOUT_S, preexec_fn=_limit_child, cwd=HERE, env=env)
    return proc


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    cases = hostile_cases.build(d)
    todo = {k: v for k, v in cases.items() if v[1] != "skip"}
    try:
        proc = _run_child([f"{k}\t{v[0]}\n" for k, v in todo.items()])
    except subprocess.TimeoutExpired as exc:
        started = [json.loads(x)["start"] for x in (exc.stdout or b"").decode().splitlines() if '"start"' in x]
        pytest.fail(f"hostile set hung (> {TIMEOUT_S} s) in case {started[-1] if started else '?'}")
    results, started = {}, None
    for line in proc.stdout.splitlines():
        rec = json.loads(line)
        if "start" in rec:
            started = rec["start"]
        else:
            results[rec["case"]] = rec
    if proc.returncode != 0:
        pytest.fail(f"the child died (exit {proc.returncode}) in case {started!r}: {proc.stderr[-2000:]}")
    table = "\n".join(f"  {k:24s} {r['outcome']:11s} " + (
        f"tmk {r['tmk_frames']} vpdq {r['vpdq_frames']}; " + "; ".join(r["warnings"] or [])
        if r["outcome"] == "fingerprint" else f"{r['type']}: {r['reason']}") for k, r in results.items())
    skipped = "\n".join(f"  {k:24s} skipped ({v[0]})" for k, v in cases.items() if v[1] == "skip")
    print("\nhostile-input outcomes:\n" + table + ("\n" + skipped if skipped else ""))
    return cases, results


def test_every_case_ends_in_a_fingerprint_or_a_vidprint_error(outcomes):
    cases, results = outcomes
    problems = []
    for case, (_, expect) in cases.items():
        if expect == "skip":
            continue
        r = results.get(case)
        if r is None:
            problems.append(f"{case}: no outcome")
            continue
        if r["outcome"] == "error":
            if not (r["source"] == case and r["reason"]):
                problems.append(f"{case}: error without source/reason {r}")
            if expect in ("fingerprint",):
                problems.append(f"{case}: expected a fingerprint, got {r['type']}: {r['reason']}")
            continue
        # a fingerprint: never empty, never NaN
        if not (r["finite"] and r["tmk_frames"] and r["vpdq_frames"]):
            problems.append(f"{case}: degenerate fingerprint {r}")
        if expect == "error":
            problems.append(f"{case}: expected a vidprint error, got a fingerprint {r}")
        # The documented detection threshold for files that declare no frame count: the video ends
        # more than 10% of the declared duration (and two frames) early; the clips have 30 frames.
        lost = 30 - r["vpdq_frames"]
        if expect == "warn" and r["warnings"] is not None and not r["warnings"] and lost > 3:
            problems.append(f"{case}: {lost} frames lost without a warning: {r}")
    assert not problems, "\n".join(problems)


def test_specific_outcomes(outcomes):
    _, r = outcomes
    assert "no video stream" in r["audio-only"]["reason"]
    assert "directory" in r["directory"]["reason"] and "no such file" in r["missing"]["reason"]
    for case in ("header-16000", "png-16000"):
        assert "exceeds vidprint's limit" in r[case]["reason"], r[case]
    assert "larger than" in r["nonseekable-over-limit"]["reason"]
    assert r["nonseekable-moov-last"]["vpdq_frames"] == 30
    gap = r["one-hour-gap"]
    assert gap["tmk_frames"] <= MAX_REPEATS + 3
    if gap["warnings"] is not None:
        assert any("timestamp gap" in w for w in gap["warnings"])
    for case in ("mkv-cut60", "webm-cut60"):
        if r[case]["outcome"] == "fingerprint":
            assert any("cut short" in w for w in r[case]["warnings"]), r[case]


_RSS_CHILD = """
import resource, sys, vidprint
fp = vidprint.fingerprint(sys.argv[1], workers=1)
print(fp.tmk.frame_count, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_one_hour_gap_keeps_memory_flat(tmp_path):
    """Peak RSS of hashing a 3-frame file with a one-hour timestamp gap stays within 1.2x of a short
    normal video's (each measured in its own child process)."""
    frames = list(scene_frames(5, 90, 64, 48))
    normal, gap = tmp_path / "normal.mkv", tmp_path / "gap.mkv"
    write_video(normal, frames, 30, container_format="matroska")
    write_video(gap, frames[:3], 30, times=[0.0, 1 / 30, 3600.0], container_format="matroska")
    assert gap.stat().st_size < 8192
    script = tmp_path / "rss.py"
    script.write_text(_RSS_CHILD)
    peak = {}
    for p in (normal, gap):
        out = subprocess.run([sys.executable, str(script), str(p)], capture_output=True, text=True,
                             timeout=TIMEOUT_S, preexec_fn=_limit_child, check=True).stdout.split()
        peak[p.stem] = (int(out[0]), int(out[1]))
    assert peak["gap"][0] <= MAX_REPEATS + 3
    assert peak["gap"][1] <= 1.2 * peak["normal"][1], peak


def test_batches_stay_bounded_across_a_gap(tmp_path):
    """The CFR repeats of a huge gap come out as bounded batches, one at a time (not a list of all)."""
    gap = tmp_path / "gap.mkv"
    write_video(gap, list(scene_frames(5, 3, 64, 48)), 30, times=[0.0, 1 / 30, 3600.0], container_format="matroska")
    stats = DecodeStats()
    sizes = [len(b) for b in read_frames(gap, {"t": TMKSource(), "v": VPDQSource()}, stats=stats)]
    assert max(sizes) <= MAX_BATCH_FRAMES
    report = stats.report()
    assert report.duplicates_capped > 0 and any("timestamp gap" in w for w in report.warnings)
    assert stats.emitted["t"] <= MAX_REPEATS + 3
    with pytest.raises(Exception, match="timestamp gap"):
        for _ in read_frames(gap, {"t": TMKSource()}, strict=True):
            pass


def test_strict_refuses_a_rejected_packet(tmp_path):
    """A packet the decoder rejects is skipped and counted; strict mode refuses it."""
    path = tmp_path / "v.mp4"
    write_video(path, list(scene_frames(7, 30, 64, 48)), 30)
    data = bytearray(path.read_bytes())
    # Damage the middle of the media data of one frame (past the moov, which faststart puts first).
    mdat = data.find(b"mdat")
    rng = np.random.default_rng(4)
    for pos in rng.integers(mdat + (len(data) - mdat) // 2, len(data) - 200, 40):
        data[pos] ^= 0xFF
    stats = DecodeStats()
    n = sum(len(b) for b in read_frames(bytes(data), {"v": VPDQSource()}, stats=stats))
    report = stats.report()
    assert n >= 1
    if report.packets_rejected:
        assert any("rejected" in w for w in report.warnings)
        with pytest.raises(Exception, match="rejected"):
            for _ in read_frames(bytes(data), {"v": VPDQSource()}, strict=True):
                pass


# -- hostile command-line arguments and output paths ----------------------------------------------


@pytest.mark.parametrize("args", [["--size", "4"], ["--every-seconds", "-1"], ["--every-seconds", "nan"],
                                  ["--every-seconds", "1e308"], ["--size", "1e308"], ["--min-quality", "101"]])
def test_hash_arguments_out_of_range_exit_2_without_traceback(args, tmp_path, capsys):
    from vidprint.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["hash", str(tmp_path / "v.mp4"), "--vpdq-dir", str(tmp_path), *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error: argument" in err


def test_hash_output_folder_naming_a_file_exits_2(tmp_path, capsys):
    from vidprint.cli import main

    video = tmp_path / "v.mp4"
    write_video(video, list(scene_frames(1, 3, 64, 48)), 30)
    not_a_dir = tmp_path / "file.txt"
    not_a_dir.write_text("x")
    assert main(["hash", str(video), "--tmk-dir", str(not_a_dir)]) == 2
    err = capsys.readouterr().err
    assert "--tmk-dir" in err and "not a folder" in err and "Traceback" not in err


def test_atomic_write_permissions_stale_temporaries_and_missing_folder(tmp_path):
    from vidprint.atomic import atomic_write
    from vidprint.errors import VidprintError

    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.tmk", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.tmk").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".a.tmk.{dead.pid}.0badcafe.tmp"  # left by a killed run
    stale.write_bytes(b"partial")
    mine = tmp_path / f".a.tmk.{os.getpid()}.12345678.tmp"  # a live writer's: kept
    mine.write_bytes(b"in progress")
    atomic_write(tmp_path / "a.tmk", b"y")
    assert not stale.exists() and mine.exists()
    assert (tmp_path / "a.tmk").read_bytes() == b"y"
    with pytest.raises(VidprintError) as err:
        atomic_write(tmp_path / "missing" / "b.tmk", b"z")
    assert err.value.source == str(tmp_path / "missing" / "b.tmk") and "does not exist" in err.value.reason
