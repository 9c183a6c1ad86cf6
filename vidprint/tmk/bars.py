"""Letterbox and pillarbox bars: detect flat borders in a frame and resample the content area.

Used for an optional *content-area* compact TMK descriptor: every frame's flat bars (black or any
flat colour) are cut off before PDQF, so a letterboxed or pillarboxed copy gives the features of the
original picture. Frames come from a TMK frame source at a larger size than the reference's 64x64
(``TMKSource(size=128)``: bars of a few percent are still a few rows there), the content area is
resampled to 64x64 with an area (box) filter, then PDQF as usual (no blur: an exact 64x64 input).

Detection (:func:`detect_bars`), per frame, so the descriptor is still computed in one streaming
pass: a border row (column) is *flat* when its standard deviation is below ``flat_std`` luma levels
and its mean is within ``same_level`` of the outermost row's mean. Bars are the runs of flat rows
from the top and bottom (columns from left and right). They are only cut in symmetric pairs (top and
bottom within ``max(2, 25%)`` rows of each other, as letterboxing pads), between ``min_bar`` rows and
``max_fraction`` of the side, so a uniform sky or floor at one edge is not mistaken for a bar; a
frame that is flat everywhere (a fade to black) is not cut at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit

from vidprint.pdqf import pdqf_luma_batch

OUT = 64


@dataclass(frozen=True)
class BarParams:
    flat_std: float = 4.0
    same_level: float = 6.0
    min_bar: int = 2
    max_fraction: float = 0.3


DEFAULT_BARS = BarParams()


@njit(cache=True, nogil=True)
def _flat_run(lines: np.ndarray, flat_std: float, same_level: float) -> int:
    """Leading run of flat lines (rows of ``lines``: float32[n, m])."""
    n, m = lines.shape
    ref = 0.0
    for i in range(n):
        s = 0.0
        for j in range(m):
            s += lines[i, j]
        mean = s / m
        v = 0.0
        for j in range(m):
            d = lines[i, j] - mean
            v += d * d
        if np.sqrt(v / m) >= flat_std:
            return i
        if i == 0:
            ref = mean
        elif abs(mean - ref) > same_level:
            return i
    return n


def _pair(a: int, b: int, n: int, p: BarParams) -> tuple[int, int]:
    if a >= n or b >= n:  # the whole frame is flat: leave it alone
        return 0, 0
    lo, hi = min(a, b), max(a, b)
    if lo < p.min_bar or hi > p.max_fraction * n or hi - lo > max(2, 0.25 * hi):
        return 0, 0
    return a, b


def detect_bars(luma: np.ndarray, params: BarParams = DEFAULT_BARS) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` bar thickness in pixels of one frame (``float32[h, w]`` luma)."""
    y = np.ascontiguousarray(luma, dtype=np.float32)
    h, w = y.shape
    top = _flat_run(y, params.flat_std, params.same_level)
    bottom = _flat_run(np.ascontiguousarray(y[::-1]), params.flat_std, params.same_level)
    left = _flat_run(np.ascontiguousarray(y.T), params.flat_std, params.same_level)
    right = _flat_run(np.ascontiguousarray(y.T[::-1]), params.flat_std, params.same_level)
    top, bottom = _pair(top, bottom, h, params)
    left, right = _pair(left, right, w, params)
    return top, bottom, left, right


@njit(cache=True, nogil=True)
def _resample_into(y, t, l, ch, cw, ah, alo, ahi, aw, blo, bhi, tmp, out):
    """out[64, 64] = A @ y[t:t+ch, l:l+cw] @ B.T with the sparse area matrices ``ah`` (64 x ch) and
    ``aw`` (64 x cw), each row non-zero on ``[lo, hi)``."""
    for i in range(ch):
        for o in range(OUT):
            acc = 0.0
            for j in range(blo[o], bhi[o]):
                acc += aw[o, j] * y[t + i, l + j]
            tmp[i, o] = acc
    for o in range(OUT):
        for p in range(OUT):
            acc = 0.0
            for i in range(alo[o], ahi[o]):
                acc += ah[o, i] * tmp[i, p]
            out[o, p] = acc


@lru_cache(maxsize=256)
def _support(n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = _area_matrix(n_in)
    nz = m > 0
    lo = nz.argmax(axis=1).astype(np.int64)
    hi = (n_in - nz[:, ::-1].argmax(axis=1)).astype(np.int64)
    return np.ascontiguousarray(m), lo, hi


@lru_cache(maxsize=256)
def _area_matrix(n_in: int, n_out: int = OUT) -> np.ndarray:
    """float32[n_out, n_in]: each output sample is the mean of the input interval it covers."""
    m = np.zeros((n_out, n_in), np.float64)
    edges = np.linspace(0.0, n_in, n_out + 1)
    for o in range(n_out):
        a, b = edges[o], edges[o + 1]
        for i in range(int(np.floor(a)), min(n_in, int(np.ceil(b)))):
            m[o, i] = max(0.0, min(b, i + 1) - max(a, i))
        m[o] /= m[o].sum()
    out = m.astype(np.float32)
    out.flags.writeable = False
    return out


def content_luma(luma: np.ndarray, params: BarParams = DEFAULT_BARS) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The frame's content area (bars cut, :func:`detect_bars`) resampled to ``float32[64, 64]``."""
    t, b, l, r = detect_bars(luma, params)
    h, w = luma.shape
    c = np.asarray(luma, dtype=np.float32)[t : h - b, l : w - r]
    return _area_matrix(c.shape[0]) @ c @ _area_matrix(c.shape[1]).T, (t, b, l, r)


def content_features(luma: np.ndarray, params: BarParams = DEFAULT_BARS) -> tuple[np.ndarray, np.ndarray]:
    """PDQF ``float32[n, 256]`` of the content areas of ``n`` frames (``float32[n, h, w]`` luma), and
    the bars found, ``int32[n, 4]`` (top, bottom, left, right)."""
    y = np.ascontiguousarray(luma, dtype=np.float32)
    n, h, w = y.shape
    bars = np.array([detect_bars(f, params) for f in y], dtype=np.int32).reshape(n, 4)
    frames = np.empty((n, OUT, OUT), np.float32)
    tmp = np.empty((h, OUT), np.float32)
    for k in range(n):
        t, b, l, r = bars[k]
        ah, alo, ahi = _support(h - t - b)
        aw, blo, bhi = _support(w - l - r)
        _resample_into(y[k], t, l, h - t - b, w - l - r, ah, alo, ahi, aw, blo, bhi, tmp, frames[k])
    return pdqf_luma_batch(frames), bars


__all__ = ["BarParams", "DEFAULT_BARS", "content_features", "content_luma", "detect_bars"]
