"""Numba kernels for vPDQ matching and alignment. Internal: the public API is in match.py / align.py.

All hash arrays are C-contiguous ``uint64[N, 4]``; distances are Hamming distances in bits.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from vidprint.pdqf.hash import hamming_rows

#: The multi-index cuts a hash into N_SLOTS slots of SLOT_BITS bits.
N_SLOTS = 16
SLOT_BITS = 16
_SLOT_MASK = np.uint64((1 << SLOT_BITS) - 1)
_SLOT_VALUES = 1 << SLOT_BITS
#: Largest probe radius (bits per slot) of :func:`mih_pairs`; exact up to distance
#: ``N_SLOTS * (MIH_MAX_RADIUS + 1) - 1`` = 47 bits (pigeonhole), brute force beyond.
MIH_MAX_RADIUS = 2
#: Slot values probed per slot at radius 2: the value itself, 16 one-bit and 120 two-bit flips.
MIH_MAX_PROBES = 1 + SLOT_BITS + SLOT_BITS * (SLOT_BITS - 1) // 2

_dist = hamming_rows  # distance of a[i] and b[j] (LLVM ctpop, shared with vidprint.pdqf.hash)


@njit(cache=True, nogil=True)
def prune_runs(words, max_dist, kept):
    """kept[i] = frame i is more than ``max_dist`` bits from the last kept frame (frame 0 is kept)."""
    n = words.shape[0]
    last = 0
    for i in range(n):
        if i == 0 or _dist(words, i, words, last) > max_dist:
            kept[i] = True
            last = i
        else:
            kept[i] = False


@njit(cache=True, nogil=True)
def match_flags(q, c, max_dist, qflag, cflag):
    """Brute force: qflag[i] |= any c within max_dist of q[i]; cflag[j] likewise (inclusive).

    A pair whose both flags are already set is skipped, so near-duplicate videos finish early.
    """
    for i in range(q.shape[0]):
        for j in range(c.shape[0]):
            if qflag[i] and cflag[j]:
                continue
            if _dist(q, i, c, j) <= max_dist:
                qflag[i] = True
                cflag[j] = True


@njit(cache=True, nogil=True)
def _grow(arr, n):
    out = np.empty(max(2 * arr.shape[0], 1024), dtype=arr.dtype)
    out[:n] = arr[:n]
    return out


@njit(cache=True, nogil=True)
def pairs_brute(q, c, max_dist):
    """All (i, j, distance) with distance(q[i], c[j]) <= max_dist, in (i, j) order."""
    m = c.shape[0]
    row = np.empty(m, dtype=np.int64)
    qi = np.empty(1024, dtype=np.int32)
    cj = np.empty(1024, dtype=np.int32)
    dd = np.empty(1024, dtype=np.int16)
    n = 0
    for i in range(q.shape[0]):
        # distances first, collection second: keeps the hot loop free of the growable outputs
        # (appending inside it would keep the growable arrays in the hot loop)
        cnt = 0
        for j in range(m):
            d = _dist(q, i, c, j)
            row[j] = d
            cnt += d <= max_dist
        if cnt == 0:
            continue
        while n + cnt > qi.shape[0]:
            qi = _grow(qi, n)
            cj = _grow(cj, n)
            dd = _grow(dd, n)
        for j in range(m):
            if row[j] <= max_dist:
                qi[n] = i
                cj[n] = j
                dd[n] = row[j]
                n += 1
    return qi[:n].copy(), cj[:n].copy(), dd[:n].copy()


@njit(cache=True, nogil=True, inline="always")
def _slot(words, i, s):
    return np.int64((words[i, s >> 2] >> np.uint64(SLOT_BITS * (s & 3))) & _SLOT_MASK)


@njit(cache=True, nogil=True)
def mih_build(c):
    """Multi-index over ``c``: for each of the 16 16-bit slots, CSR lists of rows by slot value.

    Returns ``offsets int32[16, 65537]`` and ``rows int32[16, M]`` (rows of slot ``s`` with value
    ``v`` are ``rows[s, offsets[s, v]:offsets[s, v + 1]]``, ascending).
    """
    m = c.shape[0]
    offsets = np.zeros((N_SLOTS, _SLOT_VALUES + 1), dtype=np.int32)  # int32: half the cache footprint
    rows = np.empty((N_SLOTS, m), dtype=np.int32)
    for s in range(N_SLOTS):
        for j in range(m):
            offsets[s, _slot(c, j, s) + 1] += 1
        for v in range(_SLOT_VALUES):
            offsets[s, v + 1] += offsets[s, v]
        fill = offsets[s, :_SLOT_VALUES].copy()
        for j in range(m):
            v = _slot(c, j, s)
            rows[s, fill[v]] = j
            fill[v] += 1
    return offsets, rows


@njit(cache=True, nogil=True)
def mih_pairs(q, c, offsets, rows, max_dist, radius):
    """All (i, j, distance) with distance <= max_dist, exact when ``radius >= max_dist // 16``
    (pigeonhole over 16 slots). ``radius`` is 0, 1 or 2 (:data:`MIH_MAX_RADIUS`). Output is grouped
    by i, j unordered."""
    m = c.shape[0]
    seen = np.full(m, -1, dtype=np.int32)
    qi = np.empty(1024, dtype=np.int32)
    cj = np.empty(1024, dtype=np.int32)
    dd = np.empty(1024, dtype=np.int16)
    n = 0
    probes = np.empty(MIH_MAX_PROBES, dtype=np.int64)
    for i in range(q.shape[0]):
        for s in range(N_SLOTS):
            v = _slot(q, i, s)
            np_ = 0
            probes[np_] = v
            np_ += 1
            if radius >= 1:
                for a in range(SLOT_BITS):
                    va = v ^ (1 << a)
                    probes[np_] = va
                    np_ += 1
                    if radius >= 2:
                        for b in range(a + 1, SLOT_BITS):
                            probes[np_] = va ^ (1 << b)
                            np_ += 1
            for p in range(np_):
                pv = probes[p]
                for k in range(offsets[s, pv], offsets[s, pv + 1]):
                    j = rows[s, k]
                    if seen[j] == i:
                        continue
                    seen[j] = i
                    d = _dist(q, i, c, j)
                    if d <= max_dist:
                        if n == qi.shape[0]:
                            qi = _grow(qi, n)
                            cj = _grow(cj, n)
                            dd = _grow(dd, n)
                        qi[n] = i
                        cj[n] = j
                        dd[n] = d
                        n += 1
    return qi[:n].copy(), cj[:n].copy(), dd[:n].copy()


@njit(cache=True, nogil=True)
def window_minima(group, t, d, window, is_min, ties):
    """Non-maximum suppression along one axis.

    Pairs must be sorted by (group, t). For each pair k: ``is_min[k]`` = its distance is the minimum
    over pairs of the same group with ``|t - t[k]| <= window``; ``ties[k]`` = how many pairs in that
    window reach that minimum.
    """
    n = group.shape[0]
    lo = 0
    hi = 0
    for k in range(n):
        if k == 0 or group[k] != group[k - 1]:
            lo = k
            hi = k
        while t[k] - t[lo] > window:
            lo += 1
        if hi < k:
            hi = k
        while hi + 1 < n and group[hi + 1] == group[k] and t[hi + 1] - t[k] <= window:
            hi += 1
        best = d[k]
        cnt = 0
        for r in range(lo, hi + 1):
            if d[r] < best:
                best = d[r]
                cnt = 0
            if d[r] == best:
                cnt += 1
        is_min[k] = best == d[k]
        ties[k] = cnt


@njit(cache=True, nogil=True)
def hough_peak(tq, tc, w, active, speeds, tq_ref, omin, bin_s, nbins):
    """Weighted Hough vote over lines ``tc = speed * (tq - tq_ref) + offset``.

    Each active pair votes, for every candidate speed, with weight ``w`` split linearly between the two
    nearest offset bins (bin width ``bin_s`` seconds, bin 0 at ``omin``). Returns
    ``(best_speed_index, best_offset_s, best_votes)``, the offset refined by the centroid of the peak
    bin and its neighbours.
    """
    hist = np.zeros(nbins + 2, dtype=np.float64)
    best_v = -1.0
    best_s = 0
    best_o = 0.0
    for si in range(speeds.shape[0]):
        sp = speeds[si]
        hist[:] = 0.0
        for k in range(tq.shape[0]):
            if not active[k]:
                continue
            x = (tc[k] - sp * (tq[k] - tq_ref) - omin) / bin_s
            b = int(np.floor(x))
            if b < 0 or b > nbins:
                continue
            f = x - b
            hist[b] += w[k] * (1.0 - f)
            hist[b + 1] += w[k] * f
        for b in range(nbins + 2):
            # votes within +-1 bin of b: a line's pairs straddle bin edges
            v = hist[b]
            if b > 0:
                v += 0.5 * hist[b - 1]
            if b + 1 < nbins + 2:
                v += 0.5 * hist[b + 1]
            if v > best_v:
                best_v = v
                best_s = si
                num = 0.0
                den = 0.0
                for bb in range(max(b - 1, 0), min(b + 2, nbins + 2)):
                    num += hist[bb] * bb
                    den += hist[bb]
                best_o = omin + (num / den if den > 0 else b) * bin_s
    return best_s, best_o, best_v
