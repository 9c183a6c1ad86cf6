"""PDQ after the blur (docs/algorithms.md §1.5 - §1.9): quality, 16x16 DCT, median, bits, dihedral
variants. Float32 operation by operation as the reference (no fastmath); nogil Numba kernels that
trust their arguments.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Names of the 8 dihedral variants, in the reference's order (§1.9): the image transform each
#: hash corresponds to (rotations counter-clockwise; flipx reverses rows, flipy reverses columns,
#: flipplus1 transposes, flipminus1 anti-transposes).
DIHEDRAL_NAMES: tuple[str, ...] = ("orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1")

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

