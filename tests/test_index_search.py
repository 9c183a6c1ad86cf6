"""Exact Hamming range search (multi-index hashing) against an independent numpy brute force."""
from __future__ import annotations

import numpy as np
import pytest

from vidprint.index import HashTable
from vidprint.vpdq import read as read_vpdq

from conftest import REF


def brute(q: np.ndarray, c: np.ndarray, cq: np.ndarray, max_dist: int, min_quality: int) -> set[tuple[int, int, int]]:
    """Every (i, j, d) by numpy popcount over the XOR of all pairs (no vidprint kernel involved)."""
    out = set()
    ok = cq >= min_quality
    for i in range(q.shape[0]):
        d = np.bitwise_count(q[i][None, :] ^ c).sum(axis=1)
        for j in np.flatnonzero((d <= max_dist) & ok):
            out.add((i, int(j), int(d[j])))
    return out


def as_set(res) -> set[tuple[int, int, int]]:
    qi, cj, d = res
    assert len(set(zip(qi.tolist(), cj.tolist()))) == qi.size  # no pair twice
    return set(zip(qi.tolist(), cj.tolist(), d.tolist()))


def flip_bits(rng, words: np.ndarray, k: int) -> np.ndarray:
    out = words.copy()
    for b in rng.choice(256, size=k, replace=False):
        out[b // 64] ^= np.uint64(1) << np.uint64(b % 64)
    return out


def test_random_100k_equals_brute_force():
    rng = np.random.default_rng(1)
    c = rng.integers(0, 2**64, (100_000, 4), dtype=np.uint64)
    cq = rng.integers(0, 101, 100_000).astype(np.uint8)
    # queries: near copies of indexed rows at every distance around the radius, plus random ones
    rows = rng.integers(0, c.shape[0], 120)
    near = np.array([flip_bits(rng, c[r], k) for r, k in zip(rows, np.arange(120) % 48)])
    q = np.concatenate([near, rng.integers(0, 2**64, (30, 4), dtype=np.uint64)])
    q = np.concatenate([q, q[:40]])  # repeated query rows are searched once, reported for each
    table = HashTable(c, cq, use_index=True)
    for max_dist, minq in ((31, 0), (31, 50), (15, 0), (40, 50)):
        want = brute(q, c, cq, max_dist, minq)
        assert as_set(table.search(q, max_dist, minq)) == want
        assert len(want) > 10
    # the scan path too, and a table too small for the index
    assert as_set(HashTable(c[:5000], cq[:5000]).search(q, 31, 50)) == brute(q, c[:5000], cq[:5000], 31, 50)
    # radius >= 48: brute force inside
    assert as_set(table.search(q[:10], 60, 0)) == brute(q[:10], c, cq, 60, 0)


def test_boundary_distances_inclusive():
    rng = np.random.default_rng(2)
    base = rng.integers(0, 2**64, 4, dtype=np.uint64)
    c = np.array([flip_bits(rng, base, k) for k in (0, 15, 16, 17, 30, 31, 32, 33)])
    c = np.concatenate([c, rng.integers(0, 2**64, (30_000, 4), dtype=np.uint64)])
    table = HashTable(c, use_index=True)
    got = as_set(table.search(base[None, :], 31))
    assert {j for _, j, _ in got} == {0, 1, 2, 3, 4, 5}
    assert sorted(d for _, _, d in got) == [0, 15, 16, 17, 30, 31]


def real_frame_hashes() -> list[np.ndarray]:
    files = sorted((REF / "vpdq").glob("*.txt")) if (REF / "vpdq").is_dir() else []
    if not files:
        pytest.skip(f"reference vPDQ hashes not found under {REF}")
    return [(p.stem, read_vpdq(p)) for p in files]


def test_real_clustered_frame_hashes_equal_brute_force():
    """Every-frame hashes of the real chair videos: consecutive frames nearly equal, so the slot
    buckets are skewed; queries are the same videos hashed through another scaler (near copies)."""
    vhs = real_frame_hashes()
    plain = [v for name, v in vhs if "128x128" not in name]
    small = [v for name, v in vhs if "128x128" in name]
    c = np.concatenate([v.words for v in plain])
    cq = np.concatenate([v.quality for v in plain]).astype(np.uint8)
    q = np.concatenate([v.words for v in small])[::3]
    assert c.shape[0] > 2000 and q.shape[0] > 500
    table = HashTable(c, cq, use_index=True)
    want = brute(q, c, cq, 31, 50)
    assert len(want) > 10_000  # clustered: many pairs per query frame
    assert as_set(table.search(q, 31, 50)) == want


def test_bad_arguments():
    with pytest.raises(ValueError, match="uint64"):
        HashTable(np.zeros((3, 3), np.uint64))
    t = HashTable(np.zeros((3, 4), np.uint64))
    with pytest.raises(ValueError, match="query"):
        t.search(np.zeros(5, np.uint64))
    qi, cj, d = t.search(np.zeros((0, 4), np.uint64))
    assert qi.size == cj.size == d.size == 0


# ------------------------------------------------------------------------------------------------
# level-1 prefilter


def cosine64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    den = np.sqrt((a * a).sum(axis=1) * (b @ b))
    return np.where(den > 0, (a @ b) / np.where(den > 0, den, 1), 0.0)


def test_prefilter_scores_and_batched_scan_equal_float64_cosines():
    from vidprint.index import prefilter

    rng = np.random.default_rng(3)
    codes = rng.integers(-127, 128, (70_000, 128)).astype(np.int8)
    codes[5] = 0  # a zero vector scores 0
    base = codes[rng.integers(0, codes.shape[0], 9)].astype(np.int16)
    qs = np.clip(base + rng.integers(-60, 61, base.shape), -127, 127).astype(np.int8)  # near some rows
    qs[0] = 127  # the extreme values
    codes[7] = -127
    nsq = prefilter.norms_sq(codes)
    assert np.array_equal(nsq, (codes.astype(np.int64) ** 2).sum(axis=1))
    for q in qs:
        want = cosine64(codes, q)
        got = prefilter.scores(codes, nsq, q)
        assert np.abs(got - want).max() < 1e-6
    qi, rows, sc = prefilter.scan_many(codes, nsq, qs, 0.3)
    want = {(j, r) for j, q in enumerate(qs) for r in np.flatnonzero(cosine64(codes, q) >= 0.3)}
    assert set(zip(qi.tolist(), rows.tolist())) == want and len(want) >= 9
    for j, r, s in zip(qi[:50], rows[:50], sc[:50]):
        assert abs(s - cosine64(codes[r:r + 1], qs[j])[0]) < 1e-6
