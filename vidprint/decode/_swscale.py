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

Filters are built once per geometry in pure Python integers that mimic C's int64 arithmetic
(truncating division, arithmetic shifts, double-precision kernels); the per-frame work is Numba.
Only the source rows that the vertical filter reads are scaled horizontally, and the fused luma kernel
never stores an RGB frame: it turns each output row straight into PDQ luma
``(0.299f*R + 0.587f*G) + 0.114f*B`` in float32 (§1.2).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.extending import intrinsic

__all__ = [
    "ScaleFilters",
    "scale_filters",
    "scale_yuv420p_to_luma",
    "scale_yuv420p_to_rgb24",
    "METHODS",
]

METHODS = ("bicubic", "bilinear", "area", "lanczos")

# libswscale constants
_MAX_REDUCE_CUTOFF = 0.002  # SWS_MAX_REDUCE_CUTOFF
_MAX_FILTER_SIZE = 256  # SWS_MAX_FILTER_SIZE; longer filters make libswscale cascade two contexts
_TABLE_HEADROOM = 512  # YUVRGB_TABLE_HEADROOM == YUVRGB_TABLE_LUMA_HEADROOM
_BT601 = (104597, 132201, 25675, 53279)  # ff_yuv2rgb_coeffs[SWS_CS_DEFAULT]: crv, cbu, cgu, cgv
_LUMA_ONE = 1 << 14  # horizontal filter coefficients sum to this
_VERT_ONE = 1 << 12  # vertical filter coefficients sum to this

LUMA_R = np.float32(0.299)
LUMA_G = np.float32(0.587)
LUMA_B = np.float32(0.114)


# --------------------------------------------------------------------------------------------------
# C integer semantics


def _tdiv(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _rounded_div(a: int, b: int) -> int:
    """FFmpeg's ``ROUNDED_DIV(a, b)`` for ``b > 0``."""
    return _tdiv(a + (b >> 1) if a >= 0 else a - (b >> 1), b)


def _av_log2(v: int) -> int:
    return v.bit_length() - 1 if v > 0 else 0


def _chroma_local_pos(subsample: int) -> int:
    """``get_local_pos`` for the default (unset, -513) chroma position."""
    pos = (128 << subsample) - 128
    return (pos + 128) >> subsample


# --------------------------------------------------------------------------------------------------
# Filter construction (initFilter)


def _raw_filter(x_inc: int, src_w: int, dst_w: int, method: str, fone: int, src_pos: int,
                dst_pos: int) -> tuple[list[int], list[list[int]]]:
    """Unnormalised int64 filter taps and start positions, before trimming and border fixes."""
    if abs(x_inc - 0x10000) < 10 and src_pos == dst_pos:  # unscaled
        return list(range(dst_w)), [[fone] for _ in range(dst_w)]

    if x_inc <= 1 << 16 and method == "area":  # area upscaling is linear interpolation
        size = 2
        x = ((dst_pos * x_inc) >> 8) - ((src_pos * 0x8000) >> 7)
        pos, taps = [], []
        for _ in range(dst_w):
            xx = (x - ((size - 1) << 15) + (1 << 15)) >> 16
            pos.append(xx)
            row = []
            for _j in range(size):
                c = fone - abs(xx * (1 << 16) - x) * (fone >> 16)
                row.append(max(c, 0))
                xx += 1
            taps.append(row)
            x += x_inc
        return pos, taps

    size_factor = {"area": 1, "bicubic": 4, "bilinear": 2, "lanczos": 6}[method]
    if x_inc <= 1 << 16:
        size = 1 + size_factor
    else:
        size = 1 + (size_factor * src_w + dst_w - 1) // dst_w
    size = max(min(size, src_w - 2), 1)

    bc_b = 0  # bicubic B, C = 0, 0.6 (libswscale's defaults), as int64(x * 2**24)
    bc_c = int(0.6 * (1 << 24))
    x = ((dst_pos * x_inc) >> 7) - ((src_pos * 0x10000) >> 7)
    pos, taps = [], []
    for _ in range(dst_w):
        xx = _tdiv(x - (size - 2) * (1 << 16), 1 << 17)
        pos.append(xx)
        row = []
        for _j in range(size):
            d = abs(xx * (1 << 17) - x) << 13
            if x_inc > 1 << 16:
                d = d * dst_w // src_w
            floatd = d * (1.0 / (1 << 30))
            if method == "bicubic":
                if d >= 1 << 31:
                    c = 0
                else:
                    dd = (d * d) >> 30
                    ddd = (dd * d) >> 30
                    if d < 1 << 30:
                        c = ((12 * (1 << 24) - 9 * bc_b - 6 * bc_c) * ddd
                             + (-18 * (1 << 24) + 12 * bc_b + 6 * bc_c) * dd
                             + (6 * (1 << 24) - 2 * bc_b) * (1 << 30))
                    else:
                        c = ((-bc_b - 6 * bc_c) * ddd + (6 * bc_b + 30 * bc_c) * dd
                             + (-12 * bc_b - 48 * bc_c) * d + (8 * bc_b + 24 * bc_c) * (1 << 30))
                c = _tdiv(c, (1 << 54) // fone)
            elif method == "area":
                d2 = d - (1 << 29)
                if d2 * x_inc < -(1 << 45):
                    c = 1 << 46
                elif d2 * x_inc < (1 << 45):
                    c = -d2 * x_inc + (1 << 45)
                else:
                    c = 0
                c *= fone >> 46
            elif method == "lanczos":
                p = 3.0
                if d:
                    c = int(math.sin(floatd * math.pi) * math.sin(floatd * math.pi / p)
                            / (floatd * floatd * math.pi * math.pi / p) * fone)
                else:
                    c = fone
                if floatd > p:
                    c = 0
            else:  # bilinear
                c = max((1 << 30) - d, 0) * (fone >> 30)
            row.append(c)
            xx += 1
        taps.append(row)
        x += 2 * x_inc
    return pos, taps


def _init_filter(x_inc: int, src_w: int, dst_w: int, filter_align: int, one: int, method: str,
                 src_pos: int, dst_pos: int, x86_simd: bool) -> tuple[np.ndarray, np.ndarray]:
    """libswscale ``initFilter``: ``(pos int32[dst_w], coef int32[dst_w, size])``.

    Output ``i`` reads source samples ``pos[i] .. pos[i] + size - 1`` (always inside the source);
    each row of ``coef`` sums to ``one``.
    """
    fone = 1 << (54 - min(_av_log2(src_w // dst_w), 8))
    pos, f2 = _raw_filter(x_inc, src_w, dst_w, method, fone, src_pos, dst_pos)
    size2 = len(f2[0])
    cutoff_limit = _MAX_REDUCE_CUTOFF * fone

    # Trim near-zero taps: shift each filter left past negligible leading taps (keeping the start
    # positions monotonic) and find the longest significant length.
    min_size = 0
    for i in range(dst_w - 1, -1, -1):
        row = f2[i]
        keep = size2
        cut = 0
        for _ in range(size2):
            cut += abs(row[0])
            if float(cut) > cutoff_limit:
                break
            if i < dst_w - 1 and pos[i] >= pos[i + 1]:
                break
            row.pop(0)
            row.append(0)
            pos[i] += 1
        cut = 0
        for j in range(size2 - 1, 0, -1):
            cut += abs(row[j])
            if float(cut) > cutoff_limit:
                break
            keep -= 1
        min_size = max(min_size, keep)

    if x86_simd and min_size == 1 and filter_align == 2:
        filter_align = 1
    size = (min_size + filter_align - 1) & ~(filter_align - 1)
    if size >= _MAX_FILTER_SIZE:
        raise ValueError(f"swscale filter of {size} taps ({src_w} -> {dst_w}) needs a cascaded "
                         "context, which is not implemented")
    filt = [[row[j] if j < size2 else 0 for j in range(size)] for row in f2]

    # Fix borders: fold taps that fall outside the source onto the first / last sample.
    for i in range(dst_w):
        row = filt[i]
        if pos[i] < 0:
            for j in range(1, size):
                left = max(j + pos[i], 0)
                row[left] += row[j]
                row[j] = 0
            pos[i] = 0
        if pos[i] + size > src_w:
            shift = pos[i] + min(size - src_w, 0)
            acc = 0
            for j in range(size - 1, -1, -1):
                if pos[i] + j >= src_w:
                    acc += row[j]
                    row[j] = 0
            for j in range(size - 1, -1, -1):
                row[j] = 0 if j < shift else row[j - shift]
            pos[i] -= shift
            row[src_w - 1 - pos[i]] += acc

    # Normalise to `one` with error diffusion along the taps.
    out = np.zeros((dst_w, size), dtype=np.int32)
    for i in range(dst_w):
        total = _tdiv(sum(filt[i]) + one // 2, one) or 1
        err = 0
        for j in range(size):
            v = filt[i][j] + err
            q = _rounded_div(v, total)
            out[i, j] = q
            err = v - q * total
    if np.abs(out).max() > 32767:
        raise ValueError("swscale filter coefficient overflows int16")
    return np.asarray(pos, dtype=np.int32), out


# --------------------------------------------------------------------------------------------------
# YUV -> RGB tables (ff_yuv2rgb_c_init_tables, 24 bpp)


def _rgb_tables(full_range: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(ramp uint8[2048], r_idx, gu_idx, gv_idx, b_idx int32[256])``.

    For 8-bit ``Y`` and chroma ``U``, ``V`` clipped to 0..255 the output is
    ``R = ramp[r_idx[V] + Y]``, ``G = ramp[gu_idx[U] + gv_idx[V] + Y]``, ``B = ramp[b_idx[U] + Y]``.
    """
    crv, cbu, cgu, cgv = _BT601[0], _BT601[1], -_BT601[2], -_BT601[3]
    cy, oy = 1 << 16, 0
    if not full_range:
        cy = (cy * 255) // 219
        oy = 16 << 16
    else:
        crv, cbu, cgu, cgv = (_tdiv(c * 224, 255) for c in (crv, cbu, cgu, cgv))
    # contrast = saturation = 1 << 16, brightness = 0: identities in libswscale's int64 arithmetic
    crv, cbu, cgu, cgv = (_tdiv(c * (1 << 16) + 0x8000, max(cy, 1)) for c in (crv, cbu, cgu, cgv))

    yoffs = (384 if full_range else 326) + _TABLE_HEADROOM
    plane = 1024 + 2 * _TABLE_HEADROOM
    yb = -(384 << 16) - _TABLE_HEADROOM * cy - oy
    ramp = np.empty(plane, dtype=np.uint8)
    for i in range(plane):
        ramp[i] = min(max((yb + 0x8000) >> 16, 0), 255)
        yb += cy

    def offsets(inc: int, base: int) -> np.ndarray:
        return np.array([base - (inc >> 9) + ((c * inc) >> 16) for c in range(256)], dtype=np.int32)

    return ramp, offsets(crv, yoffs), offsets(cgu, yoffs), offsets(cgv, 0), offsets(cbu, yoffs)


# --------------------------------------------------------------------------------------------------
# Public filter bundle


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
    n_pad = -(-n // _BLOCK_OUT) * _BLOCK_OUT
    chunk = next(c for c in _CHUNKS if c >= taps) if taps <= _CHUNKS[-1] else _CHUNKS[-1]
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


# --------------------------------------------------------------------------------------------------
# Kernels
#
# Horizontal pass: a hand-written LLVM vector kernel (Numba intrinsic). Pixels and 14-bit taps are
# int16, products are summed exactly in int32 (the pmaddwd / vpdpwssd pattern that LLVM selects on x86),
# 8, 16 or 32 taps per vector load, 16 outputs per block; the 16 partial-sum vectors of a block are
# reduced together by a shuffle tree. Integer sums are exact in any order, so this is libswscale's
# hScale8To15 bit for bit.
# Vertical pass: float64 accumulation (products < 2**28, sums < 2**33: exact) vectorised across columns.

_BLOCK_OUT = 16  # outputs per horizontal block
_CHUNKS = (8, 16, 32)  # int16 taps per vector load; a filter uses the smallest that is >= its length


def _shuffle(builder, a, b, idx):
    return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(ir.IntType(32), len(idx)), idx))


def _make_hscale_block(chunk: int):
    """Numba intrinsic computing one block of 16 horizontal outputs with ``chunk``-tap vector loads."""
    width = chunk // 2  # int32 partial sums per output after the pairwise multiply-add

    @intrinsic
    def hscale_block(typingctx, row, pos, coef, x0, n_chunks, out):
        """``out[x0+k] = min((sum_t row[pos[x0+k] + t] * coef[x0+k, t]) >> 7, 32767)``, k < 16.

        ``row`` int16[:], ``pos`` int32[:], ``coef`` int16[:, chunk * n_chunks] (C order),
        ``out`` int32[:]. Reads ``row[pos[x] : pos[x] + chunk * n_chunks]``.
        """
        sig = types.void(row, pos, coef, x0, n_chunks, out)

        def codegen(context, builder, signature, args):
            row_t, pos_t, coef_t, _, _, out_t = signature.args
            row_v, pos_v, coef_v, x0_v, chunks_v, out_v = args
            row_a = context.make_array(row_t)(context, builder, row_v)
            pos_a = context.make_array(pos_t)(context, builder, pos_v)
            coef_a = context.make_array(coef_t)(context, builder, coef_v)
            out_a = context.make_array(out_t)(context, builder, out_v)
            i64, i32, i16 = ir.IntType(64), ir.IntType(32), ir.IntType(16)
            taps_t = ir.VectorType(i16, chunk)
            wide_t = ir.VectorType(i32, chunk)
            part_t = ir.VectorType(i32, width)
            res_t = ir.VectorType(i32, _BLOCK_OUT)
            if x0_v.type.width < 64:
                x0_v = builder.sext(x0_v, i64)
            if chunks_v.type.width < 64:
                chunks_v = builder.sext(chunks_v, i64)
            coef_stride = cgutils.unpack_tuple(builder, coef_a.strides, 2)[0]
            coef_bytes = builder.bitcast(coef_a.data, ir.IntType(8).as_pointer())
            src_ptrs, tap_ptrs = [], []
            for k in range(_BLOCK_OUT):
                x = builder.add(x0_v, ir.Constant(i64, k))
                p = builder.sext(builder.load(builder.gep(pos_a.data, [x])), i64)
                src_ptrs.append(builder.gep(row_a.data, [p]))
                tap_ptrs.append(builder.bitcast(builder.gep(coef_bytes, [builder.mul(x, coef_stride)]),
                                                i16.as_pointer()))
            accs = [cgutils.alloca_once_value(builder, ir.Constant(part_t, [0] * width))
                    for _ in range(_BLOCK_OUT)]
            even = list(range(0, chunk, 2))
            odd = list(range(1, chunk, 2))
            with cgutils.for_range(builder, chunks_v) as loop:
                off = builder.mul(loop.index, ir.Constant(i64, chunk))
                for k in range(_BLOCK_OUT):
                    a = builder.load(builder.bitcast(builder.gep(src_ptrs[k], [off]), taps_t.as_pointer()),
                                     align=2)
                    c = builder.load(builder.bitcast(builder.gep(tap_ptrs[k], [off]), taps_t.as_pointer()),
                                     align=2)
                    m = builder.mul(builder.sext(a, wide_t), builder.sext(c, wide_t))
                    pairs = builder.add(_shuffle(builder, m, m, even), _shuffle(builder, m, m, odd))
                    builder.store(builder.add(builder.load(accs[k]), pairs), accs[k])
            vecs = [builder.load(a) for a in accs]
            # Concatenate partial-sum vectors up to 16 lanes, then transpose-reduce: each level pairs
            # vectors, halving the partial sums per output; the last leaves the 16 totals in order.
            n_lanes = width
            while n_lanes < _BLOCK_OUT:
                idx = list(range(2 * n_lanes))
                vecs = [_shuffle(builder, vecs[2 * i], vecs[2 * i + 1], idx) for i in range(len(vecs) // 2)]
                n_lanes *= 2
            group = width
            while group > 1:
                half = group // 2
                lo, hi = [], []
                for g in range(_BLOCK_OUT // group):
                    lo += [g * group + i for i in range(half)]
                    hi += [g * group + half + i for i in range(half)]
                lo += [_BLOCK_OUT + i for i in lo]
                hi += [_BLOCK_OUT + i for i in hi]
                vecs = [builder.add(_shuffle(builder, vecs[2 * i], vecs[2 * i + 1], lo),
                                    _shuffle(builder, vecs[2 * i], vecs[2 * i + 1], hi))
                        for i in range(len(vecs) // 2)]
                group = half
            res = builder.ashr(vecs[0], ir.Constant(res_t, [7] * _BLOCK_OUT))
            limit = ir.Constant(res_t, [32767] * _BLOCK_OUT)
            res = builder.select(builder.icmp_signed(">", res, limit), limit, res)
            builder.store(res, builder.bitcast(builder.gep(out_a.data, [x0_v]), res_t.as_pointer()), align=4)
            return context.get_dummy_value()

        return sig, codegen

    return hscale_block


_hscale_block8 = _make_hscale_block(8)
_hscale_block16 = _make_hscale_block(16)
_hscale_block32 = _make_hscale_block(32)


@njit(cache=True, nogil=True)
def _hscale_plane(plane, n_cols, rows_read, pos, coef, chunk, out):
    """``hScale8To15`` of every flagged row of ``plane[:, :n_cols]`` into ``out`` (int32[rows, >= n_out]).

    ``pos`` / ``coef`` are padded to a multiple of 16 outputs and of ``chunk`` taps (:func:`_padded_taps`).
    """
    n_chunks = coef.shape[1] // chunk
    row = np.zeros(n_cols + coef.shape[1], dtype=np.int16)
    for r in range(rows_read.shape[0]):
        if rows_read[r] == 0:
            continue
        src = plane[r]
        for i in range(n_cols):
            row[i] = src[i]
        dst = out[r]
        for x0 in range(0, pos.shape[0], _BLOCK_OUT):
            if chunk == 8:
                _hscale_block8(row, pos, coef, x0, n_chunks, dst)
            elif chunk == 16:
                _hscale_block16(row, pos, coef, x0, n_chunks, dst)
            else:
                _hscale_block32(row, pos, coef, x0, n_chunks, dst)


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
                luma_out[oy, ox] = (LUMA_R * np.float32(r) + LUMA_G * np.float32(g)) + LUMA_B * np.float32(b)


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
