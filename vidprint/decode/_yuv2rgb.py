"""Bit-exact model of libswscale's plain-C *unscaled* planar YUV -> RGB24 converter, fused with PDQ luma.

The reference vPDQ converts every decoded frame with ``sws_getContext(W, H, fmt -> W, H, RGB24)`` and no
colour details (docs/algorithms.md §3.1), so swscale's defaults apply: BT.601 matrix, limited range unless the pixel
format is a ``yuvj*`` one. At native size and for 8-bit 4:2:0 / 4:2:2 input with an even height, swscale
uses its table-driven converter (``libswscale/yuv2rgb.c``). The native sample hashes are bit-exact with
the portable C version of that converter (§3.6); the x86 SIMD versions round differently (up to 3 levels).
This module rebuilds the C converter's integer tables and reproduces its arithmetic, so the RGB values,
and hence the PDQ luma, do not depend on the FFmpeg build or CPU.

How the C converter works (all integer):

* One luma table ``ytab`` of 2048 clipped bytes: ``ytab[i] = clip8((yb + i*cy + 2**15) >> 16)``.
* Per chroma value ``c`` in 0..255, an index offset into ``ytab`` for R (from V), G (one part from U, one
  from V) and B (from U).
* Output channel = ``ytab[offset(U, V) + Y]``. One (U, V) pair serves a 2x2 block (4:2:0), with no
  chroma interpolation.

Tables are packed into one ``int32[5, 2048]`` array (see :func:`yuv_tables`): row 0 is ``ytab``; rows 1-4
hold, in their first 256 entries, the R offset by V, the G offset by U, the G offset by V and the B
offset by U.

Exactness, verified against libswscale 7.5 (FFmpeg 6.1, PyAV 12) and 9.5 (FFmpeg 8, PyAV 18) with the
SIMD paths disabled (``av_force_cpu_flags(0)``):

* all 2**24 (Y, U, V) triples in limited and full range (BT.601), 1/8 of them for BT.709; every 2nd
  frame of the 7 chair clips (480x720) and of the 1080x1080 sample, rows padded;
* odd widths: swscale never writes the last column (it keeps whatever the output buffer held), so
  only columns ``0 .. W-2`` are comparable; here the last column gets the natural value from chroma
  column ``W // 2``;
* odd heights: swscale does *not* use this converter (its generic scaler runs instead, with chroma
  interpolation), so the output here is not swscale's; see :func:`table_path_applies`.
* 4:2:2: FFmpeg <= 6.1 applies chroma row ``2k`` to image rows ``2k`` and ``2k+1`` (odd chroma rows are
  ignored); FFmpeg 8 uses every chroma row. Both are available through ``odd_chroma_rows``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from vidprint.decode._cint import c_div
from vidprint.decode.luma import LUMA_B, LUMA_G, LUMA_R, luma_from_gray_video_into

# YUVRGB_TABLE_HEADROOM and YUVRGB_TABLE_LUMA_HEADROOM in swscale_internal.h (both 512).
_HEADROOM = 512
_YTAB_SIZE = 1024 + 2 * _HEADROOM

# {crv, cbu, cgu, cgv} from ff_yuv2rgb_coeffs: crv = (255/224) * 65536 * (1 - Kr) / 0.5 etc.
# "bt601" is SWS_CS_DEFAULT (ITU-R BT.601 / SMPTE 170M), what vPDQ uses for every stream.
_MATRICES: dict[str, tuple[int, int, int, int]] = {
    "bt601": (104597, 132201, 25675, 53279),
    "bt709": (117489, 138438, 13975, 34925),
}

# Formats for which swscale picks the table converter (after mapping yuvj* to yuv* with full range).
_TABLE_FORMATS: dict[str, tuple[str, bool]] = {
    "yuv420p": ("420", False),
    "yuvj420p": ("420", True),
    "yuva420p": ("420", False),
    "yuv422p": ("422", False),
    "yuvj422p": ("422", True),
}

def _build_tables(full_range: bool, matrix: str) -> np.ndarray:
    crv, cbu, cgu, cgv = _MATRICES[matrix]
    cgu, cgv = -cgu, -cgv
    cy, oy = 1 << 16, 0
    if full_range:
        crv, cbu, cgu, cgv = (c_div(c * 224, 255) for c in (crv, cbu, cgu, cgv))
    else:
        cy = c_div(cy * 255, 219)
        oy = 16 << 16
    # Default contrast and saturation (1 << 16) and brightness 0 leave the coefficients unchanged.
    # Chroma coefficients are then expressed in units of luma-table steps (divided by cy).
    crv, cbu, cgu, cgv = (c_div(c * (1 << 16) + 0x8000, max(cy, 1)) for c in (crv, cbu, cgu, cgv))

    tables = np.zeros((5, _YTAB_SIZE), dtype=np.int32)
    yb = -(384 << 16) - _HEADROOM * cy - oy
    i = np.arange(_YTAB_SIZE, dtype=np.int64)
    tables[0] = np.clip((yb + i * cy + 0x8000) >> 16, 0, 255)

    # Index of Y = 0 at neutral chroma; 326 (not 384) in limited range is swscale's own constant.
    yoffs = (384 if full_range else 326) + _HEADROOM
    c = np.arange(256, dtype=np.int64)
    tables[1, :256] = yoffs - (crv >> 9) + ((c * crv) >> 16)  # R, by V
    tables[2, :256] = yoffs - (cgu >> 9) + ((c * cgu) >> 16)  # G, by U (carries yoffs)
    tables[3, :256] = -(cgv >> 9) + ((c * cgv) >> 16)  # G, by V
    tables[4, :256] = yoffs - (cbu >> 9) + ((c * cbu) >> 16)  # B, by U

    # Every index the kernels can form must stay inside ytab (swscale relies on its headroom too).
    g_lo = int(tables[2, :256].min() + tables[3, :256].min())
    g_hi = int(tables[2, :256].max() + tables[3, :256].max())
    lo = min(int(tables[1, :256].min()), g_lo, int(tables[4, :256].min()))
    hi = max(int(tables[1, :256].max()), g_hi, int(tables[4, :256].max())) + 255
    assert 0 <= lo and hi < _YTAB_SIZE, (lo, hi)
    return tables


@lru_cache(maxsize=None)
def yuv_tables(full_range: bool, matrix: str = "bt601") -> np.ndarray:
    """Integer tables of swscale's table YUV -> RGB converter, read-only ``int32[5, 2048]``, cached.

    ``full_range``: False for limited ("MPEG", Y 16..235) input, what swscale assumes for ``yuv420p``
    when no colour details are set (the vPDQ case, whatever the stream's range tag says); True for
    ``yuvj*`` formats. ``matrix``: ``"bt601"`` (swscale's default, used by vPDQ) or ``"bt709"``.

    These are swscale's tables, quirks included: in limited range, neutral grey Y = 235 gives RGB 253,
    not 255 (Y = 16 gives 0).
    """
    if matrix not in _MATRICES:
        raise ValueError(f"matrix must be one of {sorted(_MATRICES)}, got {matrix!r}")
    tables = _build_tables(bool(full_range), matrix)
    tables.setflags(write=False)
    return tables


@lru_cache(maxsize=None)
def luma_tables(full_range: bool, matrix: str = "bt601") -> np.ndarray:
    """``float32[3, 2048]``: ``ytab`` (row 0 of :func:`yuv_tables`) premultiplied by the luma weights.

    Row ``c`` is ``f32(w_c) * f32(ytab)`` for the weights of :mod:`vidprint.decode.luma`: exactly the
    f32 products of the PDQ luma, so ``(L[0, r] + L[1, g]) + L[2, b]`` equals it bit for bit and the kernels
    save three conversions and three multiplications per pixel. Read-only, cached.
    """
    lt = _float_luma_tables(yuv_tables(full_range, matrix))
    lt.setflags(write=False)
    return lt


def table_path_applies(pix_fmt: str, height: int) -> bool:
    """True when swscale converts ``pix_fmt`` at native size with the table converter modelled here.

    That is 8-bit planar 4:2:0 (``yuv420p``, ``yuvj420p``, ``yuva420p``, alpha ignored) or 4:2:2
    (``yuv422p``, ``yuvj422p``) with an even height. Everything else (odd heights, ``yuv444p``, ``nv12``,
    10-bit, ...) goes through swscale's generic scaler, which this module does not reproduce.
    """
    return pix_fmt in _TABLE_FORMATS and height % 2 == 0


def format_layout(pix_fmt: str) -> tuple[str, bool] | None:
    """``("420" | "422", full_range)`` for a format :func:`table_path_applies` to, else ``None``.

    ``full_range`` is what swscale infers from the format alone (``yuvj*``), as in vPDQ.
    """
    return _TABLE_FORMATS.get(pix_fmt)


@njit(cache=True, nogil=True)
def check_planes(y, u, v, width, height, chroma_rows, out_h, out_w):
    """Raise ValueError unless the planes and output cover the frame (the kernels skip bounds checks)."""
    cw = (width + 1) >> 1
    if width < 1 or height < 1:
        raise ValueError("frame width and height must be positive")
    if y.shape[0] < height or y.shape[1] < width:
        raise ValueError("luma plane smaller than the frame")
    if u.shape[0] < chroma_rows or u.shape[1] < cw or v.shape[0] < chroma_rows or v.shape[1] < cw:
        raise ValueError("chroma plane smaller than the frame needs")
    if out_h < height or out_w < width:
        raise ValueError("output array smaller than the frame")


@njit(cache=True, nogil=True)
def _rgb_rows(y, u, v, width, height, tables, row_shift, row_scale, rgb):
    """Chroma row for image row ``r`` is ``(r >> row_shift) << row_scale``; chroma column ``c >> 1``."""
    ytab = tables[0]
    r_v = tables[1]
    g_u = tables[2]
    g_v = tables[3]
    b_u = tables[4]
    half = width >> 1
    for r in range(height):
        crow = (r >> row_shift) << row_scale
        yrow = y[r]
        urow = u[crow]
        vrow = v[crow]
        orow = rgb[r]
        # One chroma pair serves two columns. Unsigned indices: no negative-index wraparound test in
        # the hot loop (yuv_tables checks that every index is >= 0).
        for cc in range(half):
            uu = urow[cc]
            vv = vrow[cc]
            ro = np.uintp(r_v[vv])
            go = np.uintp(g_u[uu] + g_v[vv])
            bo = np.uintp(b_u[uu])
            c = 2 * cc
            yy = np.uintp(yrow[c])
            orow[c, 0] = ytab[ro + yy]
            orow[c, 1] = ytab[go + yy]
            orow[c, 2] = ytab[bo + yy]
            yy = np.uintp(yrow[c + 1])
            orow[c + 1, 0] = ytab[ro + yy]
            orow[c + 1, 1] = ytab[go + yy]
            orow[c + 1, 2] = ytab[bo + yy]
        if width & 1:  # swscale leaves this column unwritten; give it the natural value
            uu = urow[half]
            vv = vrow[half]
            yy = np.uintp(yrow[width - 1])
            orow[width - 1, 0] = ytab[np.uintp(r_v[vv]) + yy]
            orow[width - 1, 1] = ytab[np.uintp(g_u[uu] + g_v[vv]) + yy]
            orow[width - 1, 2] = ytab[np.uintp(b_u[uu]) + yy]


@njit(cache=True, nogil=True)
def _float_luma_tables(tables):
    """See :func:`luma_tables` (also used in-kernel by the plane converters)."""
    lt = np.empty((3, tables.shape[1]), dtype=np.float32)
    for i in range(tables.shape[1]):
        f = np.float32(tables[0, i])
        lt[0, i] = LUMA_R * f
        lt[1, i] = LUMA_G * f
        lt[2, i] = LUMA_B * f
    return lt


@njit(cache=True, nogil=True)
def _luma_rows(y, u, v, width, height, tables, lt, row_shift, row_scale, out):
    """As :func:`_rgb_rows`, writing the docs/algorithms.md §1.2 luma of each RGB pixel instead (``lt``: :func:`luma_tables`)."""
    r_v = tables[1]
    g_u = tables[2]
    g_v = tables[3]
    b_u = tables[4]
    lr = lt[0]
    lg = lt[1]
    lb = lt[2]
    half = width >> 1
    for r in range(height):
        crow = (r >> row_shift) << row_scale
        yrow = y[r]
        urow = u[crow]
        vrow = v[crow]
        orow = out[r]
        for cc in range(half):
            uu = urow[cc]
            vv = vrow[cc]
            ro = np.uintp(r_v[vv])
            go = np.uintp(g_u[uu] + g_v[vv])
            bo = np.uintp(b_u[uu])
            c = 2 * cc
            yy = np.uintp(yrow[c])
            # f32, (0.299 R + 0.587 G) + 0.114 B, left to right (products from the table).
            orow[c] = (lr[ro + yy] + lg[go + yy]) + lb[bo + yy]
            yy = np.uintp(yrow[c + 1])
            orow[c + 1] = (lr[ro + yy] + lg[go + yy]) + lb[bo + yy]
        if width & 1:  # swscale leaves this column unwritten; give it the natural value
            uu = urow[half]
            vv = vrow[half]
            yy = np.uintp(yrow[width - 1])
            orow[width - 1] = (lr[np.uintp(r_v[vv]) + yy] + lg[np.uintp(g_u[uu] + g_v[vv]) + yy]) + lb[np.uintp(b_u[uu]) + yy]


@njit(cache=True, nogil=True)
def luma420_rows(y, u, v, width, r0, r1, tables, lt, out, o0):
    """4:2:0 luma of image rows ``r0 .. r1-1`` (``r0`` even) into ``out[o0 + r - r0, :width]``.

    The row kernel of every 4:2:0 luma conversion, for callers that fuse it into their own loops
    (public as :func:`vidprint.decode.kernels.luma420_rows`): ``y`` ``uint8[>=r1, >=width]``,
    ``u``, ``v`` ``uint8[>=ceil(r1/2), >=ceil(width/2)]``, ``tables`` :func:`yuv_tables`, ``lt``
    :func:`luma_tables` (same range and matrix), ``out`` float32 with ``>= width`` columns. No bounds
    checks: validate the planes once per frame (:func:`check_planes`).

    Rows ``2k`` and ``2k+1`` share chroma row ``k``, so the three table offsets are looked up once per
    2x2 block. Same values as :func:`_luma_rows`.
    """
    r_v = tables[1]
    g_u = tables[2]
    g_v = tables[3]
    b_u = tables[4]
    lr = lt[0]
    lg = lt[1]
    lb = lt[2]
    half = width >> 1
    for r in range(r0, r1 - 1, 2):
        crow = r >> 1
        oa = o0 + r - r0
        urow = u[crow]
        vrow = v[crow]
        ya = y[r]
        yb = y[r + 1]
        outa = out[oa]
        outb = out[oa + 1]
        for cc in range(half):
            uu = urow[cc]
            vv = vrow[cc]
            ro = np.uintp(r_v[vv])
            go = np.uintp(g_u[uu] + g_v[vv])
            bo = np.uintp(b_u[uu])
            c = 2 * cc
            yy = np.uintp(ya[c])
            outa[c] = (lr[ro + yy] + lg[go + yy]) + lb[bo + yy]
            yy = np.uintp(ya[c + 1])
            outa[c + 1] = (lr[ro + yy] + lg[go + yy]) + lb[bo + yy]
            yy = np.uintp(yb[c])
            outb[c] = (lr[ro + yy] + lg[go + yy]) + lb[bo + yy]
            yy = np.uintp(yb[c + 1])
            outb[c + 1] = (lr[ro + yy] + lg[go + yy]) + lb[bo + yy]
        if width & 1:
            uu = u[crow, half]
            vv = v[crow, half]
            ro = np.uintp(r_v[vv])
            go = np.uintp(g_u[uu] + g_v[vv])
            bo = np.uintp(b_u[uu])
            for k in range(2):
                yy = np.uintp(y[r + k, width - 1])
                out[oa + k, width - 1] = (lr[ro + yy] + lg[go + yy]) + lb[bo + yy]
    if (r1 - r0) & 1:  # odd height: last row alone
        r = r1 - 1
        _luma_rows(y[r:r1], u[r >> 1 : (r >> 1) + 1], v[r >> 1 : (r >> 1) + 1], width, 1, tables, lt, 0, 0,
                   out[o0 + r - r0 : o0 + r - r0 + 1])


@njit(cache=True, nogil=True)
def yuv420p_to_rgb24(y, u, v, width, height, tables):
    """8-bit planar 4:2:0 -> ``uint8[height, width, 3]`` RGB, as swscale's C table converter.

    ``y``: ``uint8[>=height, >=width]`` (rows may carry padding, e.g. PyAV's ``line_size``);
    ``u``, ``v``: ``uint8[>=ceil(height/2), >=ceil(width/2)]``; ``tables`` from :func:`yuv_tables`.
    """
    check_planes(y, u, v, width, height, (height + 1) >> 1, height, width)
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    _rgb_rows(y, u, v, width, height, tables, 1, 0, rgb)
    return rgb


@njit(cache=True, nogil=True)
def yuv420p_to_luma(y, u, v, width, height, tables, out):
    """8-bit planar 4:2:0 -> PDQ luma written into ``out`` (``float32[>=height, >=width]``).

    Equals the docs/algorithms.md §1.2 luma of :func:`yuv420p_to_rgb24`'s output, without storing the RGB frame.
    """
    check_planes(y, u, v, width, height, (height + 1) >> 1, out.shape[0], out.shape[1])
    luma420_rows(y, u, v, width, 0, height, tables, _float_luma_tables(tables), out, 0)


@njit(cache=True, nogil=True)
def yuv422p_to_rgb24(y, u, v, width, height, tables, odd_chroma_rows=False):
    """8-bit planar 4:2:2 -> ``uint8[height, width, 3]`` RGB, as swscale's C table converter.

    ``u``, ``v``: ``uint8[>=height, >=ceil(width/2)]``. ``odd_chroma_rows=False`` is FFmpeg <= 6.1
    (libswscale <= 7): rows ``2k`` and ``2k+1`` both use chroma row ``2k``. True is FFmpeg 8 (each row
    its own chroma row).
    """
    check_planes(y, u, v, width, height, height, height, width)
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    if odd_chroma_rows:
        _rgb_rows(y, u, v, width, height, tables, 0, 0, rgb)
    else:
        _rgb_rows(y, u, v, width, height, tables, 1, 1, rgb)
    return rgb


@njit(cache=True, nogil=True)
def yuv422p_to_luma(y, u, v, width, height, tables, out, odd_chroma_rows=False):
    """8-bit planar 4:2:2 -> PDQ luma into ``out`` (``float32[>=height, >=width]``); see :func:`yuv422p_to_rgb24`."""
    check_planes(y, u, v, width, height, height, out.shape[0], out.shape[1])
    lt = _float_luma_tables(tables)
    if odd_chroma_rows:
        _luma_rows(y, u, v, width, height, tables, lt, 0, 0, out)
    else:
        _luma_rows(y, u, v, width, height, tables, lt, 1, 1, out)


@njit(cache=True, nogil=True)
def gray8_to_luma(y, width, height, out):
    """``gray`` -> PDQ luma into ``out`` (checked; see :func:`vidprint.decode.luma.luma_from_gray_video_into`)."""
    if width < 1 or height < 1 or y.shape[0] < height or y.shape[1] < width:
        raise ValueError("gray plane smaller than the frame, or empty frame")
    if out.shape[0] < height or out.shape[1] < width:
        raise ValueError("output array smaller than the frame")
    luma_from_gray_video_into(y, width, height, out)
