"""Streaming TMK accumulation (spec §2.4-§2.5, §2.9) against independent numpy implementations."""
from __future__ import annotations

import numpy as np
import pytest

from vidprint.tmk import TMKAccumulator, TMKDescriptor, level2, read, score, tmk_from_features

from conftest import TMK_DIR  # $VIDPRINT_SHARED or ../shared

TMK_FILE = TMK_DIR / "chair-19-sd-bar.tmk"
PERIODS = [2731, 4391, 9767, 14653]
F32 = np.float32


def _coefficients() -> np.ndarray:
    """The Poullot weights as stored in a reference file (independent of vidprint.tmk.params)."""
    if not TMK_FILE.is_file():
        pytest.skip(f"reference data file {TMK_FILE} is absent")
    return np.frombuffer(TMK_FILE.read_bytes(), dtype="<f4", count=32, offset=48).copy()


def _features(n: int, seed: int = 0) -> np.ndarray:
    """PDQF-like frames: slowly varying content, different contrast per frame, one zero frame."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, 256)).cumsum(axis=0) / np.sqrt(np.arange(1, n + 1))[:, None]
    f = (base * rng.uniform(10.0, 400.0, (n, 1))).astype(np.float32)
    if n > 5:
        f[5] = 0.0
    return f


def emulate_f32(features: np.ndarray, coefficients: np.ndarray, periods=PERIODS, t0: int = 0):
    """Per-step f32 emulation of the spec written with numpy (sequential f32 sums via cumsum)."""
    m, d = coefficients.size, features.shape[1]
    avg = np.zeros(d, F32)
    cos = np.zeros((len(periods), m, d), F32)
    sin = np.zeros((len(periods), m, d), F32)
    j = np.arange(1, m, dtype=np.float64)
    for t, f in enumerate(features, start=t0):
        avg = avg + f
        norm = np.sqrt(np.cumsum(f * f, dtype=F32)[-1])
        g = f / norm if norm > 0 else f
        g64 = g.astype(np.float64)
        for p, period in enumerate(periods):
            cos[p, 0] = cos[p, 0] + g
            arg = 2.0 * np.pi * j * float(t) / float(period)
            cos[p, 1:] = (cos[p, 1:].astype(np.float64) + g64 * np.cos(arg)[:, None]).astype(F32)
            sin[p, 1:] = (sin[p, 1:].astype(np.float64) + g64 * np.sin(arg)[:, None]).astype(F32)
    n = len(features)
    if n:
        avg = avg / F32(n)
        w = np.sqrt(coefficients)
        for arr in (cos, sin):
            norms = np.sqrt(np.cumsum(arr * arr, axis=2, dtype=F32)[:, :, -1:])
            safe = np.where(norms > 0, norms, F32(1))
            arr[...] = np.where(norms > 0, (arr / safe) * w[None, :, None], arr)
    return avg, cos, sin


def reference_f64(features: np.ndarray, coefficients: np.ndarray, periods=PERIODS):
    """The textbook f64 formula of §2.4-2.5, vectorized over frames, no intermediate rounding."""
    f = features.astype(np.float64)
    norms = np.linalg.norm(f, axis=1, keepdims=True)
    g = np.where(norms > 0, f / np.where(norms > 0, norms, 1), f)
    t = np.arange(len(f), dtype=np.float64)
    j = np.arange(len(coefficients), dtype=np.float64)
    cos, sin = [], []
    for period in periods:
        arg = 2 * np.pi * np.outer(j, t) / period  # (m, n)
        c = np.cos(arg) @ g
        s = np.sin(arg) @ g
        s[0] = 0.0
        cos.append(c)
        sin.append(s)
    cos, sin = np.array(cos), np.array(sin)
    w = np.sqrt(coefficients.astype(np.float64))[None, :, None]
    for arr in (cos, sin):
        nn = np.linalg.norm(arr, axis=2, keepdims=True)
        arr[...] = np.where(nn > 0, arr / np.where(nn > 0, nn, 1) * w, 0.0)
    return f.mean(axis=0), cos, sin


def test_matches_f32_emulation_bit_for_bit():
    coef = _coefficients()
    feats = _features(60)
    acc = TMKAccumulator()
    acc.update(feats)
    d = acc.finalize()
    avg, cos, sin = emulate_f32(feats, coef)
    assert d.frame_count == 60 and d.fps == 15
    np.testing.assert_array_equal(d.average, avg)
    np.testing.assert_array_equal(d.cos, cos)
    np.testing.assert_array_equal(d.sin, sin)
    np.testing.assert_array_equal(d.coefficients, coef)
    np.testing.assert_array_equal(d.periods, PERIODS)


def test_matches_f64_formula():
    coef = _coefficients()
    feats = _features(300, seed=3)
    d = tmk_from_features(feats)
    avg, cos, sin = reference_f64(feats, coef)
    np.testing.assert_allclose(d.average, avg, rtol=1e-5, atol=1e-5 * np.abs(avg).max())
    for got, want in ((d.cos, cos), (d.sin, sin)):
        scale = np.sqrt(coef)[None, :, None]  # each vector has norm sqrt(a_j)
        err = np.abs(got - want) / scale
        assert err.max() < 1e-4
        assert np.median(err) < 1e-6
    # Scored against each other, the two are the same video.
    d64 = TMKDescriptor(fps=15, periods=PERIODS, coefficients=coef, frame_count=300,
                        average=avg, cos=cos, sin=sin)
    s = score(d, d64)
    assert abs(s.level1 - 1.0) < 1e-6 and abs(s.level2 - 1.0) < 1e-6


def test_streaming_equals_one_shot():
    feats = _features(97, seed=5)
    one = tmk_from_features(feats)
    acc = TMKAccumulator()
    for lo, hi in ((0, 1), (1, 8), (8, 8), (8, 50), (50, 97)):
        acc.update(feats[lo:hi])
    acc_single = TMKAccumulator()
    for f in feats:
        acc_single.update(f)  # one frame as float32[256]
    assert acc.finalize().to_bytes() == one.to_bytes()
    assert acc_single.finalize().to_bytes() == one.to_bytes()


def test_finalize_is_a_snapshot():
    feats = _features(40, seed=6)
    acc = TMKAccumulator()
    acc.update(feats[:20])
    first = acc.finalize()
    assert first.to_bytes() == tmk_from_features(feats[:20]).to_bytes()
    acc.update(feats[20:])
    assert acc.finalize().to_bytes() == tmk_from_features(feats).to_bytes()
    assert acc.count == 40


def test_time_continues_across_calls_for_long_videos():
    """Frame index t keeps growing across calls: start emulation at t0 = 20000 (> every period)."""
    coef = _coefficients()
    skip = np.zeros((20_000, 256), np.float32)  # zero frames leave C and S unchanged
    feats = _features(10, seed=8)
    acc = TMKAccumulator()
    for k in range(0, 20_000, 5_000):
        acc.update(skip[k : k + 5_000])
    acc.update(feats)
    d = acc.finalize()
    _, cos, sin = emulate_f32(feats, coef, t0=20_000)
    assert d.frame_count == 20_010
    np.testing.assert_array_equal(d.cos, cos)
    np.testing.assert_array_equal(d.sin, sin)


def test_zero_frames():
    d = TMKAccumulator().finalize()
    assert d.frame_count == 0
    assert not d.average.any() and not d.cos.any() and not d.sin.any()
    assert len(d.to_bytes()) == 263_344
    assert read(d.to_bytes()).to_bytes() == d.to_bytes()


def test_one_frame_self_score_is_about_0518():
    coef = _coefficients().astype(np.float64)
    d = tmk_from_features(_features(1, seed=9))
    assert not d.sin.any()  # sin(0) = 0 for every j
    expected = (coef[0] + coef[1:].sum()) / (coef[0] + 2 * coef[1:].sum())
    s = score(d, d)
    assert abs(s.level2 - expected) < 1e-6
    assert abs(s.level2 - 0.518) < 1e-3
    assert abs(s.level1 - 1.0) < 1e-6
    two = tmk_from_features(_features(2, seed=9))
    assert abs(score(two, two).level2 - 1.0) < 1e-6


def test_round_trip_and_structure_of_accumulated_descriptor():
    coef = _coefficients()
    d = tmk_from_features(_features(50, seed=10))
    assert read(d.to_bytes()).to_bytes() == d.to_bytes()
    assert not d.sin[:, 0].any()
    sq = np.einsum("pjd,pjd->pj", d.cos.astype(np.float64), d.cos.astype(np.float64))
    np.testing.assert_allclose(sq, np.broadcast_to(coef, sq.shape), rtol=2e-6)


def test_custom_parameters():
    feats = _features(30, seed=11)
    coef = np.array([0.5, 0.25, 0.125], np.float32)
    acc = TMKAccumulator(fps=10, periods=[7, 11], coefficients=coef)
    acc.update(feats)
    d = acc.finalize()
    assert d.fps == 10 and d.shape == (2, 3, 256)
    avg, cos, sin = emulate_f32(feats, coef, periods=[7, 11])
    np.testing.assert_array_equal(d.cos, cos)
    np.testing.assert_array_equal(d.sin, sin)
    for method in ("blocked", "fft", "direct"):
        assert abs(level2(d, d, method=method) - 1.0) < 1e-6


def test_periods_shorter_than_the_spectrum():
    """Periods T <= 2(m-1): frequencies j and j mod T alias; all three level-2 paths agree."""
    coef = np.array([0.4, 0.3, 0.2, 0.1, 0.05], np.float32)
    descs = []
    for seed in (12, 13):
        acc = TMKAccumulator(periods=[3, 5, 8], coefficients=coef)
        acc.update(_features(25, seed=seed))
        descs.append(acc.finalize())
    a, b = descs
    values = [level2(a, b, method=m) for m in ("blocked", "fft", "direct")]
    assert max(values) - min(values) < 1e-6
    assert abs(level2(a, a) - 1.0) < 1e-6


def test_bad_input():
    acc = TMKAccumulator()
    with pytest.raises(ValueError):
        acc.update(np.zeros((3, 255), np.float32))
    bad = np.zeros((2, 256), np.float32)
    bad[1, 7] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        acc.update(bad)
    assert acc.count == 0
    acc.update(np.zeros((0, 256), np.float32))
    assert acc.count == 0
    with pytest.raises(ValueError):
        TMKAccumulator(periods=[0, 5])
    with pytest.raises(ValueError):
        TMKAccumulator(fps=0)


@pytest.mark.parametrize("method", ["blocked", "fft", "direct"])
def test_best_offset_has_the_sign_of_the_time_shift(method):
    """Spec §2.7: if B's content at t equals A's at t + delta, the peak lies near o = +delta
    (coarsely: the kernel is about T/m frames wide)."""
    feats = np.random.default_rng(14).standard_normal((700, 256)).cumsum(axis=0).astype(np.float32)
    a = tmk_from_features(feats)
    delta = 300
    b = tmk_from_features(feats[delta:])
    ab = score(a, b, method=method)
    ba = score(b, a, method=method)
    assert ab.period == ba.period == 14653
    assert 0 < ab.offset < 2 * delta
    assert ab.period - 2 * delta < ba.offset < ab.period
    assert abs(ab.level2 - ba.level2) < 1e-6
