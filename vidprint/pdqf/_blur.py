"""Jarosz tent blur and 64x64 decimation of PDQ (docs/algorithms.md §1.3, §1.4), streamed, bit-exact.

Arithmetic follows the reference operation by operation in float32 (no fastmath, so LLVM neither
reassociates nor contracts ``a*b + c`` into an FMA): two passes of (horizontal box, vertical box),
each box a running f32 sum with the reference's four phases and an integer count; then decimation by
f64 centre indices.

Speed without changing a single rounding:

* The blur is streamed over blocks of :data:`BLOCK` image rows, so every intermediate row stays in
  L1/L2 instead of ping-ponging two full-size planes. Vertical passes update one running sum per
  column, row after row (the same per-column sequence of operations as the reference, but vectorised
  across columns).
* A horizontal running sum is a serial chain of dependent additions; 8 rows are processed together so
  that 8 independent chains hide the add latency. The chains store the raw sums; the division by the
  window count happens later, vectorised (same f32 quotient).
* The second vertical pass runs only on the 64 decimated columns and writes only the 64 decimated rows
  (its running sums still see every row, exactly as the reference).

All kernels use ``error_model="numpy"``: with Numba's default ("python") every float division carries a
zero-divisor check that blocks vectorisation. No divisor here can be zero.

Memory: one float32 workspace (:func:`alloc_workspace`) whose rows serve as ring buffers and block
buffers (:func:`_layout`), and one int64 state vector (:data:`STATE_SIZE`, named slots ``ST_*``).
Streaming use: :func:`ds_init`, then :func:`ds_block` per block of 8 luma rows, then :func:`ds_finish`;
:func:`downsample_into` does the three for a whole plane.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from vidprint.decode.luma import luma_row_from_rgb, luma_row_from_rgb_f64

#: Image rows per horizontal-pass block (= independent running-sum chains of :func:`_box_rows8_raw`).
BLOCK = 8
#: PDQ decimates to OUT x OUT samples.
OUT = 64

# ``mode`` argument of :func:`downsample_into` and the pipelines: what the source array is
MODE_LUMA = 0  # float32[H, W] luma plane
MODE_RGB = 1  # uint8[H, W, 3], luma in float32 as the C++ reference
MODE_RGB_F64 = 2  # uint8[H, W, 3], luma in float64 then rounded, as PyPI ``pdqhash``


@njit(cache=True, nogil=True, error_model="numpy")
def jarosz_window(n):
    """Box window for a dimension of ``n`` pixels reduced to 64: ``(n + 127) // 128`` (§1.3)."""
    return (n + 2 * OUT - 1) // (2 * OUT)


@njit(cache=True, nogil=True, error_model="numpy")
def decimation_index(i, n):
    """Source index of output sample ``i`` (0..63) along a dimension of ``n``: f64 centre, truncated."""
    return int(((i + 0.5) * n) / OUT)


@njit(cache=True, nogil=True, error_model="numpy")
def workspace_rows(h, w):
    """Number of rows of the workspace needed for an ``h x w`` plane (see :func:`_layout`)."""
    wc = jarosz_window(h)
    # ring1 (wc + BLOCK), sum1, VB/H2/LB blocks, count row, ring2 (wc + 1), sum2, decimated row
    return (wc + BLOCK) + 1 + 3 * BLOCK + 1 + (wc + 1) + 2


def alloc_workspace(h: int, w: int) -> np.ndarray:
    """Scratch for blurring ``h x w`` planes: ``float32[workspace_rows(h, w), max(w, 64)]``."""
    return np.zeros((int(workspace_rows(h, w)), max(w, OUT)), dtype=np.float32)


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


# Integer state of a streamed blur: int64[STATE_SIZE], filled by :func:`ds_init`.
ST_HEIGHT = 0  # H, rows of the plane
ST_WIDTH = 1  # W, columns of the plane
ST_V1_PENDING = 2  # first-vertical-pass output rows waiting in the VB block (0 .. BLOCK-1)
ST_V1_SENT = 3  # first-vertical-pass output rows already sent on to the second passes
ST_NEXT_OUT = 4  # next decimated output row to write (0 .. 64)
ST_DEC_X = 8  # 64 slots: source column of each decimated column
ST_DEC_Y = ST_DEC_X + OUT  # 64 slots: source row of each decimated row
ST_SRC_ROWS = ST_DEC_Y + OUT  # BLOCK slots: source rows of the first horizontal pass's block
ST_DST_ROWS = ST_SRC_ROWS + BLOCK  # BLOCK slots: its destination rows
ST_SRC_ROWS2 = ST_DST_ROWS + BLOCK  # BLOCK slots: source rows of the second horizontal pass's block
ST_DST_ROWS2 = ST_SRC_ROWS2 + BLOCK  # BLOCK slots: its destination rows
STATE_SIZE = ST_DST_ROWS2 + BLOCK


@njit(cache=True, nogil=True, error_model="numpy")
def _layout(wc):
    """Workspace rows for a vertical window ``wc``: ``(R1, r1, S1, VB, H2, LB, CNT, R2, S2, T)``.

    R1: ring of ``r1`` first-horizontal-pass rows (raw sums, divided in place when consumed);
    S1: running sums of the first vertical pass; VB: block of first-vertical-pass output rows;
    H2: their second-horizontal-pass raw sums; LB: block of luma rows (filled by the caller of
    :func:`ds_block`); CNT: float32 window count per column for the horizontal passes; R2: ring of
    second-horizontal-pass rows at the 64 decimated columns; S2: running sums of the second vertical
    pass; T: one decimated row (a separate row: ``work[T]`` is read while R2 rows change).
    """
    r1 = wc + BLOCK
    R1 = 0
    S1 = R1 + r1
    VB = S1 + 1
    H2 = VB + BLOCK
    LB = H2 + BLOCK
    CNT = LB + BLOCK
    R2 = CNT + 1
    S2 = R2 + wc + 1
    T = S2 + 1
    return R1, r1, S1, VB, H2, LB, CNT, R2, S2, T


@njit(cache=True, nogil=True, error_model="numpy")
def _v2_emit(work, ctx, o, out64):
    """Write every decimated output row whose source row is ``o`` from the final vertical sums."""
    H = ctx[ST_HEIGHT]
    wc = jarosz_window(H)
    S2 = _layout(wc)[8]
    ii = ctx[ST_NEXT_OUT]
    if ii < OUT and ctx[ST_DEC_Y + ii] == o:
        c = np.float32(_box_count(o, H, wc))
        while ii < OUT and ctx[ST_DEC_Y + ii] == o:
            for j in range(OUT):
                out64[ii, j] = work[S2, j] / c
            ii += 1
        ctx[ST_NEXT_OUT] = ii


@njit(cache=True, nogil=True, error_model="numpy")
def _v2_push(work, ctx, i_in, out64):
    """Feed row ``i_in`` (64 values at the decimated columns, in ``work[T]``) to the final vertical pass."""
    wc = jarosz_window(ctx[ST_HEIGHT])
    R1, r1, S1, VB, H2, LB, CNT, R2, S2, T = _layout(wc)
    hc = wc // 2
    pc = wc - hc
    r2 = wc + 1
    slot = R2 + i_in % r2
    for j in range(OUT):
        work[slot, j] = work[T, j]
    if i_in < hc:
        for j in range(OUT):
            work[S2, j] += work[T, j]
        return
    o = i_in - hc
    if o < pc:
        for j in range(OUT):
            work[S2, j] += work[T, j]
    else:
        leave = R2 + (o - pc) % r2
        for j in range(OUT):
            work[S2, j] = (work[S2, j] + work[T, j]) - work[leave, j]
    _v2_emit(work, ctx, o, out64)


@njit(cache=True, nogil=True, error_model="numpy")
def _h2_flush(work, ctx, nvb, v2_first, out64):
    """Second horizontal pass on the ``nvb`` buffered rows of the first vertical pass (the first of
    them being first-vertical-pass output row ``v2_first``), then push them to the final vertical pass."""
    W = ctx[ST_WIDTH]
    wr = jarosz_window(W)
    R1, r1, S1, VB, H2, LB, CNT, R2, S2, T = _layout(jarosz_window(ctx[ST_HEIGHT]))
    sr = ctx[ST_SRC_ROWS2 : ST_SRC_ROWS2 + BLOCK]
    dr = ctx[ST_DST_ROWS2 : ST_DST_ROWS2 + BLOCK]
    for k in range(BLOCK):
        kk = k if k < nvb else nvb - 1  # pad a partial block by repeating its last row
        sr[k] = VB + kk
        dr[k] = H2 + kk
    _box_rows8_raw(work, sr, work, dr, W, wr)
    for k in range(nvb):
        for j in range(OUT):
            x = ctx[ST_DEC_X + j]
            work[T, j] = work[H2 + k, x] / work[CNT, x]
        _v2_push(work, ctx, v2_first + k, out64)


@njit(cache=True, nogil=True, error_model="numpy")
def _v1_row(work, ctx, y, has_enter, has_leave):
    """One step of the first vertical pass; the output row (if any) goes to ``work[VB + pending]``.

    The entering row ``y`` holds raw horizontal sums: it is first divided by the horizontal window
    counts (giving the first horizontal pass's output) and stored back, for when it leaves the window.
    With ``y < wc // 2`` this is phase 1 (accumulate, no output).
    """
    H = ctx[ST_HEIGHT]
    W = ctx[ST_WIDTH]
    wc = jarosz_window(H)
    R1, r1, S1, VB, H2, LB, CNT, R2, S2, T = _layout(wc)
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
    dst = VB + ctx[ST_V1_PENDING]
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


@njit(cache=True, nogil=True, error_model="numpy")
def _ds_v1_out(work, ctx, out64):
    """Count one first-vertical-pass output row; run the second horizontal pass when 8 are buffered."""
    nvb = ctx[ST_V1_PENDING] + 1
    if nvb == BLOCK:
        sent = ctx[ST_V1_SENT]
        _h2_flush(work, ctx, nvb, sent, out64)
        ctx[ST_V1_SENT] = sent + nvb
        nvb = 0
    ctx[ST_V1_PENDING] = nvb


@njit(cache=True, nogil=True, error_model="numpy")
def ds_init(H, W, work, ctx):
    """Start the blur of an ``H x W`` plane, streamed 8 rows at a time; returns the luma block row.

    ``work`` from :func:`alloc_workspace` (``H x W``); ``ctx`` int64[STATE_SIZE] receives the state.
    Then, for ``y0 = 0, 8, 16, ...``: write the luma of rows ``y0 .. y0+nb-1`` (``nb = min(8, H - y0)``)
    into ``work[LB + k, :W]`` (``LB`` the returned row) and call :func:`ds_block`; finally
    :func:`ds_finish`. The result is exactly :func:`downsample_into` of the whole plane.
    """
    wr = jarosz_window(W)
    wc = jarosz_window(H)
    R1, r1, S1, VB, H2, LB, CNT, R2, S2, T = _layout(wc)
    ctx[ST_HEIGHT] = H
    ctx[ST_WIDTH] = W
    ctx[ST_V1_PENDING] = 0
    ctx[ST_V1_SENT] = 0
    ctx[ST_NEXT_OUT] = 0
    for x in range(W):
        work[CNT, x] = np.float32(_box_count(x, W, wr))
        work[S1, x] = 0.0
    for j in range(OUT):
        work[S2, j] = 0.0
        ctx[ST_DEC_X + j] = decimation_index(j, W)
        ctx[ST_DEC_Y + j] = decimation_index(j, H)
    return LB


@njit(cache=True, nogil=True, error_model="numpy")
def ds_block(src, srow, work, ctx, y0, out64):
    """Blur luma rows ``y0 .. y0+nb-1`` (see :func:`ds_init`), read from ``src[srow + k, :W]``.

    ``src`` is ``work`` with ``srow`` the block row from :func:`ds_init`, or a whole float32 luma plane
    with ``srow = y0``.
    """
    H = ctx[ST_HEIGHT]
    W = ctx[ST_WIDTH]
    wr = jarosz_window(W)
    wc = jarosz_window(H)
    hc = wc // 2
    pc = wc - hc
    R1, r1, S1, VB, H2, LB, CNT, R2, S2, T = _layout(wc)
    nb = min(BLOCK, H - y0)
    sr = ctx[ST_SRC_ROWS : ST_SRC_ROWS + BLOCK]
    dr = ctx[ST_DST_ROWS : ST_DST_ROWS + BLOCK]
    for k in range(BLOCK):
        kk = k if k < nb else nb - 1  # pad a partial block by repeating its last row
        dr[k] = R1 + (y0 + kk) % r1
        sr[k] = srow + kk
    _box_rows8_raw(src, sr, work, dr, W, wr)
    for k in range(nb):
        y = y0 + k
        _v1_row(work, ctx, y, True, y - hc >= pc)
        if y >= hc:  # else phase 1 of the vertical pass: no output yet
            _ds_v1_out(work, ctx, out64)


@njit(cache=True, nogil=True, error_model="numpy")
def ds_finish(work, ctx, out64):
    """Drain both vertical passes (their phase 4); ``out64`` float32[64, 64] is then complete."""
    H = ctx[ST_HEIGHT]
    wc = jarosz_window(H)
    hc = wc // 2
    pc = wc - hc
    R1, r1, S1, VB, H2, LB, CNT, R2, S2, T = _layout(wc)
    for i in range(H - hc, H):  # phase 4 of the first vertical pass
        _v1_row(work, ctx, i + hc, False, True)
        _ds_v1_out(work, ctx, out64)
    nvb = ctx[ST_V1_PENDING]
    if nvb > 0:
        _h2_flush(work, ctx, nvb, ctx[ST_V1_SENT], out64)
    for o in range(H - hc, H):  # phase 4 of the second vertical pass
        leave = R2 + (o - pc) % (wc + 1)
        for j in range(OUT):
            work[S2, j] = work[S2, j] - work[leave, j]
        _v2_emit(work, ctx, o, out64)


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
        ``MODE_LUMA`` (0), ``MODE_RGB`` (1, float32 luma) or ``MODE_RGB_F64`` (2, PyPI pdqhash luma).
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
    ctx = np.empty(STATE_SIZE, dtype=np.int64)
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
