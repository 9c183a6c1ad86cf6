"""``vidprint batch`` / ``vidprint scan`` end to end on a small archive full of crafted hostile files.

The archive (built once per module, all inputs tiny and generated here) holds good videos, a copy of
one, and the hostile inputs of the issue: MP4s truncated at several offsets (index first and index
last), random bytes named ``.mp4``, an audio-only MP4, zero-frame videos, headers claiming
16000x16000 frames (GIF logical screen, YUV4MPEG2), a GIF whose frames have a 0 delay (0 fps), a GIF
whose 8000x8000 canvas makes a worker exceed its memory limit, a symlink loop and unreadable entries
(a FIFO and a dangling link: the tests run as root, whom ``chmod 000`` does not stop).

What must hold: the batch finishes; every file ends hashed, skipped or failed with a stage and a
reason (never a crash of the batch, never a timeout for these); the index holds each content once,
with the same fingerprint as :func:`vidprint.fingerprint`; a second run hashes nothing.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import struct

import av
import numpy as np
import pytest

import vidprint
from vidprint.batch import BatchConfig, Limits, run_batch, run_scan, scan_exit_status
from vidprint.batch.progress import Progress
from vidprint.cli import main as cli_main
from vidprint.index import Index
from vidprint.synth import make_video, scene_frames, write_video

MEMORY_CAP = 1280 << 20  # 1.25 GiB of address space: ~0.3 GiB above what a worker maps at rest


class Recorder(Progress):
    def __init__(self):
        self.events = []
        self.total = None

    def start(self, total):
        self.total = total

    def file(self, path, status, **kw):
        self.events.append((os.path.basename(path), status, kw))

    def problem(self, path, kind, reason):
        self.events.append((os.path.basename(path), "failed", {"kind": kind, "reason": reason, "stage": "discover"}))


def _gif(seed: int, w: int, h: int, frames: int = 3, duration: int = 0, canvas: tuple | None = None) -> bytes:
    from PIL import Image

    imgs = [Image.fromarray(f) for f in scene_frames(seed, frames, w, h)]
    buf = io.BytesIO()
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:], duration=duration, loop=0)
    data = bytearray(buf.getvalue())
    if canvas:  # GIF89a logical screen descriptor: width, height as little-endian u16 at offset 6
        data[6:10] = struct.pack("<HH", *canvas)
    return bytes(data)


def _audio_only() -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=44100)
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(22050) / 44100)).astype(np.float32)[None, :]
        for i in range(0, tone.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, i:i + 1024]), format="fltp", layout="mono")
            frame.sample_rate = 44100
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def _zero_frames() -> bytes:
    buf = io.BytesIO()
    out = av.open(buf, "w", format="mp4")
    stream = out.add_stream("libx264", rate=30)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    out.start_encoding()
    out.close()
    return buf.getvalue()


HOSTILE_FAILS = {  # file -> acceptable failure stages
    "random.mp4": {"decode"}, "audio_only.mp4": {"decode"}, "zero_frames.mp4": {"decode"},
    "zero_frames.y4m": {"decode"}, "header_16000.gif": {"decode", "memory"}, "header_16000.y4m": {"decode"},
    "canvas_8000.gif": {"memory"}, "trunc_last_30.mp4": {"decode"}, "trunc_last_95.mp4": {"decode"},
    "trunc_first_2.mp4": {"decode"},
}
MAY_HASH = {"gif_0fps.gif", "trunc_first_30.mp4", "trunc_first_60.mp4", "trunc_first_95.mp4"}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    good, hostile = root / "good", root / "hostile"
    good.mkdir()
    hostile.mkdir()
    a = make_video(11, seconds=1.0, size=(64, 48))
    (good / "a.mp4").write_bytes(a)
    (good / "b_no_extension").write_bytes(make_video(12, seconds=1.0, size=(64, 48)))
    (good / "copy_of_a.mov").write_bytes(a)
    (root / "notes.txt").write_text("not a video, not named like one\n")
    write_video(root / "faststart.mp4", scene_frames(13, 30, 64, 48), 30)  # a file: moov first
    first = (root / "faststart.mp4").read_bytes()
    os.unlink(root / "faststart.mp4")
    last = make_video(13, seconds=1.0, size=(64, 48))
    for frac in (2, 30, 60, 95):
        (hostile / f"trunc_first_{frac}.mp4").write_bytes(first[: len(first) * frac // 100])
    for frac in (30, 95):
        (hostile / f"trunc_last_{frac}.mp4").write_bytes(last[: len(last) * frac // 100])
    (hostile / "random.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 20000, np.uint8).tobytes())
    (hostile / "audio_only.mp4").write_bytes(_audio_only())
    (hostile / "zero_frames.mp4").write_bytes(_zero_frames())
    (hostile / "zero_frames.y4m").write_bytes(b"YUV4MPEG2 W64 H48 F30:1 Ip A1:1 C420jpeg\n")
    (hostile / "header_16000.y4m").write_bytes(
        b"YUV4MPEG2 W16000 H16000 F30:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(range(256)) * 20)
    (hostile / "header_16000.gif").write_bytes(_gif(14, 64, 48, canvas=(16000, 16000)))
    (hostile / "canvas_8000.gif").write_bytes(_gif(15, 64, 48, canvas=(8000, 8000)))
    (hostile / "gif_0fps.gif").write_bytes(_gif(16, 64, 48, frames=4, duration=0))
    os.symlink("..", hostile / "loop")
    os.mkfifo(hostile / "fifo.mp4")
    os.symlink(hostile / "deleted.mp4", hostile / "dangling.mp4")
    return root


@pytest.fixture(scope="module")
def batch(archive, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    index = out / "index"
    rec = Recorder()
    config = BatchConfig(workers=2, limits=Limits(timeout=120, max_memory=MEMORY_CAP), commit_every=3)
    counters = run_batch([str(archive)], str(index), config, rec)
    return counters, rec, index, config


def _sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_every_file_is_accounted_for(batch):
    counters, rec, _, _ = batch
    assert not counters.interrupted
    assert counters.files == counters.done + sum(counters.skipped.values()) + sum(counters.failed.values())
    assert counters.ignored == 1  # notes.txt
    names = [e[0] for e in rec.events]
    assert len(names) == len(set(names)) == counters.files
    for name, status, kw in rec.events:
        assert status in ("hashed", "skipped", "failed"), name
        if status == "failed":
            assert kw.get("reason") and kw.get("kind"), name


def test_hostile_inputs_fail_with_stage_and_reason(batch):
    counters, rec, index, _ = batch
    log = [json.loads(line) for line in open(str(index) + ".log.jsonl")]
    errors = {os.path.basename(r["path"]): r for r in log if r["event"] == "error"}
    for name, stages in HOSTILE_FAILS.items():
        assert name in errors, f"{name} was not recorded as failed"
        assert errors[name]["stage"] in stages, (name, errors[name])
        assert errors[name]["content_id"] == _sha(next(p for p in _walk(index) if p.endswith(name)))
        assert errors[name]["reason"]
    assert errors["audio_only.mp4"]["kind"] == "no video stream"
    assert errors["canvas_8000.gif"]["kind"] == "memory limit"
    assert "address space" in errors["canvas_8000.gif"]["reason"]
    for name, kind in (("loop", "symlink loop"), ("fifo.mp4", "not a regular file"), ("dangling.mp4", "broken symlink")):
        assert errors[name]["kind"] == kind and errors[name]["stage"] == "discover"
    # nothing crashed or hung: the decoder refused or the memory cap stopped every hostile file
    assert not {r["stage"] for r in errors.values()} & {"crash", "timeout", "hash"}
    statuses = {e[0]: e[1] for e in rec.events}
    for name in MAY_HASH:
        assert statuses[name] in ("hashed", "failed"), name
        if statuses[name] == "failed":
            assert errors[name]["stage"] == "decode"
    assert statuses["gif_0fps.gif"] == "hashed"
    (summary,) = [r for r in log if r["event"] == "summary"]
    assert summary["done"] == counters.done and summary["failed"] == dict(counters.failed)


def _walk(index):
    root = os.path.dirname(os.path.dirname(str(index)))
    for folder, _, files in os.walk(root):
        for f in files:
            yield os.path.join(folder, f)


def test_index_holds_each_content_once_with_the_direct_fingerprint(batch, archive):
    counters, rec, index, _ = batch
    hashed = {e[0] for e in rec.events if e[1] == "hashed"}
    assert {"a.mp4", "b_no_extension"} <= hashed or {"copy_of_a.mov", "b_no_extension"} <= hashed
    dup = [e for e in rec.events if e[1] == "skipped"]
    assert [(e[0], e[2]["kind"]) for e in dup] == [("copy_of_a.mov", "duplicate")]
    with Index.open(index) as ix:
        assert len(ix) == counters.done == len(hashed)
        a = archive / "good" / "a.mp4"
        entry = ix.get(_sha(a))
        direct = vidprint.fingerprint(str(a), every_seconds=1.0)
        assert entry.compact == direct.compact and entry.reference == direct.tmk
        assert entry.vpdq.words.tobytes() == direct.vpdq.words.tobytes()
        assert entry.metadata["path"] == str(a)


def test_second_run_hashes_nothing_and_renamed_copies_are_skipped(batch, archive, tmp_path):
    counters, _, index, config = batch
    with Index.open(index) as ix:
        before = sorted(ix.ids())
    renamed = tmp_path / "elsewhere"
    renamed.mkdir()
    shutil.copy(archive / "good" / "a.mp4", renamed / "renamed_video")
    rec = Recorder()
    again = run_batch([str(archive), str(renamed)], str(index), config, rec)
    assert again.done == 0 and not again.failed.get("timeout")
    # every hashed file, the copy that was a duplicate in the first run, and the renamed copy
    assert again.skipped["already indexed"] == counters.done + 1 + 1
    assert again.skipped["failed before"] == sum(v for k, v in counters.failed.items()) - 3  # not the 3 listing ones
    with Index.open(index) as ix:
        assert sorted(ix.ids()) == before


def test_scan_report_exit_status_and_resume(batch, archive, tmp_path):
    _, _, index, _ = batch
    q = tmp_path / "uploads"
    q.mkdir()
    shutil.copy(archive / "good" / "a.mp4", q / "exact_copy.mp4")
    (q / "reencoded.mp4").write_bytes(make_video(12, seconds=1.0, size=(64, 48), crf=32))
    (q / "unrelated.mp4").write_bytes(make_video(99, seconds=1.0, size=(64, 48)))
    (q / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(500))
    report = tmp_path / "report.jsonl"
    config = BatchConfig(workers=1)
    c = run_scan([str(q)], str(index), str(report), config, Recorder())
    assert scan_exit_status(c) == 0
    lines = {os.path.basename(r["path"]): r for r in map(json.loads, report.read_text().splitlines())}
    assert set(lines) == {"exact_copy.mp4", "reencoded.mp4", "unrelated.mp4", "broken.mp4"}
    a_id, b_id = _sha(archive / "good" / "a.mp4"), _sha(archive / "good" / "b_no_extension")
    assert lines["exact_copy.mp4"]["status"] == "match"
    assert [m["id"] for m in lines["exact_copy.mp4"]["matches"]] == [a_id]
    assert lines["reencoded.mp4"]["status"] == "match"
    assert b_id in [m["id"] for m in lines["reencoded.mp4"]["matches"]]
    m = lines["reencoded.mp4"]["matches"][0]
    assert m["thresholds"] and m["decided_by"] and (m["whole"] or m["clip"])
    assert lines["unrelated.mp4"]["status"] == "no match" and lines["unrelated.mp4"]["matches"] == []
    assert lines["broken.mp4"]["status"] == "error"
    assert lines["broken.mp4"]["error"]["stage"] == "decode" and lines["broken.mp4"]["error"]["reason"]
    assert all(r["thresholds"] for r in lines.values())

    # Run again: nothing hashed, nothing appended; the exit status still reports the match.
    c = run_scan([str(q)], str(index), str(report), config, Recorder())
    assert c.done == 0 and scan_exit_status(c) == 0
    assert len(report.read_text().splitlines()) == 4

    # A line cut by a kill is dropped and written again, once.
    text = report.read_text()
    cut = text.rstrip("\n").rfind("\n") + 1
    report.write_text(text[: cut + 25])
    c = run_scan([str(q)], str(index), str(report), config, Recorder())
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(rows) == 4 and {os.path.basename(r["path"]) for r in rows} == set(lines)


def test_scan_exit_status_through_the_cli(batch, archive, tmp_path, capsys):
    _, _, index, _ = batch
    none, bad = tmp_path / "none", tmp_path / "bad"
    none.mkdir()
    bad.mkdir()
    (none / "unrelated.mp4").write_bytes(make_video(98, seconds=1.0, size=(64, 48)))
    (bad / "random.mp4").write_bytes(os.urandom(3000))
    previous = signal.getsignal(signal.SIGTERM)
    try:
        common = ["--workers", "1", "-q"]
        assert cli_main(["scan", str(none), "--against", str(index), "--report", str(tmp_path / "r1.jsonl")] + common) == 1
        assert cli_main(["scan", str(bad), "--against", str(index), "--report", str(tmp_path / "r2.jsonl")] + common) == 2
        assert cli_main(["scan", str(archive / "good" / "a.mp4"), str(none), "--against", str(index),
                         "--report", str(tmp_path / "r3.jsonl"), "--json"] + common[:2]) == 0
        out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert out[-1]["event"] == "summary" and out[-1]["matched"] == 1
        assert {o["status"] for o in out if o["event"] == "file"} == {"match", "no match"}
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_scan_dash_reads_one_video_from_a_pipe(batch, archive, tmp_path):
    import subprocess
    import sys

    _, _, index, _ = batch
    report = tmp_path / "stdin.jsonl"
    data = (archive / "good" / "a.mp4").read_bytes()  # written to memory: its moov box is last
    cmd = [sys.executable, "-c", "import sys; from vidprint.cli import main; sys.exit(main())",
           "scan", "-", "--against", str(index), "--report", str(report), "-q"]
    run = subprocess.run(cmd, input=data, capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr.decode()
    (line,) = [json.loads(x) for x in report.read_text().splitlines()]
    assert line["path"] == "-" and line["status"] == "match"
    assert line["content_id"] == hashlib.sha256(data).hexdigest()
    assert [m["id"] for m in line["matches"]] == [line["content_id"]]


def test_no_paths_keeps_file_paths_out_of_the_index(tmp_path):
    """An index meant to be shared records no file path (a path says who had what)."""
    (tmp_path / "arch").mkdir()
    write_video(tmp_path / "arch" / "secret-name.mp4", list(scene_frames(77, 20, 64, 48)), 10)
    config = BatchConfig(limits=Limits(120, MEMORY_CAP * 2), workers=1, store_paths=False)
    counters = run_batch([str(tmp_path / "arch")], str(tmp_path / "ix"), config, Recorder())
    assert counters.done == 1
    with Index.open(tmp_path / "ix") as ix:
        (entry_id,) = ix.ids()
        assert "path" not in ix.get(entry_id).metadata
    assert not any(b"secret-name" in p.read_bytes() for p in (tmp_path / "ix").rglob("*") if p.is_file()
                   and not p.name.endswith(".jsonl"))


def test_resume_reads_only_files_changed_since_their_commit(tmp_path, monkeypatch):
    """A file whose path, size and modification time match a committed entry is not read again for its
    content id on resume; a touched file is read (and skipped all the same: same content); --reread
    (trust_stat=False) reads every file."""
    import dataclasses

    import vidprint.batch.run as R

    arch = tmp_path / "arch"
    arch.mkdir()
    a = make_video(21, seconds=1.0, size=(64, 48))
    (arch / "a.mp4").write_bytes(a)
    (arch / "b.mp4").write_bytes(make_video(22, seconds=1.0, size=(64, 48)))
    (arch / "a_copy.mp4").write_bytes(a)
    config = BatchConfig(limits=Limits(120, MEMORY_CAP * 2), workers=1)
    assert run_batch([str(arch)], str(tmp_path / "ix"), config, Recorder()).done == 2
    with Index.open(tmp_path / "ix") as ix:
        committed = {os.path.basename(ix.metadata(i)["path"]) for i in ix.ids()}
        assert all("mtime_ns" in ix.metadata(i) for i in ix.ids())
    everything = {"a.mp4", "a_copy.mp4", "b.mp4"}
    assert len(committed) == 2 and "b.mp4" in committed

    read: list[str] = []
    real = R.sha256_file
    monkeypatch.setattr(R, "sha256_file", lambda p: read.append(os.path.basename(p)) or real(p))
    again = run_batch([str(arch)], str(tmp_path / "ix"), config, Recorder())
    assert again.done == 0 and again.skipped["already indexed"] == 3
    assert set(read) == everything - committed  # the duplicate only: it was never committed under its path

    st = os.stat(arch / "b.mp4")
    os.utime(arch / "b.mp4", ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    read.clear()
    again = run_batch([str(arch)], str(tmp_path / "ix"), config, Recorder())
    assert again.done == 0 and set(read) == everything - committed | {"b.mp4"}

    read.clear()
    again = run_batch([str(arch)], str(tmp_path / "ix"), dataclasses.replace(config, trust_stat=False), Recorder())
    assert again.done == 0 and sorted(read) == sorted(everything)


def test_scan_resume_reads_only_files_changed_since_reported(batch, archive, tmp_path, monkeypatch):
    """scan's report lines carry each file's size and modification time; a resume does not read a
    file that still has them (the line is there: skipped), reads a touched one, and --reread reads all."""
    import dataclasses

    import vidprint.batch.run as R

    _, _, index, _ = batch
    q = tmp_path / "uploads"
    q.mkdir()
    shutil.copy(archive / "good" / "a.mp4", q / "one.mp4")
    shutil.copy(archive / "good" / "a.mp4", q / "same_content.mp4")
    (q / "other.mp4").write_bytes(make_video(98, seconds=1.0, size=(64, 48)))
    report = tmp_path / "report.jsonl"
    config = BatchConfig(workers=1)
    run_scan([str(q)], str(index), str(report), config, Recorder())
    lines = {os.path.basename(r["path"]): r for r in map(json.loads, report.read_text().splitlines())}
    for name, r in lines.items():  # each line stamped with its own file, duplicates included
        st = os.stat(q / name)
        assert (r["bytes"], r["mtime_ns"]) == (st.st_size, st.st_mtime_ns)

    read: list[str] = []
    real = R.sha256_file
    monkeypatch.setattr(R, "sha256_file", lambda p: read.append(os.path.basename(p)) or real(p))
    c = run_scan([str(q)], str(index), str(report), config, Recorder())
    assert read == [] and c.skipped["already reported"] == 3 and scan_exit_status(c) == 0

    st = os.stat(q / "other.mp4")
    os.utime(q / "other.mp4", ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    c = run_scan([str(q)], str(index), str(report), config, Recorder())
    assert read == ["other.mp4"] and c.done == 0 and c.skipped["already reported"] == 3
    read.clear()
    run_scan([str(q)], str(index), str(report), dataclasses.replace(config, trust_stat=False), Recorder())
    assert sorted(read) == ["one.mp4", "other.mp4", "same_content.mp4"]
    assert len(report.read_text().splitlines()) == 3  # nothing appended twice
