"""Hash-list poisoning: every hash file that is read is validated, and no out-of-range score decides.

A shared hash list with one damaged or forged entry must not match every upload: a ``.tmk`` or
``.vptc`` either is refused when read (:class:`HashFileError`), or scores within its documented range
and does not match unrelated videos. Bit flips are seeded, inside the float arrays of real files.
"""
from __future__ import annotations

import struct

import numpy as np
import pytest

from conftest import SHARED
import vidprint
import vidprint.tmk as tmk
from vidprint.errors import HashFileError
from vidprint.synth import make_video
from vidprint.tmk.compact import HEADER_SIZE as VPTC_HEADER
from vidprint.tmk.compact import LEVEL1_DIM, CompactDescriptor
from vidprint.tmk.compact_scoring import compact_is_match, compact_score
from vidprint.tmk.descriptor import HEADER_SIZE, TMKDescriptor
from vidprint.tmk.score import TMKScore
from vidprint.vpdq.textformat import parse_text

REAL = SHARED / "reference-data" / "real-world"
SEEDS = range(150)


def _real_tmk(name: str) -> bytes:
    p = REAL / f"{name}.tmk"
    if not p.is_file():
        pytest.skip(f"reference .tmk not found: {p}")
    return p.read_bytes()


def _flip_floats(data: bytes, start: int, seed: int, flips: int) -> bytes:
    """Flip ``flips`` random bits of random float32 values at or after byte ``start``."""
    rng = np.random.default_rng(seed)
    out = bytearray(data)
    n = (len(data) - start) // 4
    for k in rng.integers(0, n, flips):
        pos = start + 4 * int(k) + int(rng.integers(0, 4))
        out[pos] ^= 1 << int(rng.integers(0, 8))
    return bytes(out)


def test_bit_flipped_tmk_is_refused_or_scores_in_range_and_never_matches_unrelated():
    good = _real_tmk("debian__lightsoff__lightsoff")
    unrelated = tmk.read(_real_tmk("debian__coccinella__FakeSample"))
    original = tmk.read(good)
    p, m, d = original.shape
    floats_start = HEADER_SIZE + 4 * p  # after the header and the int32 periods
    refused = accepted = 0
    for seed in SEEDS:
        flipped = _flip_floats(good, floats_start, seed, flips=1 + seed % 4)
        try:
            desc = tmk.read(flipped)
        except HashFileError as exc:
            assert exc.source and exc.reason
            refused += 1
            continue
        accepted += 1
        for other in (unrelated, original):
            try:
                s = tmk.score(desc, other)
            except tmk.IncompatibleDescriptorsError:
                continue  # a flipped coefficient: a clear refusal to compare
            assert s.problem is None, (seed, s)
            assert -1.001 <= s.level1 <= 1.001 and -1.001 <= s.level2 <= 1.001, (seed, s)
        try:
            assert not tmk.is_match(tmk.score(desc, unrelated)), seed
        except tmk.IncompatibleDescriptorsError:
            pass
    assert refused and accepted  # both branches exercised (sign and low-mantissa flips survive)


def test_issue_example_huge_float_is_refused():
    good = bytearray(_real_tmk("debian__lightsoff__lightsoff"))
    p = struct.unpack_from("<i", good, 16)[0]
    m = struct.unpack_from("<i", good, 20)[0]
    d = struct.unpack_from("<i", good, 24)[0]
    cos0 = HEADER_SIZE + 4 * (p + m + d)
    struct.pack_into("<f", good, cos0 + 40, 3.2e33)
    with pytest.raises(HashFileError, match="squared norm"):
        tmk.read(bytes(good))
    avg0 = HEADER_SIZE + 4 * (p + m)
    good2 = bytearray(_real_tmk("debian__lightsoff__lightsoff"))
    struct.pack_into("<f", good2, avg0, 1e30)
    with pytest.raises(HashFileError, match="pure-average"):
        tmk.read(bytes(good2))


def test_out_of_range_scores_never_match():
    for l1, l2 in ((1.0, 3.2e33), (float("nan"), 1.0), (1.0, float("nan")), (2.0, 0.9), (1.0, float("inf"))):
        s = TMKScore(level1=l1, level2=l2, period=1, offset=0)
        assert s.problem is not None and "outside its range" in s.problem
        assert not tmk.is_match(s, 0.0, 0.0)
    assert tmk.is_match(TMKScore(level1=0.9, level2=0.8, period=1, offset=0))


def test_nan_descriptor_in_memory_never_matches():
    d = tmk.read(_real_tmk("debian__lightsoff__lightsoff"))
    cos = d.cos.copy()
    cos[0, 0, 0] = np.nan
    bad = TMKDescriptor(d.fps, d.periods, d.coefficients, d.frame_count, d.average, cos, d.sin)
    s = tmk.score(bad, bad)  # a NaN self-score
    assert s.problem is not None and not tmk.is_match(s)
    with pytest.raises(HashFileError, match="non-finite"):
        tmk.read(bad.to_bytes())


@pytest.mark.parametrize("make, reason", [
    (lambda g: g[:20], "truncated header"),
    (lambda g: g[: len(g) // 2], "truncated"),
    (lambda g: g + b"\0", "trailing"),
    (lambda g: np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes(), "magic"),
    (lambda g: g[:16] + struct.pack("<iiii", 1 << 30, 1 << 30, 1 << 30, 5) + g[32:], "truncated"),
    (lambda g: g[:32] + g[32:].replace(g[-400:-396], struct.pack("<f", float("nan"))), "non-finite"),
], ids=["short-header", "half", "trailing", "garbage", "huge-header", "nan"])
def test_malformed_tmk_is_refused(make, reason):
    good = _real_tmk("debian__lightsoff__lightsoff")
    with pytest.raises(HashFileError, match=reason) as err:
        tmk.read(make(good))
    assert err.value.source


@pytest.fixture(scope="module")
def compacts():
    """Compact descriptors of two unrelated synthetic videos."""
    return [vidprint.fingerprint(make_video(seed, seconds=2.0, size=(96, 64)), vpdq=False).compact
            for seed in (21, 22)]


def test_bit_flipped_vptc_is_refused_or_scores_in_range_and_never_matches_unrelated(compacts):
    a, unrelated = compacts
    good = a.to_bytes()
    assert not compact_is_match(compact_score(a, unrelated))
    scales_start = VPTC_HEADER + LEVEL1_DIM
    refused = accepted = 0
    for seed in SEEDS:
        flipped = _flip_floats(good, scales_start, seed, flips=1 + seed % 4)
        try:
            desc = CompactDescriptor.from_bytes(flipped)
        except HashFileError:
            refused += 1
            continue
        accepted += 1
        s = compact_score(desc, unrelated)
        assert np.isfinite([s.level1, s.level2]).all() and -1.001 <= s.level2 <= 1.001, (seed, s)
        assert not compact_is_match(s), (seed, s)
    assert refused and accepted


def test_vptc_huge_scale_is_refused(compacts):
    good = bytearray(compacts[0].to_bytes())
    struct.pack_into("<f", good, VPTC_HEADER + LEVEL1_DIM, 3.3e38)
    with pytest.raises(HashFileError, match="scale"):
        CompactDescriptor.from_bytes(bytes(good))


HEX = "a" * 64


@pytest.mark.parametrize("text, line, reason", [
    (f"0,100,{HEX},0.000\n100000000000000000000000,100,{HEX},0.033\n", 2, "too large"),
    (f"0,100,{HEX},nan\n", 1, "finite"),
    (f"0,100,{HEX[:40]}\n", 1, "field"),
    ("\x00\x01garbage\n", 1, "field"),
    (f"0,100,{HEX},0.000\n1,100,{HEX[:10]}", 2, "field"),
    (f"0,1000,{HEX},0.000\n", 1, "quality"),
], ids=["frame-1e23", "nan-time", "short-hash", "garbage", "truncated", "quality"])
def test_malformed_vpdq_is_refused_with_line(text, line, reason):
    with pytest.raises(HashFileError, match=reason) as err:
        parse_text(text, "list.txt")
    assert err.value.line == line and err.value.source == "list.txt"
