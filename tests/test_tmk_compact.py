"""Compact TMK profile (vidprint.tmk.compact): sizes, format, streaming, invariances, real videos."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from vidprint.errors import HashFileError
from vidprint.pipeline import hash_tmk
from vidprint.tmk import compact as C
from vidprint.tmk import compact_accumulate as CA
from vidprint.tmk import compact_scoring as CS

from conftest import CORPUS, SHARED  # $VIDPRINT_SHARED or ../shared
from conftest import VIDEOS as CHAIR

FPS = 15.0
# Largest |quantized - float32| score difference measured by bench/tmk_profiles.py over ~11,000
# real pairs was below 0.01 (level 2) and 0 (level 1: same int8 vector); allow some margin.
QUANT_BOUND = 0.02


def walk(n: int, seed: int, step: float = 0.3) -> np.ndarray:
    """Random-walk PDQF-like features float32[n, 256] with a common offset (like natural PDQF)."""
    r = np.random.default_rng(seed)
    x = np.cumsum(r.standard_normal((n, 256)), axis=0) * step + r.standard_normal(256) * 5.0
    return x.astype(np.float32)


def desc(f: np.ndarray, t: np.ndarray | None = None, float_path: bool = False):
    acc = CA.CompactAccumulator()
    acc.update(f, np.arange(len(f)) / FPS if t is None else t)
    return acc.finalize_float() if float_path else acc.finalize()


@pytest.fixture(scope="module")
def base():
    return walk(600, 1)


# ------------------------------------------------------------------------------------------------
# Sizes and format


def test_sizes(base):
    d = desc(base)
    assert d.level1.shape == (128,) and d.level1.dtype == np.uint8 and d.level1.nbytes == 128
    assert C.LEVEL1_BYTES == 128
    assert C.LEVEL2_BYTES <= 16 * 1024
    assert d.coeffs.dtype == np.int8 and d.coeffs.shape == (30, 2, 256)
    blob = d.to_bytes()
    assert len(blob) == C.HEADER_SIZE + C.LEVEL1_BYTES + C.LEVEL2_BYTES - 4  # dc_norm is in the header
    assert len(blob) == 15748
    assert blob[:4] == b"VPTC" and blob[4] == 1
    assert blob[20:148] == d.level1.tobytes()
    assert C.LEVEL1_INDEX[0] == 0 and len(set(C.LEVEL1_INDEX.tolist())) == 128
    # the 128 lowest zig-zag frequencies: every kept (u, v) has u + v <= 15
    u, v = np.divmod(C.LEVEL1_INDEX, 16)
    assert (u + v).max() == 15 and np.sum(u + v <= 14) == 120


def test_round_trip(base):
    d = desc(base)
    blob = d.to_bytes()
    e = C.CompactDescriptor.from_bytes(blob)
    assert e.to_bytes() == blob
    assert np.array_equal(e.level1, d.level1) and np.array_equal(e.coeffs, d.coeffs)
    assert np.array_equal(e.scales, d.scales)
    assert e.frame_count == 600 and e.duration_s == pytest.approx(40.0, rel=1e-6)
    s = CS.compact_score(d, e)
    assert s.level1 == pytest.approx(1.0) and s.level2 == pytest.approx(1.0)
    # the float path serializes to its quantized form
    assert desc(base, float_path=True).to_bytes() == blob


def _patch(blob: bytes, offset: int, fmt: str, value) -> bytes:
    b = bytearray(blob)
    struct.pack_into(fmt, b, offset, value)
    return bytes(b)


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda b: b[:10], "too short"),
        (lambda b: b[:-1], "length"),
        (lambda b: b + b"\0", "length"),
        (lambda b: b"XXXX" + b[4:], "magic"),
        (lambda b: _patch(b, 4, "<B", 2), "version"),
        (lambda b: _patch(b, 5, "<B", 9), "level-1 code"),
        (lambda b: _patch(b, 6, "<H", 0), "frequencies"),
        (lambda b: _patch(b, 6, "<H", 31), "length"),
        (lambda b: _patch(b, 12, "<f", float("nan")), "duration"),
        (lambda b: _patch(b, 16, "<f", 3.0), "norm"),
        (lambda b: _patch(b, 148, "<f", float("inf")), "scales"),
        (lambda b: _patch(b, 152, "<f", -1.0), "scales"),
    ],
)
def test_malformed(base, mutate, reason):
    blob = desc(base).to_bytes()
    with pytest.raises(HashFileError) as exc:
        C.CompactDescriptor.from_bytes(mutate(blob), source="x.vptc")
    assert reason in exc.value.reason and exc.value.source == "x.vptc"


# ------------------------------------------------------------------------------------------------
# Streaming


def test_chunked_equals_one_update(base):
    t = np.arange(len(base)) / FPS
    acc = CA.CompactAccumulator(num_bins=64)  # small: forces several merges mid-stream
    for lo in range(0, len(base), 37):
        acc.update(base[lo:lo + 37], t[lo:lo + 37])
    one = CA.CompactAccumulator(num_bins=64)
    one.update(base, t)
    assert acc.merges == one.merges > 0
    a, b = acc.finalize(), one.finalize()
    assert a.frame_count == b.frame_count == len(base)
    # identical up to float summation order
    s = CS.compact_score(a, b)
    assert s.level1 > 0.99999 and s.level2 > 0.99999
    assert np.abs(a.coeffs.astype(int) - b.coeffs.astype(int)).max() <= 1


def test_state_size_flat_30_minutes():
    """The accumulator's state arrays keep their shape over 30 minutes of frames (a size check, not a
    memory measurement: see test_decode.py::test_peak_memory_does_not_grow_with_video_length)."""
    n = 30 * 60 * 15
    acc = CA.CompactAccumulator()
    shape0 = acc._sum.shape
    rng = np.random.default_rng(3)
    x = rng.standard_normal(256)
    for lo in range(0, n, 1500):  # a random walk, streamed in 100 s chunks
        steps = rng.standard_normal((1500, 256)).cumsum(0) * 0.05 + x
        x = steps[-1]
        acc.update(steps.astype(np.float32), np.arange(lo, lo + 1500) / FPS)
        assert acc._sum.shape == shape0 and acc.num_bins == C.NUM_BINS
    assert acc.count == n
    assert acc.width * acc.num_bins >= n / FPS  # the bins cover the whole video
    assert acc.width <= 2 * (n / FPS) / acc.num_bins  # ... and no more than twice over
    d = acc.finalize()
    assert d.duration_s == pytest.approx(1800.0, rel=1e-6)
    assert CS.compact_score(d, d).level2 == pytest.approx(1.0)


def test_update_validation():
    acc = CA.CompactAccumulator()
    with pytest.raises(ValueError):
        acc.update(np.zeros((3, 255), np.float32), np.arange(3.0))
    with pytest.raises(ValueError):
        acc.update(np.zeros((3, 256), np.float32), np.arange(2.0))
    acc.update(np.ones((3, 256), np.float32), np.arange(3.0))
    with pytest.raises(ValueError):
        acc.update(np.ones((1, 256), np.float32), np.array([1.0]))  # goes back in time
    empty = CA.CompactAccumulator().finalize()
    assert empty.frame_count == 0 and CS.compact_score(empty, empty).level2 == 0.0


# ------------------------------------------------------------------------------------------------
# Invariances (synthetic features)


@pytest.mark.parametrize("factor", [0.8, 1.25, 2.0])
def test_speed_change_invariance(base, factor):
    """A uniformly sped-up copy resampled back to 15 fps: the same signal on normalized time."""
    n = int(len(base) / factor)
    src = np.minimum(np.floor(np.arange(n) * factor).astype(int), len(base) - 1)
    a, b = desc(base), desc(base[src])
    s = CS.compact_score(a, b)
    assert s.level1 > 0.99 and s.level2 > 0.97
    assert s.scale == pytest.approx(1.0, abs=0.01) and abs(s.offset) < 0.01


def test_frame_rate_and_timestamps(base):
    """The same content at 30 fps (frames duplicated) scores as itself."""
    f30 = np.repeat(base, 2, axis=0)
    s = CS.compact_score(desc(base), desc(f30, np.arange(len(f30)) / 30.0))
    assert s.level2 > 0.995


@pytest.mark.parametrize("start, end", [(30, 570), (30, 600), (0, 570), (15, 585)])
def test_trim_recovered_by_warp(base, start, end):
    a, b = desc(base), desc(base[start:end])
    s = CS.compact_score(a, b)
    assert s.level2 > 0.95
    assert s.scale == pytest.approx((end - start) / 600, abs=0.011)
    assert s.offset == pytest.approx(start / 600, abs=0.01)
    r = CS.compact_score(b, a)  # symmetric score, mirrored warp
    assert r.level2 == pytest.approx(s.level2, abs=1e-9)


def test_unrelated_random_walks_score_low(base):
    a = desc(base)
    for seed in range(2, 7):
        s = CS.compact_score(a, desc(walk(600, seed)))
        assert s.level2 < 0.3
        assert s.level1 < 0.3


def test_quantized_close_to_float(base):
    diffs = []
    for seed in range(2, 6):
        other = walk(450, seed)
        for x, y in ((base, other), (base, base[20:580]), (base, base[::2])):
            q = CS.compact_score(desc(x), desc(y))
            f = CS.compact_score(desc(x, float_path=True), desc(y, float_path=True))
            diffs.append(abs(q.level2 - f.level2))
            assert q.level1 == f.level1
    assert max(diffs) < QUANT_BOUND


# ------------------------------------------------------------------------------------------------
# Real videos


def _features(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from vidprint.decode import TMKSource, read_frames
    from vidprint.pdqf import pdqf_luma_batch

    fs, ts = [], []
    for batch in read_frames(str(path), {"tmk": TMKSource()}):
        fs.append(pdqf_luma_batch(np.ascontiguousarray(batch.luma)))
        ts.append(batch.time)
    return np.concatenate(fs), np.concatenate(ts)


@pytest.fixture(scope="module")
def real():
    if not SHARED.is_dir():
        pytest.skip(f"shared data folder {SHARED} is absent")
    names = ["chair-19-sd-bar.mp4", "chair-22-sd-sepia-bar.mp4"]
    out = {n: _features(CHAIR / n) for n in names}
    out["chaplin"] = _features(CORPUS / "moviepy__media__chaplin.mp4")
    return out


def test_real_chair_variants_match(real):
    f19, t19 = real["chair-19-sd-bar.mp4"]
    fse, tse = real["chair-22-sd-sepia-bar.mp4"]
    s = CS.compact_score(desc(f19, t19), desc(fse, tse))
    assert CS.compact_is_match(s), s
    # a 5% + 5% trim of the sepia variant, taken from its features, still matches
    n = len(fse)
    k = n // 20
    tr = CS.compact_score(desc(f19, t19), desc(fse[k:n - k], tse[k:n - k] - tse[k]))
    assert CS.compact_is_match(tr), tr


def test_real_unrelated_does_not_match(real):
    f19, t19 = real["chair-19-sd-bar.mp4"]
    fc, tc = real["chaplin"]
    s = CS.compact_score(desc(f19, t19), desc(fc, tc))
    assert not CS.compact_is_match(s), s
    assert s.level2 < C.COMPACT_LEVEL2_THRESHOLD


def test_level1_many_equals_pairwise(base):
    descs = [desc(walk(200, s)) for s in range(6)] + [desc(base)]
    codes = np.stack([d.level1_int8 for d in descs])
    many = CS.compact_level1_many(descs[-1], codes)
    np.testing.assert_allclose(many, [CS.compact_level1(descs[-1], d) for d in descs], atol=1e-6)
    assert many[-1] == pytest.approx(1.0, abs=1e-6)
    zero = np.zeros((1, C.LEVEL1_BYTES), np.int8)
    assert CS.compact_level1_many(descs[0], zero)[0] == 0.0
    with pytest.raises(ValueError):
        CS.compact_level1_many(descs[0], codes[:, :64])


def test_hash_video_gives_both_profiles_from_one_pass(real):
    from vidprint.pipeline import fingerprint

    fp = fingerprint(CHAIR / "chair-19-sd-bar.mp4", vpdq=False)
    f19, t19 = real["chair-19-sd-bar.mp4"]
    assert fp.compact.to_bytes() == desc(f19, t19).to_bytes()
    assert fp.vpdq is None and fp.tmk.frame_count == fp.compact.frame_count == len(f19)
    assert hash_tmk(CHAIR / "chair-19-sd-bar.mp4", profile="compact").to_bytes() == fp.compact.to_bytes()
    with pytest.raises(ValueError, match="profile"):
        hash_tmk(CHAIR / "chair-19-sd-bar.mp4", profile="fast")


def _level2_by_definition(a, b):
    """Level 2 of a pair transcribed from the closed form in vidprint.tmk.compact's docstring, by
    direct sums: two-sided complex spectra, every shift of the 1/1024 grid, every scale, both
    directions; no FFT, no batching, no column selection (the code under test uses all three)."""
    k = a.num_frequencies
    c = C.taper(k)
    j = np.arange(-k, k + 1)

    def two_sided(d):
        f = np.zeros((2 * k + 1, 256), dtype=complex)
        f[k + 1:] = d.spectrum() * c[1:, None]
        f[:k] = np.conj(f[k + 1:])[::-1]  # F_-k = conj F_k; F_0 = 0 (c_0 = 0)
        return f

    def e(x):
        return np.exp(1j * np.pi * x) * np.sinc(x)

    shifts = np.arange(C.SHIFT_GRID) / C.SHIFT_GRID
    shifts = np.where(shifts >= 0.5, shifts - 1.0, shifts)
    m = np.arange(-2 * k, 2 * k + 1)
    scales = np.linspace(C.MIN_SCALE, 1.0, int(round((1.0 - C.MIN_SCALE) / C.SCALE_STEP)) + 1)

    def direction(x, y):  # x warped onto y's window: (cosine, shift, scale)
        p, g = x @ y.conj().T, x @ x.conj().T
        eyy = float(np.trace(y @ y.conj().T).real)
        h = np.array([np.trace(g, offset=-mm) for mm in m])  # sum over j - j' = mm
        best = (-np.inf, 0.0, 1.0)
        for sc in scales:
            xj = (e(sc * j[:, None] - j[None, :]) * p).sum(axis=1)
            num = (np.exp(2j * np.pi * np.outer(shifts, j)) @ xj).real
            den = (np.exp(2j * np.pi * np.outer(shifts, m)) @ (h * e(sc * m))).real
            ok = (shifts >= -C.MAX_EXTRA_SHIFT - 1e-12) & (shifts <= 1.0 - sc + C.MAX_EXTRA_SHIFT + 1e-12) \
                & (den > 1e-12 * eyy)
            if eyy > 0 and ok.any():
                cos = np.where(ok, num / np.sqrt(np.where(ok, den * eyy, 1.0)), -np.inf)
                i = int(np.argmax(cos))
                if cos[i] > best[0]:
                    best = (float(cos[i]), float(shifts[i]), float(sc))
        return best

    fa, fb = two_sided(a), two_sided(b)
    s1, s2 = direction(fa, fb), direction(fb, fa)
    if s2[0] > s1[0]:
        return s2[0], -s2[1] / s2[2], 1.0 / s2[2]
    return s1


def test_level2_equals_its_definition_one_pair_and_batched(base):
    """compact_level2_detail (one pair) and compact_level2_detail_many (a batch) against the closed
    form summed directly: same score, same warp."""
    q = desc(base)
    cands = [desc(base[40:560]),  # trimmed: a warp with scale < 1
             desc(base[::-1].copy()),  # unrelated in time
             desc(walk(300, 5)), desc(walk(40, 6)), q]
    want = [_level2_by_definition(q, x) for x in cands]
    got = np.array(CS.compact_level2_detail_many(q, cands)).T
    for w, g, x in zip(want, got, cands):
        np.testing.assert_allclose(g, w, atol=1e-9)
        np.testing.assert_allclose(CS.compact_level2_detail(q, x), w, atol=1e-9)
    assert want[0][2] < 1.0 and want[0][0] > 0.95 and want[-1][0] == pytest.approx(1.0)
    np.testing.assert_allclose(CS.compact_level2_many(q, cands), got[:, 0], rtol=0, atol=0)
    # pairs with several first sides, descriptors repeated (the same objects) across pairs and roles
    firsts = [cands[0], q, cands[0], cands[2], q]
    seconds = [q, cands[1], cands[3], cands[0], cands[0]]
    got = np.array(CS.compact_level2_pairs(firsts, seconds)).T
    for (f, s_), g in zip(zip(firsts, seconds), got):
        np.testing.assert_allclose(g, _level2_by_definition(f, s_), atol=1e-9)
    with pytest.raises(ValueError, match="second descriptors"):
        CS.compact_level2_pairs(firsts, seconds[:2])


def test_level2_batch_is_chunked_and_handles_edges(base, monkeypatch):
    q = desc(base)
    cands = [desc(walk(120, s)) for s in range(7)]
    whole = np.array(CS.compact_level2_detail_many(q, cands))
    monkeypatch.setattr(CS, "_LEVEL2_CHUNK", 3)  # 3 + 3 + 1
    np.testing.assert_allclose(np.array(CS.compact_level2_detail_many(q, cands)), whole, atol=1e-12)
    assert all(x.shape == (0,) for x in CS.compact_level2_detail_many(q, []))
    empty = CA.CompactAccumulator().finalize()  # no energy: level 2 is 0 at the identity warp
    assert CS.compact_level2_detail_many(q, [empty]) == ([0.0], [0.0], [1.0])
    with pytest.raises(ValueError, match="frequency"):
        short_k = CA.CompactAccumulator(num_frequencies=8)
        short_k.update(base[:50], np.arange(50) / FPS)
        CS.compact_level2_detail_many(q, [short_k.finalize()])


def test_best_cosine_kernel_matches_numpy():
    """The private warp-search kernel equals a masked numpy argmax (first maximum in (scale, shift)
    order; pairs without energy or without an allowed cell give -inf at (0, 0))."""
    from vidprint.tmk._kernels import best_cosine

    rng = np.random.default_rng(7)
    n, s_, c_ = 5, 4, 9
    num = np.round(rng.standard_normal((n, s_, c_)), 1)  # rounded: ties occur
    den = np.abs(rng.standard_normal((1, s_, c_))) + 0.5
    den[0, 0, :3] = 0.0  # no energy there: never chosen
    energy = np.array([1.0, 2.0, 0.0, 0.5, 1.0])
    allowed = rng.random((s_, c_)) > 0.3
    best, si, ci = np.empty(n), np.empty(n, np.int64), np.empty(n, np.int64)
    best_cosine(num, den, np.zeros(n, np.int64), energy, allowed, best, si, ci)
    for i in range(n):
        ok = allowed & (den[0] > 1e-12 * energy[i]) & (energy[i] > 0)
        cos = np.where(ok, num[i] / np.sqrt(np.where(ok, den[0] * energy[i], 1.0)), -np.inf)
        flat = int(np.argmax(cos))
        assert best[i] == cos.flat[flat] and (si[i], ci[i]) == divmod(flat, c_) or \
            (not np.isfinite(cos).any() and best[i] == -np.inf and (si[i], ci[i]) == (0, 0))
    assert best[2] == -np.inf
    # rows picked per pair: the same as one shared row
    b2 = np.empty(n)
    best_cosine(num, np.concatenate([den * 3.0, den]), np.ones(n, np.int64), energy, allowed, b2, si, ci)
    np.testing.assert_array_equal(b2, best)
