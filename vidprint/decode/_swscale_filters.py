"""libswscale's filter construction (``initFilter``) for the scaled YUV 4:2:0 -> RGB24 conversion.

Filters are built once per geometry by Numba kernels in int64, as C does it (truncating division,
arithmetic shifts, double-precision kernels): see :mod:`vidprint.decode._swscale`
for the pipeline they feed and :func:`scale_filters` for the public entry point.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit

from vidprint.decode._cint import av_log2 as _av_log2
from vidprint.decode._cint import c_div as _c_div
from vidprint.decode._cint import rounded_div as _rounded_div
from vidprint.decode._hscale_simd import BLOCK_OUT, CHUNKS
from vidprint.decode._yuv2rgb import yuv_tables

METHODS = ("bicubic", "bilinear", "area", "lanczos")

# libswscale constants
_MAX_REDUCE_CUTOFF = 0.002  # SWS_MAX_REDUCE_CUTOFF
_MAX_FILTER_SIZE = 256  # SWS_MAX_FILTER_SIZE; longer filters make libswscale cascade two contexts
_LUMA_ONE = 1 << 14  # horizontal filter coefficients sum to this
_VERT_ONE = 1 << 12  # vertical filter coefficients sum to this


def _rgb_tables(full_range: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(ramp uint8[2048], r_idx, gu_idx, gv_idx, b_idx int32[256])``: libswscale's RGB lookup tables
    (``ff_yuv2rgb_c_init_tables``, 24 bpp, BT.601), the scaled path's view of
    :func:`vidprint.decode._yuv2rgb.yuv_tables` (the same tables serve the unscaled converter).

    For 8-bit ``Y`` and chroma ``U``, ``V`` clipped to 0..255 the output is
    ``R = ramp[r_idx[V] + Y]``, ``G = ramp[gu_idx[U] + gv_idx[V] + Y]``, ``B = ramp[b_idx[U] + Y]``.
    """
    t = yuv_tables(bool(full_range))
    ramp = t[0].astype(np.uint8)
    return ramp, *(np.ascontiguousarray(t[i, :256]) for i in (1, 2, 3, 4))



def _chroma_local_pos(subsample: int) -> int:
    """``get_local_pos`` for the default (unset, -513) chroma position."""
    pos = (128 << subsample) - 128
    return (pos + 128) >> subsample


# --------------------------------------------------------------------------------------------------
# Filter construction (initFilter)


_METHOD_CODE = {"area": 0, "bicubic": 1, "bilinear": 2, "lanczos": 3}
_SIZE_FACTOR = (1, 4, 2, 6)  # per method code: filter support in source samples per output step


@njit(cache=True, nogil=True)
def _raw_filter(x_inc, src_w, dst_w, method, fone, src_pos, dst_pos):
    """Unnormalised int64 filter taps ``(pos int64[dst_w], taps int64[dst_w, size])`` before trimming
    and border fixes; ``method`` is a :data:`_METHOD_CODE`. int64 arithmetic, as libswscale's C."""
    if abs(x_inc - 0x10000) < 10 and src_pos == dst_pos:  # unscaled
        pos = np.arange(dst_w).astype(np.int64)
        return pos, np.full((dst_w, 1), fone, dtype=np.int64)

    if x_inc <= 1 << 16 and method == 0:  # area upscaling is linear interpolation
        size = 2
        pos = np.empty(dst_w, dtype=np.int64)
        taps = np.empty((dst_w, size), dtype=np.int64)
        x = ((dst_pos * x_inc) >> 8) - ((src_pos * 0x8000) >> 7)
        for i in range(dst_w):
            xx = (x - ((size - 1) << 15) + (1 << 15)) >> 16
            pos[i] = xx
            for j in range(size):
                c = fone - abs(xx * (1 << 16) - x) * (fone >> 16)
                taps[i, j] = max(c, 0)
                xx += 1
            x += x_inc
        return pos, taps

    if x_inc <= 1 << 16:
        size = 1 + _SIZE_FACTOR[method]
    else:
        size = 1 + (_SIZE_FACTOR[method] * src_w + dst_w - 1) // dst_w
    size = max(min(size, src_w - 2), 1)

    bc_b = 0  # bicubic B, C = 0, 0.6 (libswscale's defaults), as int64(x * 2**24)
    bc_c = np.int64(0.6 * (1 << 24))
    pos = np.empty(dst_w, dtype=np.int64)
    taps = np.empty((dst_w, size), dtype=np.int64)
    x = ((dst_pos * x_inc) >> 7) - ((src_pos * 0x10000) >> 7)
    for i in range(dst_w):
        xx = _c_div(x - (size - 2) * (1 << 16), 1 << 17)
        pos[i] = xx
        for j in range(size):
            d = abs(xx * (1 << 17) - x) << 13
            if x_inc > 1 << 16:
                d = d * dst_w // src_w
            floatd = d * (1.0 / (1 << 30))
            c = 0
            if method == 1:  # bicubic
                if d < 1 << 31:
                    dd = (d * d) >> 30
                    ddd = (dd * d) >> 30
                    if d < 1 << 30:
                        c = ((12 * (1 << 24) - 9 * bc_b - 6 * bc_c) * ddd
                             + (-18 * (1 << 24) + 12 * bc_b + 6 * bc_c) * dd
                             + (6 * (1 << 24) - 2 * bc_b) * (1 << 30))
                    else:
                        c = ((-bc_b - 6 * bc_c) * ddd + (6 * bc_b + 30 * bc_c) * dd
                             + (-12 * bc_b - 48 * bc_c) * d + (8 * bc_b + 24 * bc_c) * (1 << 30))
                c = _c_div(c, (1 << 54) // fone)
            elif method == 0:  # area
                d2 = d - (1 << 29)
                if d2 * x_inc < -(1 << 45):
                    c = 1 << 46
                elif d2 * x_inc < (1 << 45):
                    c = -d2 * x_inc + (1 << 45)
                c *= fone >> 46
            elif method == 3:  # lanczos
                p = 3.0
                if d:
                    c = np.int64(math.sin(floatd * math.pi) * math.sin(floatd * math.pi / p)
                                 / (floatd * floatd * math.pi * math.pi / p) * fone)
                else:
                    c = fone
                if floatd > p:
                    c = 0
            else:  # bilinear
                c = max((1 << 30) - d, 0) * (fone >> 30)
            taps[i, j] = c
            xx += 1
        x += 2 * x_inc
    return pos, taps


@njit(cache=True, nogil=True)
def _trim(pos, f2, cutoff_limit):
    """Drop near-zero taps in place: shift each filter left past negligible leading taps (keeping
    the start positions monotonic); returns the longest significant length."""
    dst_w, size2 = f2.shape
    min_size = 0
    for i in range(dst_w - 1, -1, -1):
        keep = size2
        cut = 0
        for _ in range(size2):
            cut += abs(f2[i, 0])
            if float(cut) > cutoff_limit:
                break
            if i < dst_w - 1 and pos[i] >= pos[i + 1]:
                break
            for j in range(size2 - 1):
                f2[i, j] = f2[i, j + 1]
            f2[i, size2 - 1] = 0
            pos[i] += 1
        cut = 0
        for j in range(size2 - 1, 0, -1):
            cut += abs(f2[i, j])
            if float(cut) > cutoff_limit:
                break
            keep -= 1
        min_size = max(min_size, keep)
    return min_size


@njit(cache=True, nogil=True)
def _fix_and_normalise(pos, f2, size, src_w, one):
    """Fold taps outside the source onto the edge samples, then normalise every row to ``one``
    with error diffusion along the taps: ``(pos int32[dst_w], coef int32[dst_w, size])``."""
    dst_w, size2 = f2.shape
    filt = np.zeros((dst_w, size), dtype=np.int64)
    for i in range(dst_w):
        for j in range(min(size, size2)):
            filt[i, j] = f2[i, j]
    for i in range(dst_w):
        if pos[i] < 0:
            for j in range(1, size):
                left = max(j + pos[i], 0)
                filt[i, left] += filt[i, j]
                filt[i, j] = 0
            pos[i] = 0
        if pos[i] + size > src_w:
            shift = pos[i] + min(size - src_w, 0)
            acc = 0
            for j in range(size - 1, -1, -1):
                if pos[i] + j >= src_w:
                    acc += filt[i, j]
                    filt[i, j] = 0
            for j in range(size - 1, -1, -1):
                filt[i, j] = 0 if j < shift else filt[i, j - shift]
            pos[i] -= shift
            filt[i, src_w - 1 - pos[i]] += acc
    out = np.zeros((dst_w, size), dtype=np.int32)
    for i in range(dst_w):
        total = _c_div(filt[i].sum() + one // 2, one)
        if total == 0:
            total = 1
        err = 0
        for j in range(size):
            v = filt[i, j] + err
            q = _rounded_div(v, total)
            out[i, j] = q
            err = v - q * total
    return pos.astype(np.int32), out


def _init_filter(x_inc: int, src_w: int, dst_w: int, filter_align: int, one: int, method: str,
                 src_pos: int, dst_pos: int, x86_simd: bool) -> tuple[np.ndarray, np.ndarray]:
    """libswscale ``initFilter``: ``(pos int32[dst_w], coef int32[dst_w, size])``.

    Output ``i`` reads source samples ``pos[i] .. pos[i] + size - 1`` (always inside the source);
    each row of ``coef`` sums to ``one``. The loops are Numba kernels in int64, as the C code.
    """
    fone = 1 << (54 - min(_av_log2(src_w // dst_w), 8))
    pos, f2 = _raw_filter(x_inc, src_w, dst_w, _METHOD_CODE[method], fone, src_pos, dst_pos)
    min_size = _trim(pos, f2, _MAX_REDUCE_CUTOFF * fone)
    if x86_simd and min_size == 1 and filter_align == 2:
        filter_align = 1
    size = (min_size + filter_align - 1) & ~(filter_align - 1)
    if size >= _MAX_FILTER_SIZE:
        raise ValueError(f"swscale filter of {size} taps ({src_w} -> {dst_w}) needs a cascaded "
                         "context, which is not implemented")
    pos, out = _fix_and_normalise(pos, f2, size, src_w, one)
    if np.abs(out).max() > 32767:
        raise ValueError("swscale filter coefficient overflows int16")
    return pos, out


@dataclass(frozen=True)
class ScaleFilters:
    """Everything libswscale precomputes for one (source size, output size, scaler) conversion.

    ``*_pos`` are int32 start indices and ``*_coef`` int32 tap matrices (one row per output sample):
    ``h_lum`` over source columns (14-bit taps), ``h_chr`` over chroma columns for ``dst_w // 2``
    outputs, ``v_lum`` / ``v_chr`` over luma / chroma rows for ``dst_h`` outputs (12-bit taps).
    ``lum_rows`` / ``chr_rows`` (uint8[src rows]) flag the rows the vertical filters read.
    ``ramp`` and the ``*_idx`` arrays are the RGB lookup tables (see :func:`_rgb_tables`).
    ``h_*_pos_pad`` / ``h_*_coef_pad`` are the horizontal filters padded for the vector kernel
    (outputs to a multiple of 16, taps to 8, 16 or a multiple of 32, int16). All arrays are read-only.
    """

    src_w: int
    src_h: int
    dst_w: int
    dst_h: int
    method: str
    full_range: bool
    x86_simd: bool
    h_lum_pos: np.ndarray
    h_lum_coef: np.ndarray
    h_chr_pos: np.ndarray
    h_chr_coef: np.ndarray
    v_lum_pos: np.ndarray
    v_lum_coef: np.ndarray
    v_chr_pos: np.ndarray
    v_chr_coef: np.ndarray
    lum_rows: np.ndarray
    chr_rows: np.ndarray
    ramp: np.ndarray
    r_idx: np.ndarray
    gu_idx: np.ndarray
    gv_idx: np.ndarray
    b_idx: np.ndarray
    h_lum_pos_pad: np.ndarray
    h_lum_coef_pad: np.ndarray
    h_chr_pos_pad: np.ndarray
    h_chr_coef_pad: np.ndarray


def _padded_taps(pos: np.ndarray, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pad a horizontal filter to whole vector blocks: 16 outputs, and taps to 8, 16 or a multiple of 32.

    Extra outputs repeat the last start position with all-zero taps; extra taps are zero (their reads
    stay inside the kernel's zero-padded row buffer)."""
    n, taps = coef.shape
    n_pad = -(-n // BLOCK_OUT) * BLOCK_OUT
    chunk = next(c for c in CHUNKS if c >= taps) if taps <= CHUNKS[-1] else CHUNKS[-1]
    taps_pad = -(-taps // chunk) * chunk
    pos_pad = np.full(n_pad, pos[-1], dtype=np.int32)
    pos_pad[:n] = pos
    coef_pad = np.zeros((n_pad, taps_pad), dtype=np.int16)
    coef_pad[:n, :taps] = coef
    return pos_pad, coef_pad


def _rows_read(pos: np.ndarray, coef: np.ndarray, n_rows: int) -> np.ndarray:
    used = np.zeros(n_rows, dtype=np.uint8)
    for p in pos:
        used[p : p + coef.shape[1]] = 1
    return used


@lru_cache(maxsize=64)
def scale_filters(src_w: int, src_h: int, dst_w: int, dst_h: int, method: str = "bicubic", *,
                  full_range: bool = False, x86_simd: bool = True) -> ScaleFilters:
    """Build (and cache) libswscale's filters for ``yuv420p`` ``src_w x src_h`` -> ``rgb24`` ``dst_w x dst_h``.

    ``method`` is the scaler flag name (``"bicubic"``, ``"area"``, ``"lanczos"``, ``"bilinear"``)
    with libswscale's default parameters. ``full_range`` selects
    JPEG-range input (yuvj420p); the default is limited (MPEG) range, BT.601, as swscale assumes for
    untagged video. ``x86_simd`` reproduces an x86 build with SIMD enabled (the default for ffmpeg and
    PyAV); ``False`` reproduces the plain C path (``av_force_cpu_flags(0)``).
    """
    method = method.lower()
    if method not in METHODS:
        raise ValueError(f"unknown swscale method {method!r}; expected one of {METHODS}")
    if min(src_w, src_h, dst_w, dst_h) < 1:
        raise ValueError(f"invalid scaling {src_w}x{src_h} -> {dst_w}x{dst_h}")
    if dst_w % 2:
        # libswscale switches to full chroma interpolation (another output path) for odd widths
        raise ValueError(f"odd output width {dst_w} is not supported")

    chr_src_w, chr_src_h = (src_w + 1) >> 1, (src_h + 1) >> 1
    chr_dst_w, chr_dst_h = (dst_w + 1) >> 1, dst_h  # packed RGB: half-width chroma, every row
    lum_x_inc = ((src_w << 16) + (dst_w >> 1)) // dst_w
    lum_y_inc = ((src_h << 16) + (dst_h >> 1)) // dst_h
    chr_x_inc = ((chr_src_w << 16) + (chr_dst_w >> 1)) // chr_dst_w
    chr_y_inc = ((chr_src_h << 16) + (chr_dst_h >> 1)) // chr_dst_h
    h_align, v_align = (4, 2) if x86_simd else (1, 1)
    lum_pos = _chroma_local_pos(0)  # 128: luma samples are centred like unsubsampled chroma
    hl = _init_filter(lum_x_inc, src_w, dst_w, h_align, _LUMA_ONE, method, lum_pos, lum_pos, x86_simd)
    hc = _init_filter(chr_x_inc, chr_src_w, chr_dst_w, h_align, _LUMA_ONE, method,
                      _chroma_local_pos(1), _chroma_local_pos(1), x86_simd)
    vl = _init_filter(lum_y_inc, src_h, dst_h, v_align, _VERT_ONE, method, lum_pos, lum_pos, x86_simd)
    vc = _init_filter(chr_y_inc, chr_src_h, chr_dst_h, v_align, _VERT_ONE, method,
                      _chroma_local_pos(1), _chroma_local_pos(0), x86_simd)
    if vl[1].shape[1] <= 2 or vc[1].shape[1] <= 2:
        # libswscale uses its 1- and 2-tap vertical writers (different rounding) for these
        raise ValueError(f"vertical filters of <= 2 taps ({src_h} -> {dst_h}) are not supported")
    arrays = (
        *hl, *hc, *vl, *vc,
        _rows_read(vl[0], vl[1], src_h), _rows_read(vc[0], vc[1], chr_src_h),
        *_rgb_tables(full_range),
        *_padded_taps(*hl), *_padded_taps(*hc),
    )
    for a in arrays:
        a.setflags(write=False)  # shared by every caller through the cache
    return ScaleFilters(src_w, src_h, dst_w, dst_h, method, full_range, x86_simd, *arrays)


