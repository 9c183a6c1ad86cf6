"""Numba kernels of the TMK+PDQF profile. Private: the public API is in the sibling modules.

Arithmetic that the reference performs in f32 is kept in f32 here, with the same evaluation order
(docs/algorithms.md §2.4-§2.7); no kernel that must reproduce reference bits uses ``fastmath``. The dot-product
and level-1 kernels, whose results are compared with a tolerance, accumulate in f64 and allow
reassociation so that LLVM can vectorize the reductions.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_TWO_PI = 2.0 * np.pi
_F32_ZERO = np.float32(0.0)
_F32_TWO = np.float32(2.0)
_F32_ONE = np.float32(1.0)


@njit(cache=True, nogil=True)
def accumulate_frames(features, t0, periods, avg, cos_acc, sin_acc, g, cos_j, sin_j):
    """Ingest frames ``features[k]`` at times ``t0 + k`` into the running sums, in place.

    features: float32[n, d] raw PDQF vectors, C-contiguous.
    t0: int, 0-based index of ``features[0]`` in the 15 fps stream.
    periods: int32[P].
    avg: float32[d] running sum of raw features.
    cos_acc, sin_acc: float32[P, m, d] running cosine / sine sums.
    g: float32[d] scratch; cos_j, sin_j: float64[m] scratch.

    Per frame (docs/algorithms.md §2.4): ``avg += f`` in f32; ``g = f / ||f||`` with an f32 sequential norm;
    ``C[p][0] += g`` in f32; for j >= 1, ``C[p][j] = f32(f64(C) + f64(g) * cos(theta))`` with
    ``theta = ((2*pi*j)*t)/T_p`` in f64, and likewise for the sine sums.
    """
    n, d = features.shape
    num_periods = periods.shape[0]
    m = cos_acc.shape[1]
    for k in range(n):
        t = float(t0 + k)
        norm_sq = _F32_ZERO
        for i in range(d):
            x = features[k, i]
            avg[i] += x
            norm_sq += x * x
        norm = np.sqrt(norm_sq)
        if norm > _F32_ZERO:
            for i in range(d):
                g[i] = features[k, i] / norm
        else:
            for i in range(d):
                g[i] = features[k, i]
        for p in range(num_periods):
            period = float(periods[p])
            for j in range(1, m):
                arg = _TWO_PI * float(j) * t / period
                cos_j[j] = np.cos(arg)
                sin_j[j] = np.sin(arg)
            c0 = cos_acc[p, 0]
            for i in range(d):
                c0[i] += g[i]
            for j in range(1, m):
                c = cos_j[j]
                s = sin_j[j]
                cr = cos_acc[p, j]
                sr = sin_acc[p, j]
                for i in range(d):
                    gi = np.float64(g[i])
                    cr[i] = np.float32(np.float64(cr[i]) + gi * c)
                    sr[i] = np.float32(np.float64(sr[i]) + gi * s)


@njit(cache=True, nogil=True)
def _normalize_scale_f32(v, scale):
    """``v = (v / ||v||) * scale`` in f32 (sequential f32 norm), if ``||v|| > 0``."""
    norm_sq = _F32_ZERO
    for i in range(v.shape[0]):
        norm_sq += v[i] * v[i]
    norm = np.sqrt(norm_sq)
    if norm > _F32_ZERO:
        for i in range(v.shape[0]):
            v[i] = v[i] / norm
        for i in range(v.shape[0]):
            v[i] = v[i] * scale


@njit(cache=True, nogil=True)
def finalize_in_place(count, coefficients, avg, cos_acc, sin_acc):
    """Spec §2.5 on copies of the running sums: average, then normalize and weight each vector.

    count: number of frames ingested (> 0). coefficients: float32[m].
    """
    fcount = np.float32(count)
    for i in range(avg.shape[0]):
        avg[i] = avg[i] / fcount
    num_periods, m, _ = cos_acc.shape
    for p in range(num_periods):
        for j in range(m):
            w = np.sqrt(coefficients[j])
            _normalize_scale_f32(cos_acc[p, j], w)
            _normalize_scale_f32(sin_acc[p, j], w)


@njit(cache=True, nogil=True, fastmath={"reassoc", "nsz"})
def pair_dots(a_cos, a_sin, b_cos, b_sin, out):
    """Per-(period, coefficient) dot products of two descriptors, accumulated in f64.

    a_cos, a_sin, b_cos, b_sin: float32[P, m, d]. out: float64[4, P, m] receives
    ``CC = C^A.C^B``, ``SS = S^A.S^B``, ``SC = S^A.C^B``, ``CS = C^A.S^B`` (docs/algorithms.md §2.7).
    """
    num_periods, m, d = a_cos.shape
    for p in range(num_periods):
        for j in range(m):
            cc = 0.0
            ss = 0.0
            sc = 0.0
            cs = 0.0
            for i in range(d):
                ac = np.float64(a_cos[p, j, i])
                as_ = np.float64(a_sin[p, j, i])
                bc = np.float64(b_cos[p, j, i])
                bs = np.float64(b_sin[p, j, i])
                cc += ac * bc
                ss += as_ * bs
                sc += as_ * bc
                cs += ac * bs
            out[0, p, j] = cc
            out[1, p, j] = ss
            out[2, p, j] = sc
            out[3, p, j] = cs


@njit(cache=True, nogil=True)
def _dot_f32(u, v):
    acc = _F32_ZERO
    for i in range(u.shape[0]):
        acc += u[i] * v[i]
    return acc


@njit(cache=True, nogil=True)
def level2_reference_f32(a_cos, a_sin, b_cos, b_sin, periods):
    """Level-2 kernel maxima exactly as the reference evaluates them, all in f32 (docs/algorithms.md §2.7).

    Dots are sequential f32 sums; ``delta = f32(((2*pi)*o)/T)`` is formed in f64; ``cos(j*delta)``
    and ``sin(j*delta)`` come from the angle-addition recurrence seeded with ``sin(delta)`` and
    ``2*sin(delta/2)**2``; ``K(o)`` accumulates in f32; the first maximum wins.

    Returns (float32[P] maxima of K_p, int64[P] offsets of those maxima). O(sum_p T_p * m); for
    validation, not speed.
    """
    num_periods, m, _ = a_cos.shape
    best = np.zeros(num_periods, dtype=np.float32)
    best_offset = np.zeros(num_periods, dtype=np.int64)
    if m == 0:
        return best, best_offset
    plus = np.empty(m, dtype=np.float32)
    minus = np.empty(m, dtype=np.float32)
    for p in range(num_periods):
        for j in range(m):
            cc = _dot_f32(a_cos[p, j], b_cos[p, j])
            ss = _dot_f32(a_sin[p, j], b_sin[p, j])
            sc = _dot_f32(a_sin[p, j], b_cos[p, j])
            cs = _dot_f32(a_cos[p, j], b_sin[p, j])
            plus[j] = cc + ss
            minus[j] = sc - cs
        cc0 = _dot_f32(a_cos[p, 0], b_cos[p, 0])
        period = periods[p]
        for o in range(period):
            delta = np.float32(_TWO_PI * float(np.float32(o)) / float(np.float32(period)))
            cos_jd = _F32_ONE
            sin_jd = _F32_ZERO
            beta = np.float32(np.sin(np.float64(delta)))
            alpha = np.float32(np.sin(np.float64(delta / _F32_TWO)))
            alpha = _F32_TWO * alpha * alpha
            k = cc0
            for j in range(1, m):
                n_cos = alpha * cos_jd + beta * sin_jd
                n_sin = alpha * sin_jd - beta * cos_jd
                cos_jd = cos_jd - n_cos
                sin_jd = sin_jd - n_sin
                k = k + cos_jd * plus[j]
                k = k + sin_jd * minus[j]
            if o == 0 or k > best[p]:
                best[p] = k
                best_offset[p] = o
    return best, best_offset


@njit(cache=True, nogil=True, fastmath={"reassoc", "nsz"})
def level1_batch(query, query_norm, averages, norms, out):
    """Cosine of ``query`` with each row of ``averages``; f64 accumulation, result f32.

    query: float32[d]; query_norm: float64 (its L2 norm); averages: float32[N, d] C-contiguous;
    norms: float64[N] row norms, or an empty array to compute them here; out: float32[N].
    A zero norm on either side gives 0 (the reference gives NaN when exactly one norm is 0).
    """
    n, d = averages.shape
    have_norms = norms.shape[0] == n
    for r in range(n):
        dot = 0.0
        if have_norms:
            for i in range(d):
                dot += np.float64(averages[r, i]) * np.float64(query[i])
            nr = norms[r]
        else:
            sq = 0.0
            for i in range(d):
                x = np.float64(averages[r, i])
                dot += x * np.float64(query[i])
                sq += x * x
            nr = np.sqrt(sq)
        if nr > 0.0 and query_norm > 0.0:
            out[r] = np.float32(dot / (nr * query_norm))
        else:
            out[r] = _F32_ZERO


@njit(cache=True, nogil=True)
def level1_int8_batch(query, codes, out):
    """Cosine of an int8 ``query[d]`` with each row of ``codes: int8[N, d]`` (exact int32 dots).

    The compact profile's level 1 (:mod:`vidprint.tmk.compact`); a zero vector on either side gives 0.
    """
    n, d = codes.shape
    qq = 0
    for i in range(d):
        qq += np.int32(query[i]) * np.int32(query[i])
    for r in range(n):
        dot = 0
        sq = 0
        for i in range(d):
            x = np.int32(codes[r, i])
            dot += x * np.int32(query[i])
            sq += x * x
        if sq > 0 and qq > 0:
            out[r] = np.float32(dot / np.sqrt(np.float64(sq) * np.float64(qq)))
        else:
            out[r] = _F32_ZERO


@njit(cache=True, nogil=True)
def best_cosine(num, den, den_row, energy, allowed, best, scale_index, column):
    """Per pair n: the largest ``num[n, s, c] / sqrt(den[den_row[n], s, c] * energy[n])`` over the
    ``allowed[s, c]`` cells with ``den > 1e-12 * energy[n]``, the first in (s, c) order on ties;
    ``-inf`` and (0, 0) when no cell qualifies (or energy <= 0).

    num: float64[N, S, C]; den: float64[D, S, C]; den_row: int64[N] in [0, D); energy: float64[N];
    allowed: bool[S, C]; out: best float64[N], scale_index / column int64[N]. One pass, no
    temporaries (the compact level 2's warp search, :mod:`vidprint.tmk.compact_scoring`).
    """
    n_pairs, n_s, n_c = num.shape
    for n in range(n_pairs):
        e = energy[n]
        d = den[den_row[n]]
        top = -np.inf
        ts = 0
        tc = 0
        if e > 0.0:
            floor = 1e-12 * e
            for s_ in range(n_s):
                for c in range(n_c):
                    if allowed[s_, c] and d[s_, c] > floor:
                        v = num[n, s_, c] / np.sqrt(d[s_, c] * e)
                        if v > top:
                            top = v
                            ts = s_
                            tc = c
        best[n] = top
        scale_index[n] = ts
        column[n] = tc
