"""End to end against the reference implementation's own outputs: decode -> luma -> PDQ / PDQF -> files.

The native chair vPDQ files and the `-128x128` files were made by libswscale's plain C path and its
LANCZOS scaler; the `.tmk` files by FFmpeg 4.1's bicubic 64x64 frames. vidprint reproduces all of
them from the decoded YUV with its own kernels (spec §2.2, §3.6, §7).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from conftest import CHAIRS, REF, VIDEOS, need_shared
from vidprint.pipeline import fingerprint
from vidprint.pdqf.hash import hamming
import vidprint.tmk as tmk
import vidprint.vpdq as vpdq


@functools.lru_cache(maxsize=None)
def _fp(name: str, **kw):
    return fingerprint(VIDEOS / f"{name}.mp4", **kw)


def _distances(ours, ref):
    assert len(ours) == len(ref)
    np.testing.assert_array_equal(ours.frame_numbers, ref.frame_numbers)
    return hamming(ours.words, ref.words)


@pytest.mark.parametrize("name", CHAIRS or ["(no reference data)"])
def test_native_vpdq_is_bit_exact(name):
    need_shared()
    ours = _fp(name).vpdq
    ref = vpdq.read(REF / "vpdq" / f"{name}.txt")
    d = _distances(ours, ref)
    assert int(d.max()) == 0, f"{(d > 0).sum()} of {len(d)} frames differ"
    np.testing.assert_array_equal(ours.quality, ref.quality)
    assert vpdq.to_text(ours) == (REF / "vpdq" / f"{name}.txt").read_text()


@pytest.mark.parametrize("name", CHAIRS or ["(no reference data)"])
def test_tmk_equals_reference_file(name):
    need_shared()
    ours = _fp(name).tmk
    ref = tmk.read(REF / "tmk" / f"{name}.tmk")
    assert ours.to_bytes()[:32] == ref.to_bytes()[:32]  # header, frame count included
    s = tmk.score(ours, ref)
    assert s.level1 >= 0.99999 and s.level2 >= 0.99999
    a = np.concatenate([ours.average.ravel(), ours.cos.ravel(), ours.sin.ravel()])
    b = np.concatenate([ref.average.ravel(), ref.cos.ravel(), ref.sin.ravel()])
    # the reference's --strict element check (tmk-compare-two-tmks), on every element
    strict = np.abs(a - b) <= 0.08 * np.maximum(np.abs(a), np.abs(b))
    assert strict.all(), f"{(~strict).sum()} of {strict.size} elements beyond 0.08"
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("name", CHAIRS[:3] or ["(no reference data)"])
def test_downscaled_128_lanczos_exact_and_area_within_tolerance(name):
    """The -128x128 files predate the reference's switch to AREA: LANCZOS is exact, AREA within 31."""
    need_shared()
    ref = vpdq.read(REF / "vpdq" / f"{name}-128x128.txt")
    lanczos = _fp(name, tmk=False, size=128, scaler="lanczos").vpdq
    assert int(_distances(lanczos, ref).max()) == 0
    area = _fp(name, tmk=False, size=128).vpdq
    d = _distances(area, ref)
    both = (area.quality >= 50) & (ref.quality >= 50)
    assert d[both].max() < 31
    assert np.median(d) <= 4  # measured: median 2, max 10
    assert area.size == (128, 128)


def test_padded_dimensions_within_reference_tolerance():
    """test-padded-dimensions.txt came from libswscale's x86 SIMD path; vidprint follows the C path."""
    need_shared()
    ours = _fp("test-padded-dimensions", tmk=False).vpdq
    ref = vpdq.read(REF / "vpdq" / "test-padded-dimensions.txt")
    d = _distances(ours, ref)
    both = (ours.quality >= 50) & (ref.quality >= 50)
    assert d[both].max() < 31
    assert d.max() <= 6  # the spec's measured SIMD-vs-C distance; here: 48% exact, max 4
    np.testing.assert_array_equal(ours.quality, ref.quality)


def test_every_second_sampling_matches_reference_choice():
    need_shared()
    name = CHAIRS[1] if len(CHAIRS) > 1 else pytest.skip("no chair videos")
    every = fingerprint(VIDEOS / f"{name}.mp4", tmk=False, every_seconds=1.0).vpdq
    full = _fp(name).vpdq
    keep = full.frame_numbers % 30 == 0
    np.testing.assert_array_equal(every.frame_numbers, full.frame_numbers[keep])
    np.testing.assert_array_equal(every.words, full.words[keep])
    assert every.every_seconds == 1.0
