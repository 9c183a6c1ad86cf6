"""Numba kernels of the PDQ / PDQF per-image hash (spec ALGORITHMS.md §1), bit-exact with the reference.

Everything here works on preallocated, C-contiguous arrays and releases the GIL. The public, checked
API is in :mod:`vidprint.pdqf`; these kernels trust their arguments.

Arithmetic follows the reference operation by operation in float32 (no fastmath, so LLVM neither
reassociates nor contracts ``a*b + c`` into an FMA):

* luma ``(0.299*R + 0.587*G) + 0.114*B`` (§1.2);
* two passes of (horizontal box, vertical box), each box a running f32 sum with the reference's
  four phases and an integer count (§1.3); then decimation by f64 centre indices (§1.4);
* quality from f32 gradients truncated to int (§1.5);
* DCT ``D·A·Dᵀ`` as two f32 sums in increasing index order (§1.6); lower median and strict ``>`` (§1.7).

Speed without changing a single rounding:

* The blur is streamed over blocks of 8 image rows, so every intermediate row stays in L1/L2 instead of
  ping-ponging two full-size planes. Vertical passes update one running sum per column, row after row
  (the same per-column sequence of operations as the reference, but vectorised across columns).
* A horizontal running sum is a serial chain of dependent additions; 8 rows are processed together so
  that 8 independent chains hide the add latency. The chains store the raw sums; the division by the
  window count happens later, vectorised (same f32 quotient).
* The second vertical pass runs only on the 64 decimated columns and writes only the 64 decimated rows
  (its running sums still see every row, exactly as the reference).

All kernels use ``error_model="numpy"``: with Numba's default ("python") every float division carries a
zero-divisor check that blocks vectorisation. No divisor here can be zero.

Workspace layout (see :func:`alloc_workspace`): one ``float32[rows, max(W, 64)]`` array whose rows are
used as ring buffers and block buffers; its size depends only on (H, W).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

LUMA_R = np.float32(0.299)
LUMA_G = np.float32(0.587)
LUMA_B = np.float32(0.114)

MIN_HASHABLE_DIM = 5

# ``mode`` argument of the pipeline kernels: what the source array is
MODE_LUMA = 0  # float32[H, W] luma plane
MODE_RGB = 1  # uint8[H, W, 3], luma in float32 as the C++ reference (§1.2)
MODE_RGB_F64 = 2  # uint8[H, W, 3], luma in float64 then rounded, as PyPI ``pdqhash``
BLOCK = 8  # image rows per horizontal-pass block (= independent running-sum chains)


def _build_dct_matrix() -> np.ndarray:
    """``float32[16, 64]``: ``D[i, j] = f32(f32(sqrt(2/64)) * cos((pi/2/64)*(i+1)*(2j+1)))``.

    The product is formed in f64 (f32 constant times f64 cosine) and rounded once, as in the reference.
    ``math.cos`` is the C library's double cosine, like ``std::cos``.
    """
    scale = float(np.float32(math.sqrt(2.0 / 64.0)))
    d = np.empty((16, 64), dtype=np.float32)
    for i in range(16):
        for j in range(64):
            d[i, j] = np.float32(scale * math.cos((math.pi / 2.0 / 64.0) * (i + 1) * (2 * j + 1)))
    return d


DCT_MATRIX = _build_dct_matrix()  # float32[16, 64]
DCT_MATRIX_T = np.ascontiguousarray(DCT_MATRIX.T)  # float32[64, 16]


# --------------------------------------------------------------------------------------------------
# Luma


@njit(cache=True, nogil=True, error_model="numpy")
def luma_row_from_rgb(flat, y, W, out, orow):
    """Luma of image row ``y`` into ``out[orow, :W]`` (§1.2 order).

    ``flat`` is the image as ``uint8[H, 3W]`` (``rgb.reshape(H, 3 * W)``): Numba vectorises this
    interleaved access but not 3-D indexing. Rows are addressed by index, not by views, because every
    view costs two atomic reference-count updates.
    """
    for x in range(W):
        out[orow, x] = (
            LUMA_R * np.float32(flat[y, 3 * x]) + LUMA_G * np.float32(flat[y, 3 * x + 1])
        ) + LUMA_B * np.float32(flat[y, 3 * x + 2])


@njit(cache=True, nogil=True, error_model="numpy")
def luma_row_from_rgb_f64(flat, y, W, out, orow):
    """Like :func:`luma_row_from_rgb` but in float64, rounded once to float32 at the end.

    This is what PyPI ``pdqhash`` (used by python-threatexchange) feeds to the same C++ core: its
    wrapper computes luma with NumPy in double precision. Differs from the C++ float32 luma by one
    float32 ulp on roughly a third of the pixels.
    """
    for x in range(W):
        out[orow, x] = np.float32(
            (np.float64(flat[y, 3 * x]) * 0.299 + np.float64(flat[y, 3 * x + 1]) * 0.587)
            + np.float64(flat[y, 3 * x + 2]) * 0.114
        )


@njit(cache=True, nogil=True, error_model="numpy")
def luma_from_rgb_into(rgb, out, f64):
    """``uint8[H, W, 3]`` RGB -> ``float32[H, W]`` luma, written into ``out``: the C++ float32 order
    (§1.2), or with ``f64`` true in float64 (PyPI ``pdqhash`` arithmetic)."""
    H = rgb.shape[0]
    W = rgb.shape[1]
    flat = rgb.reshape((H, 3 * W))
    for y in range(H):
        if f64:
            luma_row_from_rgb_f64(flat, y, W, out, y)
        else:
            luma_row_from_rgb(flat, y, W, out, y)


@njit(cache=True, nogil=True, error_model="numpy")
def luma_from_grey_into(grey, out):
    """``uint8[H, W]`` grey -> ``float32[H, W]`` (the value itself)."""
    for y in range(grey.shape[0]):
        for x in range(grey.shape[1]):
            out[y, x] = np.float32(grey[y, x])


# --------------------------------------------------------------------------------------------------
# Jarosz filter + decimation


@njit(cache=True, nogil=True, error_model="numpy")
def jarosz_window(n):
    """Box window for a dimension of ``n`` pixels reduced to 64: ``(n + 127) // 128`` (§1.3)."""
    return (n + 2 * 64 - 1) // (2 * 64)


@njit(cache=True, nogil=True, error_model="numpy")
def decimation_index(i, n):
    """Source index of output sample ``i`` (0..63) along a dimension of ``n``: f64 centre, truncated."""
    return int(((i + 0.5) * n) / 64)


@njit(cache=True, nogil=True, error_model="numpy")
def workspace_rows(h, w):
    """Number of rows of the workspace needed for an ``h x w`` plane (see :func:`alloc_workspace`)."""
    wc = jarosz_window(h)
    # ring1 (wc + BLOCK), s1, VB/H2/LB blocks, count row, ring2 (wc + 1), s2, t
    return (wc + BLOCK) + 1 + 3 * BLOCK + 1 + (wc + 1) + 2


def alloc_workspace(h: int, w: int) -> np.ndarray:
    """Scratch for :func:`downsample_into` on ``h x w`` planes: ``float32[workspace_rows(h, w), max(w, 64)]``."""
    return np.zeros((int(workspace_rows(h, w)), max(w, 64)), dtype=np.float32)


@njit(cache=True, nogil=True, error_model="numpy")
def _box_rows8_raw(src, sr, dst, dr, n, w):
    """Raw running sums of the 4-phase box filter (window ``w``) along 8 rows at once.

    ``src[sr[k], :n]`` is box-summed into ``dst[dr[k], :n]`` (sums only, no division), for k = 0..7.
    The 8 chains are written out by hand so that they live in registers and overlap in the pipeline.
    """
    a0 = sr[0]
    a1 = sr[1]
    a2 = sr[2]
    a3 = sr[3]
    a4 = sr[4]
    a5 = sr[5]
    a6 = sr[6]
    a7 = sr[7]
    d0 = dr[0]
    d1 = dr[1]
    d2 = dr[2]
    d3 = dr[3]
    d4 = dr[4]
    d5 = dr[5]
    d6 = dr[6]
    d7 = dr[7]
    h = w // 2
    p = w - h
    z = np.float32(0.0)
    s0 = z
    s1 = z
    s2 = z
    s3 = z
    s4 = z
    s5 = z
    s6 = z
    s7 = z
    for x in range(h):  # phase 1: accumulate, no write
        s0 += src[a0, x]
        s1 += src[a1, x]
        s2 += src[a2, x]
        s3 += src[a3, x]
        s4 += src[a4, x]
        s5 += src[a5, x]
        s6 += src[a6, x]
        s7 += src[a7, x]
    for i in range(p):  # phase 2: add, write
        e = i + h
        s0 += src[a0, e]
        s1 += src[a1, e]
        s2 += src[a2, e]
        s3 += src[a3, e]
        s4 += src[a4, e]
        s5 += src[a5, e]
        s6 += src[a6, e]
        s7 += src[a7, e]
        dst[d0, i] = s0
        dst[d1, i] = s1
        dst[d2, i] = s2
        dst[d3, i] = s3
        dst[d4, i] = s4
        dst[d5, i] = s5
        dst[d6, i] = s6
        dst[d7, i] = s7
    for i in range(p, n - h):  # phase 3: add entering, then subtract leaving, write
        e = i + h
        l = i - p
        s0 = (s0 + src[a0, e]) - src[a0, l]
        s1 = (s1 + src[a1, e]) - src[a1, l]
        s2 = (s2 + src[a2, e]) - src[a2, l]
        s3 = (s3 + src[a3, e]) - src[a3, l]
        s4 = (s4 + src[a4, e]) - src[a4, l]
        s5 = (s5 + src[a5, e]) - src[a5, l]
        s6 = (s6 + src[a6, e]) - src[a6, l]
        s7 = (s7 + src[a7, e]) - src[a7, l]
        dst[d0, i] = s0
        dst[d1, i] = s1
        dst[d2, i] = s2
        dst[d3, i] = s3
        dst[d4, i] = s4
        dst[d5, i] = s5
        dst[d6, i] = s6
        dst[d7, i] = s7
    for i in range(n - h, n):  # phase 4: subtract leaving, write
        l = i - p
        s0 -= src[a0, l]
        s1 -= src[a1, l]
        s2 -= src[a2, l]
        s3 -= src[a3, l]
        s4 -= src[a4, l]
        s5 -= src[a5, l]
        s6 -= src[a6, l]
        s7 -= src[a7, l]
        dst[d0, i] = s0
        dst[d1, i] = s1
        dst[d2, i] = s2
        dst[d3, i] = s3
        dst[d4, i] = s4
        dst[d5, i] = s5
        dst[d6, i] = s6
        dst[d7, i] = s7


@njit(cache=True, nogil=True, error_model="numpy")
def _box_count(i, n, w):
    """Number of samples in the truncated window of output ``i`` (of ``n``), window ``w`` (§1.3)."""
    h = w // 2
    p = w - h
    if i < p:
        return i + h + 1
    if i < n - h:
        return w
    return w - (i - (n - h) + 1)


@njit(cache=True, nogil=True, error_model="numpy")
def _v2_emit(o, H, wc, work, S2, dec_y, out64, state):
    """Write every decimated output row equal to ``o`` from the final vertical running sums."""
    ii = state[0]
    if ii < 64 and dec_y[ii] == o:
        c = np.float32(_box_count(o, H, wc))
        while ii < 64 and dec_y[ii] == o:
            for j in range(64):
                out64[ii, j] = work[S2, j] / c
            ii += 1
        state[0] = ii


@njit(cache=True, nogil=True, error_model="numpy")
def _v2_push(i_in, H, wc, work, R2, S2, T, dec_y, out64, state):
    """Feed row ``i_in`` (64 values at the decimated columns, in ``work[T]``) to the final vertical pass."""
    hc = wc // 2
    pc = wc - hc
    r2 = wc + 1
    slot = R2 + i_in % r2
    for j in range(64):
        work[slot, j] = work[T, j]
    if i_in < hc:
        for j in range(64):
            work[S2, j] += work[T, j]
        return
    o = i_in - hc
    if o < pc:
        for j in range(64):
            work[S2, j] += work[T, j]
    else:
        leave = R2 + (o - pc) % r2
        for j in range(64):
            work[S2, j] = (work[S2, j] + work[T, j]) - work[leave, j]
    _v2_emit(o, H, wc, work, S2, dec_y, out64, state)


@njit(cache=True, nogil=True, error_model="numpy")
def _h2_flush(work, VB, nvb, v2_first, W, wr, H2, sr, dr, CNT, dec_x, H, wc, R2, S2, T, dec_y, out64, state):
    """Second horizontal pass on the ``nvb`` buffered rows of the first vertical pass, then push to V2."""
    for k in range(BLOCK):
        kk = k if k < nvb else nvb - 1  # pad a partial block by repeating its last row
        sr[k] = VB + kk
        dr[k] = H2 + kk
    _box_rows8_raw(work, sr, work, dr, W, wr)
    for k in range(nvb):
        for j in range(64):
            x = dec_x[j]
            work[T, j] = work[H2 + k, x] / work[CNT, x]
        _v2_push(v2_first + k, H, wc, work, R2, S2, T, dec_y, out64, state)


@njit(cache=True, nogil=True, error_model="numpy")
def _v1_row(work, R1, r1, S1, VB, nvb, CNT, y, H, W, wc, has_enter, has_leave):
    """One step of the first vertical pass; the output row (if any) goes to ``work[VB + nvb]``.

    The entering row ``y`` holds raw horizontal sums: it is first divided by the horizontal window
    counts (giving the first horizontal pass's output) and stored back, for when it leaves the window.
    With ``y < wc // 2`` this is phase 1 (accumulate, no output).
    """
    hc = wc // 2
    pc = wc - hc
    i = y - hc
    cur = R1 + y % r1
    if has_enter and i < 0:
        for x in range(W):
            v = work[cur, x] / work[CNT, x]
            work[cur, x] = v
            work[S1, x] += v
        return
    c = np.float32(_box_count(i, H, wc))
    dst = VB + nvb
    leave = R1 + (i - pc) % r1
    if has_enter and has_leave:
        for x in range(W):
            v = work[cur, x] / work[CNT, x]
            work[cur, x] = v
            s = (work[S1, x] + v) - work[leave, x]
            work[S1, x] = s
            work[dst, x] = s / c
    elif has_enter:
        for x in range(W):
            v = work[cur, x] / work[CNT, x]
            work[cur, x] = v
            s = work[S1, x] + v
            work[S1, x] = s
            work[dst, x] = s / c
    else:
        for x in range(W):
            s = work[S1, x] - work[leave, x]
            work[S1, x] = s
            work[dst, x] = s / c


# Integer state of a streamed blur (:func:`ds_init`), int64[CTX_SIZE]: scalars, then index arrays.
_C_H = 0
_C_W = 1
_C_NVB = 4  # first-vertical-pass rows waiting in the VB block
_C_V1OUT = 5  # first-vertical-pass rows already sent on
_C_STATE = 6  # next decimated output row (a 1-element slice is the ``state`` of _v2_emit)
_C_DX = 8
_C_DY = _C_DX + 64
_C_SR = _C_DY + 64
_C_DR = _C_SR + BLOCK
_C_SR2 = _C_DR + BLOCK
_C_DR2 = _C_SR2 + BLOCK
CTX_SIZE = _C_DR2 + BLOCK


@njit(cache=True, nogil=True, error_model="numpy")
def _rows(wc):
    """Workspace row indices (see :func:`downsample_into`): R1, r1, S1, VB, H2, LB, CNT, R2, S2, T."""
    r1 = wc + BLOCK
    R1 = 0  # ring of first-horizontal-pass rows (raw sums, divided in place when consumed)
    S1 = R1 + r1  # running sums of the first vertical pass
    VB = S1 + 1  # block of first-vertical-pass output rows
    H2 = VB + BLOCK  # their second-horizontal-pass raw sums
    LB = H2 + BLOCK  # block of luma rows (filled by the caller of ds_block)
    CNT = LB + BLOCK  # float32 window count per column for the horizontal passes
    R2 = CNT + 1  # ring of second-horizontal-pass rows at the 64 decimated columns
    S2 = R2 + wc + 1  # running sums of the second vertical pass
    T = S2 + 1  # one decimated row (must be a separate row: work[T] is read while R2 rows change)
    return R1, r1, S1, VB, H2, LB, CNT, R2, S2, T


@njit(cache=True, nogil=True, error_model="numpy")
def ds_init(H, W, work, ctx):
    """Start the blur of an ``H x W`` plane, streamed 8 rows at a time; returns the luma block row.

    ``work`` from :func:`alloc_workspace` (``H x W``); ``ctx`` int64[CTX_SIZE] receives the state.
    Then, for ``y0 = 0, 8, 16, ...``: write the luma of rows ``y0 .. y0+nb-1`` (``nb = min(8, H - y0)``)
    into ``work[LB + k, :W]`` (``LB`` the returned row) and call :func:`ds_block`; finally
    :func:`ds_finish`. The result is exactly :func:`downsample_into` of the whole plane.
    """
    wr = jarosz_window(W)
    wc = jarosz_window(H)
    R1, r1, S1, VB, H2, LB, CNT, R2, S2, T = _rows(wc)
    ctx[_C_H] = H
    ctx[_C_W] = W
    ctx[_C_NVB] = 0
    ctx[_C_V1OUT] = 0
    ctx[_C_STATE] = 0
    for x in range(W):
        work[CNT, x] = np.float32(_box_count(x, W, wr))
        work[S1, x] = 0.0
    for j in range(64):
        work[S2, j] = 0.0
        ctx[_C_DX + j] = decimation_index(j, W)
        ctx[_C_DY + j] = decimation_index(j, H)
    return LB


@njit(cache=True, nogil=True, error_model="numpy")
def _ds_v1_out(work, ctx, out64, wr, wc):
    """Count one first-vertical-pass output row; run the second horizontal pass when 8 are buffered."""
    nvb = ctx[_C_NVB] + 1
    if nvb == BLOCK:
        R1, r1, S1, VB, H2, LB, CNT, R2, S2, T = _rows(wc)
        v1_out = ctx[_C_V1OUT]
        _h2_flush(work, VB, nvb, v1_out, ctx[_C_W], wr, H2, ctx[_C_SR2 : _C_SR2 + BLOCK],
                  ctx[_C_DR2 : _C_DR2 + BLOCK], CNT, ctx[_C_DX : _C_DX + 64], ctx[_C_H], wc, R2, S2, T,
                  ctx[_C_DY : _C_DY + 64], out64, ctx[_C_STATE : _C_STATE + 1])
        ctx[_C_V1OUT] = v1_out + nvb
        nvb = 0
    ctx[_C_NVB] = nvb


@njit(cache=True, nogil=True, error_model="numpy")
def ds_block(src, srow, work, ctx, y0, out64):
    """Blur luma rows ``y0 .. y0+nb-1`` (see :func:`ds_init`), read from ``src[srow + k, :W]``.

    ``src`` is ``work`` with ``srow`` the block row from :func:`ds_init`, or a whole float32 luma plane
    with ``srow = y0``.
    """
    H = ctx[_C_H]
    W = ctx[_C_W]
    wr = jarosz_window(W)
    wc = jarosz_window(H)
    hc = wc // 2
    pc = wc - hc
    R1, r1, S1, VB, H2, LB, CNT, R2, S2, T = _rows(wc)
    nb = min(BLOCK, H - y0)
    sr = ctx[_C_SR : _C_SR + BLOCK]
    dr = ctx[_C_DR : _C_DR + BLOCK]
    for k in range(BLOCK):
        kk = k if k < nb else nb - 1  # pad a partial block by repeating its last row
        dr[k] = R1 + (y0 + kk) % r1
        sr[k] = srow + kk
    _box_rows8_raw(src, sr, work, dr, W, wr)
    for k in range(nb):
        y = y0 + k
        _v1_row(work, R1, r1, S1, VB, ctx[_C_NVB], CNT, y, H, W, wc, True, y - hc >= pc)
        if y >= hc:  # else phase 1 of the vertical pass: no output yet
            _ds_v1_out(work, ctx, out64, wr, wc)


@njit(cache=True, nogil=True, error_model="numpy")
def ds_finish(work, ctx, out64):
    """Drain both vertical passes (their phase 4); ``out64`` float32[64, 64] is then complete."""
    H = ctx[_C_H]
    W = ctx[_C_W]
    wr = jarosz_window(W)
    wc = jarosz_window(H)
    hc = wc // 2
    pc = wc - hc
    R1, r1, S1, VB, H2, LB, CNT, R2, S2, T = _rows(wc)
    state = ctx[_C_STATE : _C_STATE + 1]
    for i in range(H - hc, H):  # phase 4 of the first vertical pass
        _v1_row(work, R1, r1, S1, VB, ctx[_C_NVB], CNT, i + hc, H, W, wc, False, True)
        _ds_v1_out(work, ctx, out64, wr, wc)
    nvb = ctx[_C_NVB]
    if nvb > 0:
        _h2_flush(work, VB, nvb, ctx[_C_V1OUT], W, wr, H2, ctx[_C_SR2 : _C_SR2 + BLOCK],
                  ctx[_C_DR2 : _C_DR2 + BLOCK], CNT, ctx[_C_DX : _C_DX + 64], H, wc, R2, S2, T,
                  ctx[_C_DY : _C_DY + 64], out64, state)
    dec_y = ctx[_C_DY : _C_DY + 64]
    for o in range(H - hc, H):  # phase 4 of the second vertical pass
        leave = R2 + (o - pc) % (wc + 1)
        for j in range(64):
            work[S2, j] = work[S2, j] - work[leave, j]
        _v2_emit(o, H, wc, work, S2, dec_y, out64, state)


@njit(cache=True, nogil=True, error_model="numpy")
def downsample_into(luma, rgb, mode, work, out64):
    """Jarosz tent filter (2 x (horizontal, vertical) box passes) then 64x64 decimation (§1.3, §1.4).

    Parameters
    ----------
    luma : float32[H, W]
        Source plane when ``mode == MODE_LUMA`` (not modified). Otherwise ignored (may be a dummy).
    rgb : uint8[H, W, 3]
        Source image for ``MODE_RGB`` / ``MODE_RGB_F64``: luma is computed on the fly, 8 rows at a time.
    mode : int
        ``MODE_LUMA`` (0), ``MODE_RGB`` (1, float32 luma, §1.2) or ``MODE_RGB_F64`` (2, PyPI pdqhash luma).
    work : float32[workspace_rows(H, W), >= max(W, 64)]
        Scratch from :func:`alloc_workspace` (contents irrelevant; fully overwritten where read).
    out64 : float32[64, 64]
        Receives the blurred and decimated plane.
    """
    if mode == MODE_LUMA:
        H = luma.shape[0]
        W = luma.shape[1]
    else:
        H = rgb.shape[0]
        W = rgb.shape[1]
    ctx = np.empty(CTX_SIZE, dtype=np.int64)
    LB = ds_init(H, W, work, ctx)
    flat = rgb.reshape((rgb.shape[0], 3 * rgb.shape[1]))
    for y0 in range(0, H, BLOCK):
        if mode == MODE_LUMA:
            ds_block(luma, y0, work, ctx, y0, out64)
            continue
        for k in range(min(BLOCK, H - y0)):
            if mode == MODE_RGB:
                luma_row_from_rgb(flat, y0 + k, W, work, LB + k)
            else:
                luma_row_from_rgb_f64(flat, y0 + k, W, work, LB + k)
        ds_block(work, LB, work, ctx, y0, out64)
    ds_finish(work, ctx, out64)


# --------------------------------------------------------------------------------------------------
# Quality, DCT, median, bits


@njit(cache=True, nogil=True, error_model="numpy")
def quality_64(a):
    """Image-domain quality (0..100) of the 64x64 plane ``a`` (§1.5)."""
    g = 0
    c100 = np.float32(100.0)
    c255 = np.float32(255.0)
    for i in range(63):
        for j in range(64):
            d = int(((a[i, j] - a[i + 1, j]) * c100) / c255)
            g += abs(d)
    for i in range(64):
        for j in range(63):
            d = int(((a[i, j] - a[i, j + 1]) * c100) / c255)
            g += abs(d)
    q = g // 90
    return min(q, 100)


@njit(cache=True, nogil=True, error_model="numpy")
def dct64_to16_into(a, tmp, b):
    """``b = D · a · Dᵀ`` (§1.6): ``a`` float32[64, 64], ``tmp`` float32[16, 64] scratch, ``b`` float32[16, 16].

    Each output is a sequential f32 sum over the inner index in increasing order, as in the reference;
    the loops are ordered so that the innermost one runs over independent outputs (vectorisable).
    """
    for u in range(16):
        for x in range(64):
            tmp[u, x] = 0.0
        for y in range(64):
            d = DCT_MATRIX[u, y]
            for x in range(64):
                tmp[u, x] = tmp[u, x] + d * a[y, x]
    for u in range(16):
        for v in range(16):
            b[u, v] = 0.0
        for x in range(64):
            t = tmp[u, x]
            for v in range(16):
                b[u, v] = b[u, v] + t * DCT_MATRIX_T[x, v]


@njit(cache=True, nogil=True, error_model="numpy")
def median_lower_256(b, scratch):
    """The 128th smallest of 256 values (``sorted(b)[127]``, §1.7). ``scratch`` float32[256] is clobbered."""
    n = 256
    for k in range(n):
        scratch[k] = b[k]
    # Hoare quickselect for rank 127
    lo = 0
    hi = n - 1
    kth = 127
    while lo < hi:
        pivot = scratch[(lo + hi) >> 1]
        i = lo
        j = hi
        while i <= j:
            while scratch[i] < pivot:
                i += 1
            while scratch[j] > pivot:
                j -= 1
            if i <= j:
                tmp = scratch[i]
                scratch[i] = scratch[j]
                scratch[j] = tmp
                i += 1
                j -= 1
        if kth <= j:
            hi = j
        elif kth >= i:
            lo = i
        else:
            break
    return scratch[kth]


@njit(cache=True, nogil=True, error_model="numpy")
def bits_into(b, scratch, words):
    """Threshold ``b`` (float32[256], k = 16u + v) at its lower median into ``words`` uint64[4] (hash.py layout)."""
    m = median_lower_256(b, scratch)
    for w in range(4):
        words[w] = 0
    for k in range(256):
        if b[k] > m:
            words[3 - (k >> 6)] |= np.uint64(1) << np.uint64(k & 63)


@njit(cache=True, nogil=True, error_model="numpy")
def dihedral_into(b, out):
    """The 8 dihedral DCT matrices of ``b`` (float32[16, 16]) into ``out`` float32[8, 16, 16] (§1.9).

    Order: orig, rot90, rot180, rot270, flipx, flipy, flipplus1, flipminus1.
    """
    for u in range(16):
        for v in range(16):
            x = b[u, v]
            out[0, u, v] = x
            out[1, v, u] = x if (v & 1) else -x
            out[2, u, v] = -x if ((u + v) & 1) else x
            out[3, v, u] = x if (u & 1) else -x
            out[4, u, v] = x if (u & 1) else -x
            out[5, u, v] = x if (v & 1) else -x
            out[6, v, u] = x
            out[7, v, u] = -x if ((u + v) & 1) else x


# --------------------------------------------------------------------------------------------------
# Whole pipelines


@njit(cache=True, nogil=True, error_model="numpy")
def pdqf_into(luma, rgb, mode, shortcut, work, a64, tmp, b):
    """Luma (or RGB) -> 64x64 -> PDQF ``b`` float32[16, 16]; returns quality (§1.1 steps 3-5).

    ``mode``: ``MODE_LUMA`` (``luma`` float32[H, W] is the source), ``MODE_RGB`` or ``MODE_RGB_F64``
    (``rgb`` uint8[H, W, 3] is the source); the other array is ignored and may be a dummy.
    ``shortcut``: when true and the input is exactly 64x64, skip the blur (reference non-dihedral and
    float entry points); when false always blur (reference dihedral entry point). No size guard here.
    ``work`` from :func:`alloc_workspace`; ``a64`` float32[64, 64] and ``tmp`` float32[16, 64] scratch.
    """
    if mode == 0:
        H = luma.shape[0]
        W = luma.shape[1]
    else:
        H = rgb.shape[0]
        W = rgb.shape[1]
    if shortcut and H == 64 and W == 64:
        if mode == 0:
            for y in range(64):
                for x in range(64):
                    a64[y, x] = luma[y, x]
        else:
            flat = rgb.reshape((64, 3 * 64))
            for y in range(64):
                if mode == MODE_RGB:
                    luma_row_from_rgb(flat, y, 64, a64, y)
                else:
                    luma_row_from_rgb_f64(flat, y, 64, a64, y)
    else:
        downsample_into(luma, rgb, mode, work, a64)
    q = quality_64(a64)
    dct64_to16_into(a64, tmp, b)
    return q


@njit(cache=True, nogil=True, error_model="numpy")
def hash_into(luma, rgb, mode, work, a64, tmp, b, scratch, words):
    """Full PDQ of one frame (§1.1): writes ``words`` uint64[4] and ``b`` float32[16, 16]; returns quality.

    Applies the size guard (H or W < 5 -> zero words, quality 0, ``b`` zeroed) and the 64x64 shortcut.
    ``scratch`` float32[256]. Other arguments as :func:`pdqf_into`.
    """
    if mode == 0:
        H = luma.shape[0]
        W = luma.shape[1]
    else:
        H = rgb.shape[0]
        W = rgb.shape[1]
    if H < MIN_HASHABLE_DIM or W < MIN_HASHABLE_DIM:
        for w in range(4):
            words[w] = 0
        for u in range(16):
            for v in range(16):
                b[u, v] = 0.0
        return 0
    q = pdqf_into(luma, rgb, mode, True, work, a64, tmp, b)
    bits_into(b.reshape(256), scratch, words)
    return q


@njit(cache=True, nogil=True, error_model="numpy")
def dihedral_hash_into(luma, rgb, mode, work, a64, tmp, b, b8, scratch, words8):
    """The 8 dihedral hashes (§1.9) into ``words8`` uint64[8, 4]; ``b8`` float32[8, 16, 16] scratch.

    Always blurs (no 64x64 shortcut), as the reference dihedral entry point. Returns quality.
    """
    if mode == 0:
        H = luma.shape[0]
        W = luma.shape[1]
    else:
        H = rgb.shape[0]
        W = rgb.shape[1]
    if H < MIN_HASHABLE_DIM or W < MIN_HASHABLE_DIM:
        for d in range(8):
            for w in range(4):
                words8[d, w] = 0
        return 0
    q = pdqf_into(luma, rgb, mode, False, work, a64, tmp, b)
    dihedral_into(b, b8)
    for d in range(8):
        bits_into(b8[d].reshape(256), scratch, words8[d])
    return q


@njit(cache=True, nogil=True, error_model="numpy")
def hash_luma_batch_into(lumas, words, quality):
    """PDQ of every frame of ``lumas`` float32[N, H, W] into ``words`` uint64[N, 4], ``quality`` int32[N]."""
    n = lumas.shape[0]
    H = lumas.shape[1]
    W = lumas.shape[2]
    work = np.zeros((workspace_rows(H, W), max(W, 64)), dtype=np.float32)
    a64 = np.empty((64, 64), dtype=np.float32)
    tmp = np.empty((16, 64), dtype=np.float32)
    b = np.empty((16, 16), dtype=np.float32)
    scratch = np.empty(256, dtype=np.float32)
    dummy = np.empty((0, 0, 3), dtype=np.uint8)
    for f in range(n):
        quality[f] = hash_into(lumas[f], dummy, 0, work, a64, tmp, b, scratch, words[f])


@njit(cache=True, nogil=True, error_model="numpy")
def dihedral_luma_batch_into(lumas, words8, quality):
    """Dihedral PDQ of every frame: ``lumas`` float32[N, H, W] -> ``words8`` uint64[N, 8, 4], ``quality`` int32[N]."""
    n = lumas.shape[0]
    H = lumas.shape[1]
    W = lumas.shape[2]
    work = np.zeros((workspace_rows(H, W), max(W, 64)), dtype=np.float32)
    a64 = np.empty((64, 64), dtype=np.float32)
    tmp = np.empty((16, 64), dtype=np.float32)
    b = np.empty((16, 16), dtype=np.float32)
    b8 = np.empty((8, 16, 16), dtype=np.float32)
    scratch = np.empty(256, dtype=np.float32)
    dummy = np.empty((0, 0, 3), dtype=np.uint8)
    for f in range(n):
        quality[f] = dihedral_hash_into(lumas[f], dummy, 0, work, a64, tmp, b, b8, scratch, words8[f])


@njit(cache=True, nogil=True, error_model="numpy")
def pdqf_luma_batch_into(lumas, coeffs, quality):
    """PDQF of every frame: ``lumas`` float32[N, H, W] -> ``coeffs`` float32[N, 256], ``quality`` int32[N].

    Float entry point semantics (§1.10): no size guard, and 64x64 frames are not blurred.
    """
    n = lumas.shape[0]
    H = lumas.shape[1]
    W = lumas.shape[2]
    work = np.zeros((workspace_rows(H, W), max(W, 64)), dtype=np.float32)
    a64 = np.empty((64, 64), dtype=np.float32)
    tmp = np.empty((16, 64), dtype=np.float32)
    b = np.empty((16, 16), dtype=np.float32)
    dummy = np.empty((0, 0, 3), dtype=np.uint8)
    for f in range(n):
        quality[f] = pdqf_into(lumas[f], dummy, 0, True, work, a64, tmp, b)
        out = coeffs[f]
        for u in range(16):
            for v in range(16):
                out[16 * u + v] = b[u, v]
