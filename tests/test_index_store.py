"""The index store: commits, removal, compaction, the writer lock, damage detection, and kill -9
of a writer at random moments (forked children, seeded)."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vidprint.errors import IndexLockedError, IndexStoreError
from vidprint.index import Entry, Index
from vidprint.tmk import CompactDescriptor
from vidprint.vpdq import VPDQHash


def fake_entry(rid: str, seed: int, frames: int = 6, k: int = 2) -> Entry:
    """A small entry with a random compact descriptor and random frame hashes."""
    rng = np.random.default_rng(seed)
    compact = CompactDescriptor(level1=rng.integers(-127, 128, 128).astype(np.int8), dc_norm=0.5,
                                scales=np.full((k, 2), 0.001, np.float32),
                                coeffs=rng.integers(-127, 128, (k, 2, 256)).astype(np.int8),
                                frame_count=frames, duration_s=frames / 30)
    words = rng.integers(0, 2**63, (frames, 4), dtype=np.uint64)
    vh = VPDQHash(words, np.full(frames, 100), np.arange(frames), np.arange(frames) / 30.0, fps=30.0)
    return Entry(rid, {"seed": seed}, compact, None, vh)


def test_add_get_remove_compact_reopen(tmp_path):
    path = tmp_path / "ix"
    with Index.create(path) as ix:
        ids = ix.add_many([fake_entry(f"v{i}", i) for i in range(5)])
        assert ids == [f"v{i}" for i in range(5)]
        assert ix.add(fake_entry("v0", 99)) == "v0"  # already there: kept, not stored twice
        assert len(ix) == 5 and ix.get("v0").metadata == {"seed": 0}
        assert ix.remove(["v1", "nope"]) == 1
        assert "v1" not in ix and len(ix) == 4
        ix.add(fake_entry("v1", 11))  # an id may come back after its removal
        assert ix.get("v1").metadata == {"seed": 11}
        ix.remove("v2")
        before = {i: ix.get(i) for i in ix.ids()}
        ix.compact()
        assert ix.info()["segments"] == 1 and ix.info()["tombstones"] == 0
        assert len(list(path.glob("seg-*.h5"))) == 1
    with Index.open(path) as ix:
        assert sorted(ix.ids()) == sorted(before)
        assert "v2" not in ix
        for i, e in before.items():
            g = ix.get(i)
            assert g.metadata == e.metadata
            assert g.compact.to_bytes() == e.compact.to_bytes()
            assert np.array_equal(g.vpdq.words, e.vpdq.words)
            assert np.array_equal(g.vpdq.timestamps, e.vpdq.timestamps)
        with pytest.raises(IndexStoreError, match="read-only"):
            ix.add(fake_entry("x", 1))


def test_removed_entry_is_gone_from_queries_and_after_compact(tmp_path):
    with Index.create(tmp_path / "ix") as ix:
        es = [fake_entry(f"v{i}", i, frames=12) for i in range(3)]
        ix.add_many(es)
        assert "v1" in {m.id for m in ix.query(es[1])}
        ix.remove(["v1"])
        assert "v1" not in {m.id for m in ix.query(es[1])}
        assert ix.whole_candidates(es[1], ix_thresholds()) == [] or all(
            ix._segs[s].reader.ids[r] != "v1" for s, r, _ in ix.whole_candidates(es[1], ix_thresholds()))
        ix.compact()
        assert "v1" not in {m.id for m in ix.query(es[1])}
        assert {m.id for m in ix.query(es[0])} == {"v0"}


def ix_thresholds():
    from vidprint.matching import Thresholds
    return Thresholds()


def test_no_paths_stored(tmp_path):
    e = fake_entry("v", 1)
    from dataclasses import replace
    e = replace(e, vpdq=replace(e.vpdq, source="/home/someone/secret/video.mp4"))
    with Index.create(tmp_path / "ix") as ix:
        ix.add(e)
        assert ix.get("v").vpdq.source is None
    for p in (tmp_path / "ix").iterdir():
        assert b"secret" not in p.read_bytes()


# ------------------------------------------------------------------------------------------------
# the writer lock

_HOLD = """
import sys, time
from vidprint.index import Index
ix = Index.open(sys.argv[1], "a")
print("locked", flush=True)
time.sleep(60)
"""


def test_second_writer_refused_with_pid_and_dead_lock_taken_over(tmp_path):
    path = tmp_path / "ix"
    Index.create(path).close()
    p = subprocess.Popen([sys.executable, "-c", _HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "locked"
        with pytest.raises(IndexLockedError) as ei:
            Index.open(path, "a")
        assert ei.value.pid == p.pid and str(p.pid) in str(ei.value)
        with Index.open(path) as reader:  # readers are not blocked
            assert len(reader) == 0
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    with Index.open(path, "a") as ix:  # the dead holder's lock is taken over
        ix.add(fake_entry("a", 1))


def test_second_writer_in_same_process_refused(tmp_path):
    with Index.create(tmp_path / "ix"):
        with pytest.raises(IndexLockedError, match=str(os.getpid())):
            Index.open(tmp_path / "ix", "a")


# ------------------------------------------------------------------------------------------------
# damage


def _one_segment(tmp_path) -> tuple[Path, Path]:
    path = tmp_path / "ix"
    with Index.create(path) as ix:
        ix.add_many([fake_entry(f"v{i}", i, frames=50) for i in range(20)])
    (seg,) = path.glob("seg-*.h5")
    return path, seg


def test_truncated_segment_refused(tmp_path):
    path, seg = _one_segment(tmp_path)
    data = seg.read_bytes()
    seg.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexStoreError, match="truncated") as ei:
        Index.open(path)
    assert seg.name in str(ei.value)


@pytest.mark.parametrize("verify", ["auto", "fast"])
def test_bit_flipped_segment_refused(tmp_path, verify):
    path, seg = _one_segment(tmp_path)
    data = bytearray(seg.read_bytes())
    rng = random.Random(5)
    refused = 0
    for trial in range(20):
        pos = rng.randrange(len(data))
        flipped = bytearray(data)
        flipped[pos] ^= 1 << rng.randrange(8)
        seg.write_bytes(bytes(flipped))
        try:
            with Index.open(path, verify=verify) as ix:
                for i in ix.ids():  # every blob is checked when read
                    ix.get(i)
        except IndexStoreError as exc:
            assert seg.name in str(exc)
            refused += 1
        else:  # only a flip in unused bytes of the HDF5 file may pass, and then nothing read changed
            assert verify == "fast"
    if verify == "auto":
        assert refused == 20
    assert refused >= 15


def test_bit_flipped_or_truncated_manifest_refused(tmp_path):
    path, _ = _one_segment(tmp_path)
    man = path / "MANIFEST.json"
    data = man.read_bytes()
    text = data.replace(b'"entries": 20', b'"entries": 21')
    man.write_bytes(text)
    with pytest.raises(IndexStoreError, match="checksum"):
        Index.open(path)
    man.write_bytes(data[: len(data) - 40])
    with pytest.raises(IndexStoreError, match="MANIFEST.json.*JSON"):
        Index.open(path)
    man.write_bytes(b"\x89HDF\r\n")
    with pytest.raises(IndexStoreError, match="MANIFEST.json"):
        Index.open(path)


def test_foreign_segment_refused(tmp_path):
    import h5py
    path, seg = _one_segment(tmp_path)
    size = seg.stat().st_size
    with h5py.File(seg, "w") as f:
        f.create_dataset("x", data=np.zeros(8))
    with open(seg, "ab") as f:  # same size as recorded, so only the content can tell
        f.truncate(size)
    with pytest.raises(IndexStoreError, match=seg.name):
        Index.open(path, verify="fast")
    with pytest.raises(IndexStoreError, match="sha256"):
        Index.open(path, verify="full")


def test_not_an_index(tmp_path):
    with pytest.raises(IndexStoreError, match="MANIFEST.json is missing"):
        Index.open(tmp_path)
    with pytest.raises(IndexStoreError, match="no such index folder"):
        Index.open(tmp_path / "nope")


# ------------------------------------------------------------------------------------------------
# kill -9 at random moments

BATCH = 3


def _writer_loop(path: Path, tag: str, wfd: int) -> None:
    """Child: commit batches and compactions forever, reporting each commit on the pipe."""
    try:
        ix = Index.open(path, "a")
        i = 0
        while True:
            ix.add_many([fake_entry(f"{tag}-b{i}-{j}", i * 10 + j, frames=4, k=1) for j in range(BATCH)])
            os.write(wfd, f"add {tag}-b{i}\n".encode())
            if i % 4 == 3:
                ix.compact()
                os.write(wfd, b"compact\n")
            elif i % 4 == 1:
                ix.remove([f"{tag}-b{i}-0"])
                os.write(wfd, f"remove {tag}-b{i}-0\n".encode())
            i += 1
    finally:
        os._exit(0)


def _batches(ids) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for i in ids:
        b, j = i.rsplit("-", 1)
        out.setdefault(b, set()).add(j)
    return out


def test_kill_minus_9_at_random_moments(tmp_path):
    rng = random.Random(20261129)
    debris = 0  # kills that interrupted a commit (temporary or orphan segment files left behind)
    for trial in range(100):
        if trial % 20 == 0:  # a fresh index now and then keeps the compactions small and the test fast
            path = tmp_path / f"ix{trial}"
            Index.create(path).close()
            committed: set[str] = set()  # batches reported as committed
            removed: set[str] = set()
        tag = f"t{trial}"
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            os.close(r)
            _writer_loop(path, tag, w)
        os.close(w)
        time.sleep(rng.uniform(0.0, 0.2))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(r) as f:
            lines = f.read().splitlines()
        for ln in lines:
            kind, _, arg = ln.partition(" ")
            if kind == "add":
                committed.add(arg)
            elif kind == "remove":
                removed.add(arg)
        listed = set(json.loads((path / "MANIFEST.json").read_text())["segments"][i]["file"]
                     for i in range(len(json.loads((path / "MANIFEST.json").read_text())["segments"])))
        debris += any(p.name.endswith(".tmp") or (p.name.startswith("seg-") and p.name not in listed)
                      for p in path.iterdir())
        with Index.open(path, "a") as ix:  # opens; the dead writer's lock is taken over
            present = set(ix.ids())
            batches = _batches(present)
            reported_here = [b for b in committed if b.startswith(tag + "-")]
            in_flight = f"{tag}-b{len(reported_here)}"
            for b, js in batches.items():
                # never partial: ids 1.. always together; id 0 only absent where its removal ran
                assert js in ({"0", "1", "2"}, {"1", "2"}), (trial, b, js)
                if js == {"1", "2"}:
                    assert int(b.rsplit("b", 1)[1]) % 4 == 1, (trial, b)
                if f"{b}-0" in removed:
                    assert js == {"1", "2"}, (trial, b, js)
                # only the batch in flight when killed may be there unreported (then it is durable)
                assert b in committed or b == in_flight, (trial, b)
            for b in committed:
                assert b in batches, (trial, b)
            committed.update(batches)
            for rid in rng.sample(sorted(present), min(5, len(present))):
                ix.get(rid)  # data intact
            leftovers = [p.name for p in path.iterdir() if p.name.endswith(".tmp")]
            assert leftovers == []
    print(f"{debris} of 100 kills interrupted a commit")
    assert debris >= 10


def test_concurrent_reader_sees_whole_commits_only(tmp_path):
    """Readers open (and refresh) while a forked writer commits batches and compactions."""
    path = tmp_path / "ix"
    with Index.create(path) as ix:
        ix.add_many([fake_entry(f"pre-b0-{j}", j, frames=4, k=1) for j in range(BATCH)])
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(r)
        _writer_loop(path, "c", w)
    os.close(w)
    try:
        snapshots = 0
        deadline = time.monotonic() + 3.0
        reader = Index.open(path)
        while time.monotonic() < deadline:
            if snapshots % 2:
                reader.refresh()
            else:
                reader.close()
                reader = Index.open(path)
            for b, js in _batches(reader.ids()).items():
                assert js in ({"0", "1", "2"}, {"1", "2"}), (b, js)
            for rid in reader.ids()[-3:]:
                reader.get(rid)
            snapshots += 1
        reader.close()
        assert snapshots > 10
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(r)
