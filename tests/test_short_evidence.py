"""The short-evidence rule of the matching policy (``Thresholds.short_evidence_s``, docs/evaluation.md).

Known answers by construction: descriptors whose durations are set on either side of the limit, and
vPDQ queries cut from random hashes with an exact number of bits flipped per frame (random 256-bit
hashes are ~128 bits apart, so the only pairs within 31 bits are the planted ones).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import vidprint.vpdq as vpdq
from vidprint import tmk
from vidprint.matching import Thresholds, clip_evidence, explain, whole_evidence

FPS = 30.0
OFF = Thresholds(short_evidence_s=0.0)


def _pair_between(lo: float, hi: float) -> tuple[tmk.CompactDescriptor, tmk.CompactDescriptor, float]:
    """Two compact descriptors (3 s at 15 fps) whose level 2 lies in [lo, hi): the second's frame
    features are the first's plus noise, the noise chosen by a search over levels."""
    rng = np.random.default_rng(7)
    t = np.arange(45) / 15.0
    f = rng.standard_normal((45, 256)).astype(np.float32)
    a = tmk.compact_from_features(f, t)
    for noise in np.linspace(0.2, 3.0, 57):
        b = tmk.compact_from_features(f + noise * rng.standard_normal(f.shape).astype(np.float32), t)
        s = tmk.compact_score(a, b)
        if s.level1 >= 0.4 and lo <= s.level2 < hi:
            return a, b, float(s.level2)
    raise AssertionError("no noise level gives the wanted level 2")


def test_whole_short_videos_need_level2_0_9():
    a, b, l2 = _pair_between(0.62, 0.88)
    assert a.duration_s < 5.0
    ev = whole_evidence(a, b, Thresholds(mirror=False))
    assert ev.short and ev.threshold_level2 == 0.9 and not ev.matched
    assert ev.level2 == pytest.approx(l2)
    assert "short video" in explain(ev, None)
    off = whole_evidence(a, b, dataclasses.replace(OFF, mirror=False))
    assert not off.short and off.threshold_level2 == 0.6 and off.matched


def test_whole_long_videos_keep_the_usual_threshold():
    a, b, _ = _pair_between(0.62, 0.88)
    a10, b10 = (dataclasses.replace(x, duration_s=10.0) for x in (a, b))
    ev = whole_evidence(a10, b10, Thresholds(mirror=False))
    assert not ev.short and ev.threshold_level2 == 0.6 and ev.matched
    # the shorter of the two decides
    ev = whole_evidence(a10, b, Thresholds(mirror=False))
    assert ev.short and not ev.matched


def test_whole_near_identical_short_videos_still_match():
    a, b, _ = _pair_between(0.93, 1.01)
    ev = whole_evidence(a, b, Thresholds(mirror=False))
    assert ev.short and ev.matched


def _flip_exactly(words: np.ndarray, bits: int, rng) -> np.ndarray:
    out = words.copy()
    for i in range(out.shape[0]):
        for b in rng.choice(256, size=bits, replace=False):
            out[i, b // 64] ^= np.uint64(1) << np.uint64(b % 64)
    return out


def _hashes(words: np.ndarray, t0: float = 0.0) -> vpdq.VPDQHash:
    n = words.shape[0]
    fn = np.arange(n)
    return vpdq.VPDQHash(words, np.full(n, 100), fn, t0 + fn / FPS, fps=FPS)


@pytest.fixture(scope="module")
def compared():
    rng = np.random.default_rng(3)
    return _hashes(rng.integers(0, 2**64, size=(int(20 * FPS), 4), dtype=np.uint64))


@pytest.mark.parametrize("seconds, bits, kept", [(2.0, 20, False), (2.0, 4, True), (6.0, 20, True)])
def test_clip_short_segments_must_be_near_identical(compared, seconds, bits, kept):
    rng = np.random.default_rng(11)
    start = int(5 * FPS)
    query = _hashes(_flip_exactly(compared.words[start : start + int(seconds * FPS)], bits, rng))
    ev = clip_evidence(query, compared)
    assert ev.matched is kept
    assert ev.short_refused == (0 if kept else 1)
    if kept:
        s = ev.segments[0]
        assert abs(s.compared_start_s - 5.0) < 0.2
    else:
        assert "refused as not near-identical" in explain(None, ev)
    off = clip_evidence(query, compared, OFF)  # the rule off: alignment alone decides
    assert off.matched and off.short_refused == 0
    assert off.segments[0].mean_distance == pytest.approx(bits)


def test_clip_rule_is_not_applied_against_sparse_hashes(compared):
    # an archive hashed once a second: a true copy's frames sit up to half a second from the indexed
    # ones, so the every-frame calibration of the bar does not hold there (documented exemption)
    rng = np.random.default_rng(5)
    sparse = vpdq.VPDQHash(compared.words[::30], compared.quality[::30], compared.frame_numbers[::30],
                           compared.timestamps[::30], fps=FPS)
    start = int(5 * FPS)
    query = _hashes(_flip_exactly(compared.words[start : start + int(3 * FPS)], 20, rng))
    ev = clip_evidence(query, sparse)
    assert ev.short_refused == 0
    assert ev.matched == clip_evidence(query, sparse, OFF).matched
