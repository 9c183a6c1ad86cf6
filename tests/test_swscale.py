"""libswscale re-implementation (vidprint.decode._swscale): filters, exact pixels, TMK acceptance.

Expected pixel values come from the real libswscale 7.5 (FFmpeg 6.1, via PyAV 12.0), recorded with
``tests/record_swscale_expectations.py`` (run it to print the tables again and compare them with the
installed libswscale); ``test_installed_libswscale_c_path_matches`` also derives them live. The PDQF
check compares with the reference ``.tmk`` of ThreatExchange.
"""
from __future__ import annotations

import hashlib
import json
import math
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vidprint.decode._swscale import (
    scale_filters,
    scale_yuv420p_to_luma,
    scale_yuv420p_to_rgb24,
)

from conftest import REF  # $VIDPRINT_SHARED or ../shared

GEOMETRIES = [
    (480, 720, 64, 64, "bicubic"),
    (480, 720, 128, 128, "area"),
    (480, 720, 128, 128, "lanczos"),
    (1080, 1080, 64, 64, "bicubic"),
    (1920, 1080, 64, 64, "bicubic"),
    (1280, 720, 128, 128, "lanczos"),
]


# The inputs also fed to the real libswscale by record_swscale_expectations.py (same functions).
from swscale_inputs import constant_planes as _planes  # noqa: E402
from swscale_inputs import random_planes as _random_planes  # noqa: E402


# ------------------------------------------------------------------------------------------------
# Filters


@pytest.mark.parametrize("geom", GEOMETRIES)
def test_filter_rows_are_normalised_and_inside_the_source(geom):
    sw, sh, dw, dh, method = geom
    f = scale_filters(sw, sh, dw, dh, method)
    cw, ch = (sw + 1) // 2, (sh + 1) // 2
    for pos, coef, n_src, one in (
        (f.h_lum_pos, f.h_lum_coef, sw, 1 << 14),
        (f.h_chr_pos, f.h_chr_coef, cw, 1 << 14),
        (f.v_lum_pos, f.v_lum_coef, sh, 1 << 12),
        (f.v_chr_pos, f.v_chr_coef, ch, 1 << 12),
    ):
        assert (coef.sum(axis=1) == one).all()
        assert pos.min() >= 0 and (pos + coef.shape[1]).max() <= n_src
        assert (np.diff(pos) >= 0).all()
    assert f.h_lum_pos.shape == (dw,) and f.h_chr_pos.shape == (dw // 2,)
    assert f.v_lum_pos.shape == (dh,) and f.v_chr_pos.shape == (dh,)


def _keys(d: float, b: float = 0.0, c: float = 0.6) -> float:
    """The B,C cubic of libswscale's SWS_BICUBIC, in floating point."""
    d = abs(d)
    if d < 1:
        return ((12 - 9 * b - 6 * c) * d**3 + (-18 + 12 * b + 6 * c) * d**2 + (6 - 2 * b)) / 6
    if d < 2:
        return ((-b - 6 * c) * d**3 + (6 * b + 30 * c) * d**2 + (-12 * b - 48 * c) * d + (8 * b + 24 * c)) / 6
    return 0.0


def test_bicubic_taps_match_the_continuous_kernel():
    # 480 -> 64: output x is centred on source (x + 0.5) * 7.5 - 0.5, kernel stretched by 7.5.
    f = scale_filters(480, 720, 64, 64, "bicubic")
    scale = 480 / 64
    for x in range(3, 61):  # away from the folded borders
        centre = (x + 0.5) * scale - 0.5
        src = f.h_lum_pos[x] + np.arange(f.h_lum_coef.shape[1])
        w = np.array([_keys((s - centre) / scale) for s in src])
        w /= w.sum()
        assert np.abs(f.h_lum_coef[x] / 16384.0 - w).max() <= 2.5 / 16384


def test_x86_simd_alignment_keeps_tail_taps():
    c_path = scale_filters(1080, 1080, 128, 128, "lanczos", x86_simd=False)
    simd = scale_filters(1080, 1080, 128, 128, "lanczos", x86_simd=True)
    assert simd.h_chr_coef.shape[1] % 4 == 0 and simd.v_chr_coef.shape[1] % 2 == 0
    assert simd.h_chr_coef.shape[1] > c_path.h_chr_coef.shape[1]


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        scale_filters(480, 720, 63, 64, "bicubic")
    with pytest.raises(ValueError):
        scale_filters(480, 720, 64, 64, "sinc")
    f = scale_filters(480, 720, 64, 64, "bicubic")
    y, u, v = _planes(480, 720, 1, 2, 3)
    with pytest.raises(ValueError):
        scale_yuv420p_to_rgb24(y, u, v, 482, 720, f)
    with pytest.raises(ValueError):
        scale_yuv420p_to_luma(y[:, :400], u, v, 480, 720, f)


# ------------------------------------------------------------------------------------------------
# Exact pixels


def _gray_by_hand(y: int) -> int:
    """libswscale's limited-range 24-bit table for U = V = 128, written out from its formula:
    ramp[k] = clip((k*cy - 512*cy - (384 << 16) - (16 << 16) + 0x8000) >> 16), k = 326 + 512 + Y,
    cy = (65536 * 255) // 219. (Its origin makes white Y=235 come out as 253, not 255.)"""
    cy = (65536 * 255) // 219
    k = 326 + 512 + y
    return min(max((k * cy - 512 * cy - (400 << 16) + 0x8000) >> 16, 0), 255)


def test_constant_gray_frames_follow_the_table_formula():
    f = scale_filters(480, 720, 64, 64, "bicubic")
    for yv in range(0, 256, 3):
        rgb = scale_yuv420p_to_rgb24(*_planes(480, 720, yv, 128, 128), 480, 720, f)
        assert (rgb == _gray_by_hand(yv)).all(), yv


# (format, Y, U, V) -> RGB of a constant 480x720 frame, from libswscale 7.5 (PyAV 12.0), bicubic 64x64
LIBSWSCALE_CONSTANTS = {
    ("yuv420p", 16, 128, 128): (0, 0, 0),
    ("yuv420p", 235, 128, 128): (253, 253, 253),
    ("yuv420p", 128, 128, 128): (129, 129, 129),
    ("yuv420p", 81, 90, 240): (252, 0, 0),
    ("yuv420p", 145, 54, 34): (0, 254, 0),
    ("yuv420p", 41, 240, 110): (0, 0, 253),
    ("yuv420p", 0, 0, 0): (0, 136, 0),
    ("yuv420p", 255, 255, 255): (255, 124, 255),
    ("yuv420p", 100, 200, 50): (0, 132, 242),
    ("yuvj420p", 16, 128, 128): (16, 16, 16),
    ("yuvj420p", 235, 128, 128): (235, 235, 235),
    ("yuvj420p", 81, 90, 240): (238, 15, 14),
    ("yuvj420p", 145, 54, 34): (13, 238, 14),
    ("yuvj420p", 41, 240, 110): (16, 16, 240),
    ("yuvj420p", 0, 0, 0): (0, 137, 0),
    ("yuvj420p", 255, 255, 255): (255, 121, 255),
    ("yuvj420p", 100, 200, 50): (0, 132, 228),
}


@pytest.mark.parametrize("key", sorted(LIBSWSCALE_CONSTANTS))
def test_constant_frames_match_libswscale(key):
    fmt, yv, uv, vv = key
    f = scale_filters(480, 720, 64, 64, "bicubic", full_range=fmt == "yuvj420p")
    rgb = scale_yuv420p_to_rgb24(*_planes(480, 720, yv, uv, vv), 480, 720, f)
    assert (rgb == np.array(LIBSWSCALE_CONSTANTS[key], np.uint8)).all()


# sha256 of the rgb24 output for _random_planes(w, h), from libswscale 7.5 (PyAV 12.0); x86 SIMD build
# and plain C (av_force_cpu_flags(0)) agree except for the 1080x1080 Lanczos case (filter alignment).
LIBSWSCALE_RANDOM = {
    (480, 720, 64, "bicubic", True): "cfeac2fa8c14c2ecc0a8a0209cc342a3043162c0db3bb9395304de7c3d49a43d",
    (480, 720, 128, "area", True): "4b4266b2f34bb8c2b9e8abee9ef341d173efc17be53101bedd6b9fcbedfba512",
    (480, 720, 128, "lanczos", True): "b135306d90b57f05505c56f01a56ed05069e2902d25c2285decd3ed687962d02",
    (1080, 1080, 64, "bicubic", True): "57c00e2c8cfe4a1b6f4e32b06983b185898ecf1e580c2a77d76a2a76957005a2",
    (1080, 1080, 128, "area", True): "522ae101807ce58b6f246bab901159e73f02e6ce4467797615bae37124fe558e",
    (1080, 1080, 128, "lanczos", True): "27b29f209c7f85a1db6843aa16b48078e7667aa35971e0c24cf32d0081f02cfb",
    (1080, 1080, 128, "lanczos", False): "899b760b0a2ecef04a11a61cd4d42f75b6dcc25475e40575a4ea09a9bfeedcce",
}


@pytest.mark.parametrize("key", sorted(LIBSWSCALE_RANDOM, key=str))
def test_random_frames_match_libswscale(key):
    w, h, size, method, simd = key
    y, u, v = _random_planes(w, h)
    rgb = scale_yuv420p_to_rgb24(y, u, v, w, h, scale_filters(w, h, size, size, method, x86_simd=simd))
    assert rgb.shape == (size, size, 3)
    assert hashlib.sha256(rgb.tobytes()).hexdigest() == LIBSWSCALE_RANDOM[key]


# libswscale major versions whose C path record_swscale_expectations.py found to agree with every entry
# of the two tables above: 7 (7.5, FFmpeg 6.1: the recording) and 9 (9.5, FFmpeg 8.0, PyAV 18.1).
VERIFIED_LIBSWSCALE_MAJORS = (7, 9)
_RECORDER = Path(__file__).resolve().parent / "record_swscale_expectations.py"


def test_installed_libswscale_c_path_matches():
    """The same expectations derived live from the installed libswscale, C path forced (in a subprocess:
    ``av_force_cpu_flags`` is process-wide), compared with vidprint's plain-C filter layout."""
    av = pytest.importorskip("av")
    major = av.library_versions["libswscale"][0]
    if major not in VERIFIED_LIBSWSCALE_MAJORS:
        pytest.skip(f"installed libswscale {major}.x is not among the versions checked to agree with the "
                    f"recorded table {VERIFIED_LIBSWSCALE_MAJORS}; run tests/record_swscale_expectations.py")
    proc = subprocess.run([sys.executable, str(_RECORDER), "--cpu", "c", "--json"], capture_output=True,
                          text=True, timeout=120)
    # a crash of the recorder is a failure, never a skip
    assert proc.returncode == 0, f"recorder exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    live = json.loads(proc.stdout.strip().splitlines()[-1])
    if "cannot_force_c_path" in live:
        pytest.skip(f"cannot force FFmpeg's C path on this platform: {live['cannot_force_c_path']}")
    assert live["cpu_flags"] == 0

    assert len(live["constants"]) == len(LIBSWSCALE_CONSTANTS)
    for (fmt, yv, uv, vv), rgb, uniform in live["constants"]:
        assert uniform, (fmt, yv, uv, vv)
        f = scale_filters(480, 720, 64, 64, "bicubic", full_range=fmt == "yuvj420p", x86_simd=False)
        ours = scale_yuv420p_to_rgb24(*_planes(480, 720, yv, uv, vv), 480, 720, f)
        assert (ours == np.array(rgb, np.uint8)).all(), (fmt, yv, uv, vv)

    assert len(live["random"]) == 6
    for (w, h, size, method), digest in live["random"]:
        f = scale_filters(w, h, size, size, method, x86_simd=False)
        ours = scale_yuv420p_to_rgb24(*_random_planes(w, h), w, h, f)
        assert hashlib.sha256(ours.tobytes()).hexdigest() == digest, (w, h, size, method)


@pytest.mark.parametrize("method,size", [("bicubic", 64), ("area", 128), ("lanczos", 128)])
def test_fused_luma_is_pdq_luma_of_the_rgb(method, size):
    y, u, v = _random_planes(480, 720, seed=7)
    f = scale_filters(480, 720, size, size, method)
    rgb = scale_yuv420p_to_rgb24(y, u, v, 480, 720, f).astype(np.float32)
    expect = (np.float32(0.299) * rgb[..., 0] + np.float32(0.587) * rgb[..., 1]) + np.float32(0.114) * rgb[..., 2]
    out = np.full((size, size), np.nan, np.float32)
    assert scale_yuv420p_to_luma(y, u, v, 480, 720, f, out) is out
    assert np.array_equal(out, expect)


def test_row_padding_is_ignored():
    y, u, v = _random_planes(480, 720, seed=3)
    f = scale_filters(480, 720, 64, 64, "bicubic")
    plain = scale_yuv420p_to_rgb24(y, u, v, 480, 720, f)
    pad = lambda a: np.pad(a, ((0, 0), (0, 32)), constant_values=255)  # noqa: E731
    assert np.array_equal(scale_yuv420p_to_rgb24(pad(y), pad(u), pad(v), 480, 720, f), plain)


# ------------------------------------------------------------------------------------------------
# TMK acceptance: mean PDQF of the CFR-selected 64x64 frames vs the sample .tmk pure average


def _dct_matrix() -> np.ndarray:
    c = float(np.float32(math.sqrt(2.0 / 64.0)))
    return np.array([[np.float32(c * math.cos(math.pi / 128 * (i + 1) * (2 * j + 1))) for j in range(64)]
                     for i in range(16)], dtype=np.float32)


def _cfr_15fps(pts_s: list[float], start_s: float, in_fps: float) -> list[int]:
    """ffmpeg's CFR frame choice for -r 15 (spec §2.2), for streams without usable frame durations."""
    chosen, n, prev = [], 0, None
    d = min(15.0 / in_fps, 1.0)
    for i, t in enumerate(pts_s):
        d0 = (t - start_s) * 15.0 - n
        dl = d0 + d
        if d0 < 0 < dl:
            d0 = 0.0
        c = 0 if dl < -1.1 else (round(dl) if dl > 1.1 else 1)
        dup_prev = min(round(d0 - 0.6), c) if (d0 > 1.1 and prev is not None) else 0
        chosen += [prev] * dup_prev + [i] * (c - dup_prev)
        n += c
        prev = i
    return chosen


def test_tmk_pure_average_of_chair19():
    av = pytest.importorskip("av")
    tmk = REF / "tmk" / "chair-19-sd-bar.tmk"
    video = REF / "videos" / "chair-19-sd-bar.mp4"
    if not tmk.is_file() or not video.is_file():
        pytest.skip(f"reference data not found under {REF}")
    raw = tmk.read_bytes()
    count = struct.unpack_from("<i", raw, 28)[0]
    ref_avg = np.frombuffer(raw, "<f4", 256, 176).astype(np.float64)

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        tb = float(stream.time_base)
        start = (container.start_time or 0) / 1e6
        fps = float(stream.average_rate)
        lumas, pts = [], []
        for frame in container.decode(stream):
            f = scale_filters(frame.width, frame.height, 64, 64, "bicubic")
            y, u, v = (np.frombuffer(p, np.uint8).reshape(-1, p.line_size) for p in frame.planes)
            lumas.append(scale_yuv420p_to_luma(y, u, v, frame.width, frame.height, f))
            pts.append(frame.pts * tb)
    chosen = _cfr_15fps(pts, start, fps)
    assert len(chosen) == count == 284
    assert chosen[:6] == [0, 1, 2, 3, 5, 7]

    d = _dct_matrix()
    pdqf = np.stack([((d @ lumas[i]) @ d.T).ravel() for i in chosen]).astype(np.float64)
    mean = pdqf.mean(axis=0)
    cosine = mean @ ref_avg / (np.linalg.norm(mean) * np.linalg.norm(ref_avg))
    assert cosine >= 0.9999999
    assert np.median(np.abs(mean - ref_avg) / np.abs(ref_avg)) < 2e-6
