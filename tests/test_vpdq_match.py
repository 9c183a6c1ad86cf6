"""Bag-of-frames vPDQ matching against an independent pure-Python oracle (spec §3.2, §4.4)."""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

import vidprint.vpdq as vpdq

from conftest import VPDQ_DIR  # $VIDPRINT_SHARED or ../shared
if not VPDQ_DIR.is_dir():
    pytest.skip(f"reference data not found at {VPDQ_DIR}", allow_module_level=True)


@functools.lru_cache(maxsize=None)
def _rows(name):
    """(hex, quality) per line, straight from the text."""
    out = []
    for line in (VPDQ_DIR / f"{name}.txt").read_text().splitlines():
        _, q, h, _ = line.split(",")
        out.append((h, int(q)))
    return out


@functools.lru_cache(maxsize=None)
def _py_distances(qname, cname):
    """All-pairs Hamming distances between the two files' lines, with Python integers (int8 matrix)."""
    qi = [int(h, 16) for h, _ in _rows(qname)]
    ci = [int(h, 16) for h, _ in _rows(cname)]
    return np.array([[(a ^ b).bit_count() for b in ci] for a in qi], dtype=np.int16)


def _oracle(qname, cname, D, F, order, strict):
    """Straightforward reading of §3.2: prepare each side's line indices, then count."""

    def prep(rows):
        if order == "dedupe-then-filter":
            seen, u = set(), []
            for k, (h, qq) in enumerate(rows):
                if h not in seen:
                    seen.add(h)
                    u.append(k)
            return [k for k in u if rows[k][1] >= F]
        kept = [k for k, (h, qq) in enumerate(rows) if qq >= F]
        if order == "none":
            return kept
        first = {}
        for k in kept:
            first.setdefault(rows[k][0], k)
        return sorted(first.values())

    qa, ca = prep(_rows(qname)), prep(_rows(cname))
    if not qa or not ca:
        return 0.0, 0.0
    dist = _py_distances(qname, cname)[np.ix_(qa, ca)]
    ok = dist < D if strict else dist <= D
    return ok.any(1).sum() * 100.0 / len(qa), ok.any(0).sum() * 100.0 / len(ca)


PAIRS = [
    ("chair-19-sd-bar", "chair-orig-22-sd-bar"),
    ("chair-22-with-large-logo-bar", "chair-20-sd-bar"),
    ("chair-19-sd-bar-128x128", "chair-19-sd-bar"),
    ("test-padded-dimensions", "chair-19-sd-bar"),
]


@pytest.mark.parametrize("qname, cname", PAIRS)
@pytest.mark.parametrize("rule", list(vpdq.RULES.values()), ids=lambda r: r.name)
def test_match_equals_oracle(qname, cname, rule):
    q, c = vpdq.read(VPDQ_DIR / f"{qname}.txt"), vpdq.read(VPDQ_DIR / f"{cname}.txt")
    res = vpdq.match(q, c, rule=rule)
    eq, ec = _oracle(qname, cname, rule.distance, rule.quality, rule.dedupe, rule.strict)
    assert res.query_pct == pytest.approx(eq, abs=1e-9)
    assert res.compared_pct == pytest.approx(ec, abs=1e-9)


def test_known_relations():
    c19 = vpdq.read(VPDQ_DIR / "chair-19-sd-bar.txt")
    c22 = vpdq.read(VPDQ_DIR / "chair-orig-22-sd-bar.txt")
    pad = vpdq.read(VPDQ_DIR / "test-padded-dimensions.txt")
    # chair-19 is a sub-clip of chair-22: every chair-19 frame matches, not every chair-22 frame
    r = vpdq.match(c19, c22)
    assert r.query_pct == 100.0 and 50.0 < r.compared_pct < 100.0
    assert r.query_frames == len(set(c19.hexes()))
    assert vpdq.is_match(r, vpdq.THREATEXCHANGE_RULE)
    assert vpdq.is_match(r, vpdq.README_RULE) == (r.compared_pct >= 80.0)
    rr = vpdq.match(c22, c19)
    assert rr.query_pct == r.compared_pct and rr.compared_pct == r.query_pct
    # a 5 s piece against the whole video: python-threatexchange (80 % on the query side) says match,
    # the README rule (80 % on the compared side) says no; swapped roles, the opposite
    short = c19.select(slice(0, 150))
    rs = vpdq.match(short, c22)
    assert rs.query_pct == 100.0 and rs.compared_pct < 40.0
    assert vpdq.is_match(rs, vpdq.THREATEXCHANGE_RULE) and not vpdq.is_match(rs, vpdq.README_RULE)
    rl = vpdq.match(c22, short)
    assert not vpdq.is_match(rl, vpdq.THREATEXCHANGE_RULE) and vpdq.is_match(rl, vpdq.README_RULE)
    un = vpdq.match(pad, c19)
    assert un.query_pct == 0.0 and un.compared_pct == 0.0
    assert not any(vpdq.is_match(un, rule) for rule in vpdq.RULES.values())
    # one-per-second sampling of chair-20 against itself (python-threatexchange test): 100 % / 100 %
    c20 = vpdq.read(VPDQ_DIR / "chair-20-sd-bar.txt")
    sampled = c20.select(np.arange(0, 601, 30))
    s = vpdq.match(sampled, c20.select(np.arange(0, 601, 30)), rule=vpdq.THREATEXCHANGE_RULE)
    assert (s.query_pct, s.compared_pct, s.query_frames) == (100.0, 100.0, 21)


def test_threshold_inclusive_vs_strict():
    c = vpdq.read(VPDQ_DIR / "chair-19-sd-bar.txt").select(slice(0, 1))
    w = c.words.copy()
    w[0, 0] ^= np.uint64((1 << 31) - 1)  # flip exactly 31 bits
    q = dataclasses.replace(c, words=w)
    assert vpdq.match(q, c, distance=31).query_pct == 100.0
    assert vpdq.match(q, c, distance=31, strict=True).query_pct == 0.0
    assert vpdq.match(q, c, rule=vpdq.CPP_BRUTE_RULE).query_pct == 0.0
    assert vpdq.match(q, c, distance=30).query_pct == 0.0


def test_empty_after_filter_and_dedupe_order():
    vh = vpdq.read(VPDQ_DIR / "chair-19-sd-bar.txt").select(slice(0, 4))
    low = dataclasses.replace(vh, quality=np.full(4, 10))
    r = vpdq.match(low, vh)
    assert (r.query_pct, r.compared_pct, r.query_frames) == (0.0, 0.0, 0)
    assert not vpdq.is_match(r, vpdq.README_RULE)
    # frame 1 repeats frame 0's hash; frame 0 has low quality, frame 1 high quality
    w = vh.words.copy()
    w[1] = w[0]
    dup = dataclasses.replace(vh, words=w, quality=np.array([10, 90, 90, 90]))
    a = vpdq.match(dup, vh, dedupe="dedupe-then-filter")
    b = vpdq.match(dup, vh, dedupe="filter-then-dedupe")
    n = vpdq.match(dup, vh, dedupe="none")
    assert (a.query_frames, b.query_frames, n.query_frames) == (2, 3, 3)


def test_large_sets_use_exact_index():
    """Above the brute-force size the multi-index path must give the same answer as brute force."""
    rng = np.random.default_rng(7)
    c22 = vpdq.read(VPDQ_DIR / "chair-orig-22-sd-bar.txt")
    big = np.concatenate([rng.integers(0, 2**64, size=(20000, 4), dtype=np.uint64), c22.words])
    flips = rng.integers(0, 64, size=(c22.words.shape[0], 3)).astype(np.uint64)
    noisy = c22.words.copy()
    for k in range(3):
        noisy[:, k] ^= np.uint64(1) << flips[:, k]
    qi, cj, dd = vpdq.find_pairs(noisy, big, 31)
    bi, bj, bd = numpy_brute(noisy, big, 31)
    assert sorted(zip(qi.tolist(), cj.tolist(), dd.tolist())) == sorted(zip(bi.tolist(), bj.tolist(), bd.tolist()))
    assert qi.size > c22.words.shape[0]
    # radius-2 probing (32 <= D < 48) is exact too
    qi2, cj2, dd2 = vpdq.find_pairs(noisy[:200], big, 40)
    bi2, bj2, bd2 = numpy_brute(noisy[:200], big, 40)
    assert sorted(zip(qi2.tolist(), cj2.tolist())) == sorted(zip(bi2.tolist(), bj2.tolist()))
    # match() on the large path agrees with flags derived from the brute-force pairs
    qv = vpdq.VPDQHash(noisy, np.full(len(noisy), 100), np.arange(len(noisy)), np.arange(len(noisy)) / 30)
    cv = vpdq.VPDQHash(big, np.full(len(big), 100), np.arange(len(big)), np.arange(len(big)) / 30)
    r = vpdq.match(qv, cv, dedupe="none")
    assert r.query_matched == np.unique(bi).size and r.compared_matched == np.unique(bj).size
    # and the distances are right (checked with Python integers on a sample)
    for k in rng.choice(qi.size, size=50, replace=False):
        a = int("".join(f"{int(x):016x}" for x in noisy[qi[k]]), 16)
        b = int("".join(f"{int(x):016x}" for x in big[cj[k]]), 16)
        assert bin(a ^ b).count("1") == dd[k] <= 31


def numpy_brute(q, c, d):
    """All pairs ``(i, j, distance)`` with distance <= d, by exhaustive search.

    Independent of vidprint's kernels: each hash is unpacked to 256 bits (:func:`numpy.unpackbits`) and
    ``hamming(a, b) = |a| + |b| - 2 a.b`` for every pair comes from one matrix product (exact: float64
    sums of at most 256 ones).
    """
    def bits(words):
        return np.unpackbits(np.ascontiguousarray(words, dtype=np.uint64).view(np.uint8), axis=1).astype(np.float64)

    a, b = bits(q), bits(c)
    dist = np.rint(a.sum(1)[:, None] + b.sum(1)[None, :] - 2.0 * (a @ b.T)).astype(np.int64)
    i, j = np.nonzero(dist <= d)
    return i, j, dist[i, j]
