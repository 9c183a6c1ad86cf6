"""Scoring compact TMK descriptors (:mod:`vidprint.tmk.compact`): level 1 (cosine of the int8
averages), level 2 (best warped-signal cosine on normalised time) and the two-level rule.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from vidprint.errors import IncompatibleDescriptorsError, InvalidArgumentError
from vidprint.tmk._kernels import gram_blocks, level1_int8_batch
from vidprint.tmk.compact import (
    COMPACT_LEVEL1_THRESHOLD,
    COMPACT_LEVEL2_THRESHOLD,
    LEVEL1_BYTES,
    MAX_EXTRA_SHIFT,
    MIN_SCALE,
    SCALE_STEP,
    SHIFT_GRID,
    CompactDescriptor,
    taper,
)


@dataclass(frozen=True)
class CompactScore:
    """Scores of a compact descriptor pair.

    Attributes:
        level1: cosine of the int8 level-1 vectors, in [-1, 1] (0 if either is zero).
        level2: best warped-signal cosine, in [-1, 1]; 1 for a video with itself.
        offset: best shift ``b`` as a fraction of the duration: B's content at normalized time
            ``s`` matches A's at ``scale * s + offset`` (negative/scale>1 meaning the reverse warp).
        scale: best time scale (duration of B's content in A's normalized time; 1 = same span).
    """

    level1: float
    level2: float
    offset: float
    scale: float


def compact_level1(a: CompactDescriptor, b: CompactDescriptor) -> float:
    """Cosine of the two level-1 int8 vectors."""
    u = a.level1_int8.astype(np.float64)
    v = b.level1_int8.astype(np.float64)
    nu, nv = float(np.sqrt(u @ u)), float(np.sqrt(v @ v))
    if nu == 0.0 or nv == 0.0:
        return 0.0
    return float((u @ v) / (nu * nv))


def compact_level1_many(query: CompactDescriptor, codes: np.ndarray) -> np.ndarray:
    """Level 1 of one query against many descriptors at once, for a prefilter scan.

    ``codes`` is ``int8[N, 128]``, the stacked :attr:`CompactDescriptor.level1_int8` of the
    candidates (128 bytes each: 1M descriptors = 128 MB). Returns ``float32[N]`` cosines, equal to
    :func:`compact_level1` pair by pair.
    """
    codes = np.ascontiguousarray(codes, dtype=np.int8)
    if codes.ndim != 2 or codes.shape[1] != LEVEL1_BYTES:
        raise InvalidArgumentError("codes", f"codes must be int8[N, {LEVEL1_BYTES}], got {codes.shape}")
    out = np.empty(codes.shape[0], dtype=np.float32)
    level1_int8_batch(np.ascontiguousarray(query.level1_int8), codes, out)
    return out


@lru_cache(maxsize=8)
def _warp_tables(k_max: int) -> tuple[np.ndarray, ...]:
    """Precomputed tables for the warp search with K = ``k_max``.

    Returns scales ``a`` float64[S]; ``E(a j - k)`` complex128[S, 2K+1, 2K+1] (j, k = -K..K);
    ``E(a m)`` complex128[S, 4K+1] (m = -2K..2K); the shifts ``b`` float64[G] of the grid (in
    [-1/2, 1/2)); the grid columns some scale allows, int64[C] increasing (the search scores only
    these); and the allowed (scale, shift) mask on them, bool[S, C].
    """
    n_scales = int(round((1.0 - MIN_SCALE) / SCALE_STEP)) + 1
    a = np.linspace(MIN_SCALE, 1.0, n_scales)
    j = np.arange(-k_max, k_max + 1)
    x = a[:, None, None] * j[None, :, None] - j[None, None, :]
    e = np.exp(1j * np.pi * x) * np.sinc(x)
    m = np.arange(-2 * k_max, 2 * k_max + 1)
    xm = a[:, None] * m[None, :]
    em = np.exp(1j * np.pi * xm) * np.sinc(xm)
    b = np.arange(SHIFT_GRID) / SHIFT_GRID
    b = np.where(b >= 0.5, b - 1.0, b)
    allowed = (b[None, :] >= -MAX_EXTRA_SHIFT - 1e-12) & (
        b[None, :] <= (1.0 - a)[:, None] + MAX_EXTRA_SHIFT + 1e-12)
    cols = np.flatnonzero(allowed.any(axis=0))
    out = (a, e, em, b, cols, np.ascontiguousarray(allowed[:, cols]))
    for arr in out:
        arr.flags.writeable = False
    return out


def _products(fa: np.ndarray, fb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-sided products of the tapered one-sided spectra fa, fb (complex[K, d], k = 1..K).

    With ``F_{-k} = conj F_k`` and ``F_0`` omitted (``c_0 = 0``), returns ``P[j, k] =
    F^A_j . conj(F^B_k)``, ``G_A`` and ``G_B`` (same form), complex128[2K+1, 2K+1], index ``j + K``,
    from the real ``(2K x d) @ (d x 2K)`` products of the stacked real and imaginary parts
    (:func:`~vidprint.tmk._kernels.gram_blocks`; a complex GEMM on the two-sided arrays is about 10x
    slower at these sizes).
    """
    k = fa.shape[0]
    ra = np.ascontiguousarray(np.concatenate([fa.real, fa.imag]))
    rb = np.ascontiguousarray(np.concatenate([fb.real, fb.imag]))
    grams = [np.empty((2 * k, 2 * k)) for _ in range(3)]
    gram_blocks(ra, rb, *grams)
    out = []
    for m in grams:  # A.B, A.A, B.B
        rr, ri, ir, ii = m[:k, :k], m[:k, k:], m[k:, :k], m[k:, k:]
        pc = (rr + ii) + 1j * (ir - ri)  # F_j . conj(F_k)
        pp = (rr - ii) + 1j * (ir + ri)  # F_j . F_k
        # rows / columns k+1.. hold j = 1..K, rows / columns k-1..0 hold j = -1..-K (slices, reversed)
        p = np.zeros((2 * k + 1, 2 * k + 1), dtype=np.complex128)
        p[k + 1:, k + 1:] = pc
        p[k + 1:, k - 1::-1] = pp
        p[k - 1::-1, k + 1:] = np.conj(pp)
        p[k - 1::-1, k - 1::-1] = np.conj(pc)
        out.append(p)
    return out[0], out[1], out[2]


def _diag_sums(g: np.ndarray) -> np.ndarray:
    """``h_m = sum_{j - j' = m} G[j, j']`` for m = -(n-1)..(n-1): complex128[2n-1]."""
    n = g.shape[0]
    out = np.zeros(2 * n - 1, dtype=np.complex128)
    jj, kk = np.indices(g.shape)
    np.add.at(out, (jj - kk + n - 1).ravel(), g.ravel())
    return out


def _one_direction(p: np.ndarray, h: np.ndarray, ebb: float, k_max: int
                   ) -> tuple[float, float, float]:
    """Best (cosine, shift, scale) of A's signal warped onto B's window, scales a <= 1.

    p: P[j, k] = F^A_j . conj(F^B_k) (tapered, two-sided); h: diagonal sums of A's own product;
    ebb: B's energy.
    """
    a, e, em, b, cols, ok_cols = _warp_tables(k_max)
    if ebb <= 0:
        return 0.0, 0.0, 1.0
    xj = np.einsum("sjk,jk->sj", e, p, optimize=True)  # coefficient of exp(2 pi i j b) per scale, j = -K..K
    xm = em * h[None, :]  # warped energy of A, m = -2K..2K
    # Only the real part of the inverse DFT over the shift grid is needed: it is the inverse real
    # DFT of the Hermitian part z_n = (x_n + conj(x_-n)) / 2, n = 0..N/2 (half the work of ifft).
    z = np.zeros((2, a.size, SHIFT_GRID // 2 + 1), dtype=np.complex128)
    z[0, :, :k_max + 1] = 0.5 * (xj[:, k_max:] + np.conj(xj[:, k_max::-1]))
    z[1, :, :2 * k_max + 1] = 0.5 * (xm[:, 2 * k_max:] + np.conj(xm[:, 2 * k_max::-1]))
    y = np.fft.irfft(z, n=SHIFT_GRID, axis=-1)[:, :, cols] * SHIFT_GRID
    num, den = y[0], y[1]
    ok = ok_cols & (den > 1e-12 * ebb)
    cos = np.full(num.shape, -np.inf)
    cos[ok] = num[ok] / np.sqrt(den[ok] * ebb)
    flat = int(np.argmax(cos))  # first maximum in (scale, shift bin) order, as over the whole grid
    si, ci = divmod(flat, cols.size)
    best = float(cos[si, ci])
    if not np.isfinite(best):
        return 0.0, 0.0, 1.0
    return min(best, 1.0), float(b[cols[ci]]), float(a[si])


def compact_level2_detail(a: CompactDescriptor, b: CompactDescriptor) -> tuple[float, float, float]:
    """(level 2, offset, scale) of a pair; see :class:`CompactScore` and the module docstring."""
    if a.num_frequencies != b.num_frequencies:
        raise IncompatibleDescriptorsError(f"compact frequency counts differ: {a.num_frequencies} != {b.num_frequencies}")
    k_max = a.num_frequencies
    c = taper(k_max)[1:, None]
    p, gaa, gbb = _products(a.spectrum() * c, b.spectrum() * c)
    eaa, ebb = float(np.trace(gaa).real), float(np.trace(gbb).real)
    s1, off1, sc1 = _one_direction(p, _diag_sums(gaa), ebb, k_max)
    s2, off2, sc2 = _one_direction(p.conj().T, _diag_sums(gbb), eaa, k_max)
    if s2 > s1:
        # B warped onto A: A(s) ~ B(sc2 s + off2), i.e. B(s) ~ A((s - off2) / sc2)
        return s2, -off2 / sc2, 1.0 / sc2
    return s1, off1, sc1


def compact_level2(a: CompactDescriptor, b: CompactDescriptor) -> float:
    """Level-2 score: best warped-signal cosine (module docstring)."""
    return compact_level2_detail(a, b)[0]


def compact_level2_many(query: CompactDescriptor, candidates) -> np.ndarray:
    """Level 2 of ``query`` against each candidate: ``float64[N]``, equal to :func:`compact_level2`
    pair by pair (the query's spectrum products are recomputed per pair; confirmation stage only)."""
    return np.array([compact_level2(query, c) for c in candidates], dtype=np.float64)


def compact_score(a: CompactDescriptor, b: CompactDescriptor) -> CompactScore:
    """Both scores of a pair, with the best warp."""
    l2, off, sc = compact_level2_detail(a, b)
    return CompactScore(level1=compact_level1(a, b), level2=l2, offset=off, scale=sc)


def compact_is_match(s: CompactScore, level1: float = COMPACT_LEVEL1_THRESHOLD,
                     level2: float = COMPACT_LEVEL2_THRESHOLD) -> bool:
    """Two-level rule: ``s.level1 >= level1 and s.level2 >= level2`` (inclusive).

    A score outside its documented range [-1, 1] (or NaN) is never a match, whatever the thresholds.
    """
    from vidprint.tmk.score import score_problem

    if score_problem(s.level1, s.level2) is not None:
        return False
    return bool(s.level1 >= level1 and s.level2 >= level2)
