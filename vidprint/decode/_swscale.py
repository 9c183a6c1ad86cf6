"""libswscale's scaled YUV 4:2:0 -> RGB24 conversion, re-implemented bit for bit (FFmpeg 4.1 - 6.1).

The reference frame sources scale with libswscale: TMK with the ffmpeg CLI's default ``bicubic`` to
64x64 (spec ALGORITHMS.md §2.2), vPDQ's ``-s 128`` files with ``SWS_LANCZOS`` (current code:
``SWS_AREA``) to 128x128 (§3.1, §3.6). This module rebuilds the fixed-point filters exactly as
libswscale's ``initFilter`` does and reproduces its integer pipeline:

1. horizontal scale of each 8-bit source row to 15-bit intermediates,
   ``min((sum_j src[pos + j] * coef[j]) >> 7, 32767)`` with 14-bit coefficients (``hScale8To15``);
2. vertical scale with 12-bit coefficients and the packed-RGB writer (``yuv2rgb_X_c``):
   ``Y = ((1 << 18) + sum_j line_j * coef_j) >> 19``, the same for U and V; each chroma sample serves
   two output pixels (no ``SWS_FULL_CHR_H_INT`` for rgb24 with an even width);
3. RGB from swscale's lookup tables (``ff_yuv2rgb_c_init_tables``, 24 bpp): a clipped luma ramp
   indexed by ``Y`` plus a per-U / per-V offset, BT.601 coefficients, limited or full range.

The packed rgb24 writer has no SIMD version in libswscale, and the x86 horizontal scalers are integer
exact, so the C and SIMD builds differ only in filter *alignment*: with x86 SIMD the horizontal filter
length is rounded up to a multiple of 4 and the vertical one to a multiple of 2, and the rounding keeps
small tail coefficients that the C build trims (``x86_simd`` below). For 480x720 sources the two agree.

Modules: filters are built once per geometry in C-like integer arithmetic
(:mod:`vidprint.decode._swscale_filters`); the horizontal pass is an LLVM vector kernel
(:mod:`vidprint.decode._hscale_simd`); the vertical pass, the RGB lookup and the public API are here.
Only the source rows that the vertical filter reads are scaled horizontally, and the fused luma kernel
never stores an RGB frame: it turns each output row straight into PDQ luma
``(0.299f*R + 0.587f*G) + 0.114f*B`` in float32 (§1.2).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from vidprint.decode._hscale_simd import hscale_plane as _hscale_plane
from vidprint.decode._swscale_filters import METHODS, ScaleFilters, scale_filters
from vidprint.decode.luma import luma_f32

__all__ = [
    "ScaleFilters",
    "scale_filters",
    "scale_yuv420p_to_luma",
    "scale_yuv420p_to_rgb24",
    "METHODS",
]

# Vertical pass: float64 accumulation (products < 2**28, sums < 2**33: exact) vectorised across columns.


@njit(cache=True, nogil=True)
def _chunk(padded_taps):
    """Vector load width used for a filter padded to ``padded_taps`` (see :func:`_padded_taps`)."""
    return padded_taps if padded_taps < 32 else 32


@njit(cache=True, nogil=True)
def _vscale_row(lines, pos, coef, y, acc, out):
    """Vertical filter of output row ``y``: ``out[x] = ((1 << 18) + sum_j coef[y, j] * line_j[x]) >> 19``.

    Four taps per pass over the row (fewer accumulator round trips); float64 keeps every sum exact.
    """
    p = pos[y]
    n = out.shape[0]
    taps = coef.shape[1]
    for x in range(n):
        acc[x] = 262144.0
    j = 0
    while j + 4 <= taps:
        c0 = np.float64(coef[y, j])
        c1 = np.float64(coef[y, j + 1])
        c2 = np.float64(coef[y, j + 2])
        c3 = np.float64(coef[y, j + 3])
        l0 = lines[p + j]
        l1 = lines[p + j + 1]
        l2 = lines[p + j + 2]
        l3 = lines[p + j + 3]
        for x in range(n):
            acc[x] += (c0 * np.float64(l0[x]) + c1 * np.float64(l1[x])) + (c2 * np.float64(l2[x]) + c3 * np.float64(l3[x]))
        j += 4
    while j < taps:
        c0 = np.float64(coef[y, j])
        l0 = lines[p + j]
        for x in range(n):
            acc[x] += c0 * np.float64(l0[x])
        j += 1
    for x in range(n):
        out[x] = np.int32(math.floor(acc[x] * (1.0 / 524288.0)))


@njit(cache=True, nogil=True)
def _scale_core(y_plane, u_plane, v_plane, src_w, src_h, dst_w,
                hl_pos, hl_coef, hc_pos, hc_coef, vl_pos, vl_coef, vc_pos, vc_coef,
                lum_rows, chr_rows, ramp, r_idx, gu_idx, gv_idx, b_idx, rgb_out, luma_out):
    """Shared pipeline; writes ``rgb_out`` (uint8[h, w, 3]) or, if that is empty, ``luma_out``."""
    dst_h = vl_pos.shape[0]
    chr_w = (dst_w + 1) >> 1
    chr_src_w = (src_w + 1) >> 1
    chr_src_h = (src_h + 1) >> 1
    lum = np.empty((src_h, hl_pos.shape[0]), dtype=np.int32)
    cu = np.empty((chr_src_h, hc_pos.shape[0]), dtype=np.int32)
    cv = np.empty((chr_src_h, hc_pos.shape[0]), dtype=np.int32)
    _hscale_plane(y_plane, src_w, lum_rows, hl_pos, hl_coef, _chunk(hl_coef.shape[1]), lum)
    _hscale_plane(u_plane, chr_src_w, chr_rows, hc_pos, hc_coef, _chunk(hc_coef.shape[1]), cu)
    _hscale_plane(v_plane, chr_src_w, chr_rows, hc_pos, hc_coef, _chunk(hc_coef.shape[1]), cv)

    acc = np.empty(dst_w, dtype=np.float64)
    yy = np.empty(dst_w, dtype=np.int32)
    uu = np.empty(chr_w, dtype=np.int32)
    vv = np.empty(chr_w, dtype=np.int32)
    want_rgb = rgb_out.shape[0] > 0
    top = ramp.shape[0] - 1
    for oy in range(dst_h):
        _vscale_row(lum, vl_pos, vl_coef, oy, acc, yy)
        _vscale_row(cu, vc_pos, vc_coef, oy, acc, uu)
        _vscale_row(cv, vc_pos, vc_coef, oy, acc, vv)
        for ox in range(dst_w):
            cx = ox >> 1
            u8 = min(max(uu[cx], 0), 255)
            v8 = min(max(vv[cx], 0), 255)
            luma = yy[ox]
            r = ramp[min(max(r_idx[v8] + luma, 0), top)]
            g = ramp[min(max(gu_idx[u8] + gv_idx[v8] + luma, 0), top)]
            b = ramp[min(max(b_idx[u8] + luma, 0), top)]
            if want_rgb:
                rgb_out[oy, ox, 0] = r
                rgb_out[oy, ox, 1] = g
                rgb_out[oy, ox, 2] = b
            else:
                luma_out[oy, ox] = luma_f32(np.float32(r), np.float32(g), np.float32(b))


_NO_RGB = np.zeros((0, 0, 3), dtype=np.uint8)
_NO_LUMA = np.zeros((0, 0), dtype=np.float32)


def _check_planes(y: np.ndarray, u: np.ndarray, v: np.ndarray, width: int, height: int,
                  filters: ScaleFilters) -> None:
    if (width, height) != (filters.src_w, filters.src_h):
        raise ValueError(f"frame is {width}x{height} but the filters were built for "
                         f"{filters.src_w}x{filters.src_h}")
    cw, ch = (width + 1) >> 1, (height + 1) >> 1
    for name, plane, (need_h, need_w) in (("y", y, (height, width)), ("u", u, (ch, cw)), ("v", v, (ch, cw))):
        if plane.dtype != np.uint8 or plane.ndim != 2 or plane.shape[0] < need_h or plane.shape[1] < need_w:
            raise ValueError(f"{name} plane must be uint8[>={need_h}, >={need_w}], got "
                             f"{plane.dtype}{list(plane.shape)}")
        if plane.strides[1] != 1:
            raise ValueError(f"{name} plane rows must be contiguous")


def _run(y, u, v, width, height, f: ScaleFilters, rgb_out, luma_out) -> None:
    _scale_core(y, u, v, width, height, f.dst_w, f.h_lum_pos_pad, f.h_lum_coef_pad, f.h_chr_pos_pad,
                f.h_chr_coef_pad,
                f.v_lum_pos, f.v_lum_coef, f.v_chr_pos, f.v_chr_coef, f.lum_rows, f.chr_rows,
                f.ramp, f.r_idx, f.gu_idx, f.gv_idx, f.b_idx, rgb_out, luma_out)


def scale_yuv420p_to_luma(y: np.ndarray, u: np.ndarray, v: np.ndarray, width: int, height: int,
                          filters: ScaleFilters, out: np.ndarray | None = None) -> np.ndarray:
    """Scale a yuv420p frame with libswscale's arithmetic and return its PDQ luma.

    ``y`` is ``uint8[>=height, >=width]``, ``u`` and ``v`` ``uint8[>=ceil(height/2), >=ceil(width/2)]``
    (extra columns, e.g. PyAV's line padding, are ignored). Returns ``out``, a C-contiguous
    ``float32[dst_h, dst_w]`` holding ``(0.299f*R + 0.587f*G) + 0.114f*B`` of the RGB24 pixels
    swscale would produce. No RGB frame is materialised.
    """
    _check_planes(y, u, v, width, height, filters)
    if out is None:
        out = np.empty((filters.dst_h, filters.dst_w), dtype=np.float32)
    elif out.shape != (filters.dst_h, filters.dst_w) or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous float32[{filters.dst_h}, {filters.dst_w}]")
    _run(y, u, v, width, height, filters, _NO_RGB, out)
    return out


def scale_yuv420p_to_rgb24(y: np.ndarray, u: np.ndarray, v: np.ndarray, width: int, height: int,
                           filters: ScaleFilters, out: np.ndarray | None = None) -> np.ndarray:
    """Scale a yuv420p frame to RGB24 exactly as libswscale does; returns ``uint8[dst_h, dst_w, 3]``.

    Plane conventions as in :func:`scale_yuv420p_to_luma`.
    """
    _check_planes(y, u, v, width, height, filters)
    shape = (filters.dst_h, filters.dst_w, 3)
    if out is None:
        out = np.empty(shape, dtype=np.uint8)
    elif out.shape != shape or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous uint8{list(shape)}")
    _run(y, u, v, width, height, filters, out, _NO_LUMA)
    return out

