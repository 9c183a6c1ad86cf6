"""Scoring compact TMK descriptors (:mod:`vidprint.tmk.compact`): level 1 (cosine of the int8
averages), level 2 (best warped-signal cosine on normalised time) and the two-level rule.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from vidprint.errors import IncompatibleDescriptorsError, InvalidArgumentError
from vidprint.tmk._kernels import best_cosine, level1_int8_batch
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


@lru_cache(maxsize=8)
def _dft_tables(k_max: int) -> tuple[np.ndarray, np.ndarray]:
    """The inverse DFT over the shift grid, on the allowed columns only, as real matrices.

    A Hermitian spectrum ``z_0 .. z_n`` (n <= K, or <= 2K for the energies; higher bins are zero)
    gives ``y[c] = Re z_0 + 2 sum_{m >= 1} Re(z_m exp(2 pi i m c / G))`` at grid column ``c``
    (the real inverse DFT times G). With ``[Re z, Im z]`` stacked on the last axis, ``y = that @ W``:
    returns W for ``n = K`` (float64[2(K+1), C]) and for ``n = 2K`` (float64[2(2K+1), C]), C the
    allowed columns of :func:`_warp_tables`. Evaluating C (~22% of the grid) columns directly costs
    less than an FFT over all G.
    """
    cols = _warp_tables(k_max)[4]
    out = []
    for n in (k_max, 2 * k_max):
        m = np.arange(n + 1)
        ang = 2.0 * np.pi * np.outer(m, cols) / SHIFT_GRID
        weight = np.where(m == 0, 1.0, 2.0)[:, None]
        w = np.ascontiguousarray(np.concatenate([weight * np.cos(ang), -weight * np.sin(ang)]))
        w.flags.writeable = False
        out.append(w)
    return out[0], out[1]


def _two_sided(m: np.ndarray, k: int) -> np.ndarray:
    """Two-sided products ``P[n, j, k'] = F^A_j . conj(F^B_k')`` (j, k' = -K..K at index ``+K``;
    ``F_{-k} = conj F_k``, ``F_0`` omitted) from the real products ``m`` (float64[N, 2K, 2K]) of the
    stacked real and imaginary parts ``[Re F; Im F]`` of A's and B's one-sided spectra."""
    rr, ri, ir, ii = m[:, :k, :k], m[:, :k, k:], m[:, k:, :k], m[:, k:, k:]
    pc = (rr + ii) + 1j * (ir - ri)  # F_j . conj(F_k)
    pp = (rr - ii) + 1j * (ir + ri)  # F_j . F_k
    # rows / columns k+1.. hold j = 1..K, rows / columns k-1..0 hold j = -1..-K (slices, reversed)
    p = np.zeros((m.shape[0], 2 * k + 1, 2 * k + 1), dtype=np.complex128)
    p[:, k + 1:, k + 1:] = pc
    p[:, k + 1:, k - 1::-1] = pp
    p[:, k - 1::-1, k + 1:] = np.conj(pp)
    p[:, k - 1::-1, k - 1::-1] = np.conj(pc)
    return p


def _diag_sums(g: np.ndarray) -> np.ndarray:
    """``h[n, m] = sum_{j - j' = m} g[n, j, j']`` for m = -(J-1)..(J-1): complex128[N, 2J-1]."""
    n, j = g.shape[0], g.shape[1]
    jj, kk = np.indices((j, j))
    idx = ((jj - kk + j - 1).ravel()[None, :] + (2 * j - 1) * np.arange(n)[:, None]).ravel()
    size = n * (2 * j - 1)
    re = np.bincount(idx, weights=g.real.ravel(), minlength=size)
    im = np.bincount(idx, weights=g.imag.ravel(), minlength=size)
    return (re + 1j * im).reshape(n, 2 * j - 1)


def _own_products(descs: Sequence[CompactDescriptor], k_max: int, taps: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What level 2 needs of each descriptor alone, whatever it is paired with: its stacked tapered
    spectrum float64[D, 2K, 256] (:func:`_stacked`), its energy ``||x||^2`` float64[D], and its
    warped energy ``||x(a . + b)||^2`` over the (scale, allowed shift) grid, float64[D, S, C] (from the
    diagonal sums of its own product, :func:`_dft_tables`)."""
    _, _, em, _, _, _ = _warp_tables(k_max)
    _, w2 = _dft_tables(k_max)
    r = _stacked(descs, taps)
    g = _two_sided(r @ r.transpose(0, 2, 1), k_max)
    energy = np.trace(g, axis1=1, axis2=2).real
    xm = em[None] * _diag_sums(g)[:, None, :]  # m = -2K..2K
    # Only the real part of the inverse DFT over the shift grid is needed: that of the Hermitian
    # part z_m = (x_m + conj(x_-m)) / 2, m >= 0 (:func:`_dft_tables`).
    z = 0.5 * (xm[..., 2 * k_max:] + np.conj(xm[..., 2 * k_max::-1]))
    return r, energy, (_real_rows(z) @ w2).reshape(len(descs), em.shape[0], -1)


def _best_warp(p: np.ndarray, den: np.ndarray, den_row: np.ndarray, e_other: np.ndarray, k_max: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best (cosine, shift, scale) of each pair's first signal warped onto its second's window,
    scales a <= 1: float64[N] each.

    p: complex128[N, 2K+1, 2K+1], ``P[j, k] = F^first_j . conj(F^second_k)`` (tapered, two-sided);
    den[den_row[n]]: pair n's first side's warped energy over the grid (:func:`_own_products`);
    e_other: float64[N], the second side's energy. A pair whose second side has no energy, or with no
    allowed warp of positive energy, scores (0, 0, 1).
    """
    a, e, _, b, cols, ok_cols = _warp_tables(k_max)
    w1, _ = _dft_tables(k_max)
    n = p.shape[0]
    xj = np.einsum("sjk,njk->nsj", e, p, optimize=True)  # coefficient of exp(2 pi i j b) per scale
    z = 0.5 * (xj[..., k_max:] + np.conj(xj[..., k_max::-1]))  # Hermitian part, as in _own_products
    num = (_real_rows(z) @ w1).reshape(n, a.size, -1)  # one matrix product for the batch
    best = np.empty(n)
    si = np.empty(n, dtype=np.int64)
    ci = np.empty(n, dtype=np.int64)
    best_cosine(num, den, den_row, np.ascontiguousarray(e_other, dtype=np.float64), ok_cols, best, si, ci)
    found = np.isfinite(best)
    return (np.where(found, np.minimum(best, 1.0), 0.0), np.where(found, b[cols[ci]], 0.0),
            np.where(found, a[si], 1.0))


def _real_rows(z: np.ndarray) -> np.ndarray:
    """complex[..., m] -> float64[prod(...), 2m]: ``[Re z, Im z]`` as the rows of one matrix."""
    out = np.empty(z.shape[:-1] + (2 * z.shape[-1],), dtype=np.float64)
    out[..., :z.shape[-1]] = z.real
    out[..., z.shape[-1]:] = z.imag
    return out.reshape(-1, out.shape[-1])


#: Pairs scored together by :func:`compact_level2_pairs` (bounds its working memory: about 0.5 MB
#: a pair at most, less where descriptors repeat).
_LEVEL2_CHUNK = 128


def _stacked(descs: Sequence[CompactDescriptor], taps: np.ndarray) -> np.ndarray:
    """The tapered one-sided spectra ``c_k F_k`` of ``descs`` as real matrices ``[Re F; Im F]``:
    float64[N, 2K, 256] (:meth:`CompactDescriptor.spectrum`, all at once: ``Re F_k = C_k``,
    ``Im F_k = -S_k``, each times its scale and the taper ``taps``, float64[K])."""
    factor = np.stack([d.scales for d in descs]).astype(np.float64) * taps[None, :, None]
    factor[:, :, 1] *= -1.0
    coeffs = np.stack([d.coeffs for d in descs])  # [N, K, 2, 256]
    out = np.empty((len(descs), 2, taps.size, coeffs.shape[-1]), dtype=np.float64)
    np.multiply(coeffs.transpose(0, 2, 1, 3), factor.transpose(0, 2, 1)[..., None], out=out)
    return out.reshape(len(descs), 2 * taps.size, -1)


def compact_level2_pairs(firsts: Sequence[CompactDescriptor], seconds: Sequence[CompactDescriptor]
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(level 2, offset, scale) of each pair ``(firsts[i], seconds[i])``, float64[N] each: the same
    values as :func:`compact_level2_detail` pair by pair (up to floating-point rounding).

    Batched, for confirming many candidates: pairs are scored in chunks of :data:`_LEVEL2_CHUNK`;
    within a chunk, what a descriptor needs alone (its own products and warped energies) is computed
    once however many pairs it is in (the *same object*: a query's views, a candidate scored against
    several of them), and the cross products and warp searches are a few matrix products for the
    whole chunk. Several times faster per pair than one call per pair. Memory is bounded by the chunk.
    """
    firsts, seconds = list(firsts), list(seconds)
    if len(firsts) != len(seconds):
        raise InvalidArgumentError("seconds", f"{len(seconds)} second descriptors for {len(firsts)} first ones")
    out = np.empty((3, len(firsts)), dtype=np.float64)
    if not firsts:
        return out[0], out[1], out[2]
    k_max = firsts[0].num_frequencies
    for d in firsts + seconds:
        if d.num_frequencies != k_max:
            raise IncompatibleDescriptorsError(f"compact frequency counts differ: {k_max} != {d.num_frequencies}")
    taps = taper(k_max)[1:]
    for lo in range(0, len(firsts), _LEVEL2_CHUNK):
        fs, ss = firsts[lo:lo + _LEVEL2_CHUNK], seconds[lo:lo + _LEVEL2_CHUNK]
        n = len(fs)
        slots: dict[int, int] = {}
        descs: list[CompactDescriptor] = []
        for d in fs + ss:
            if id(d) not in slots:
                slots[id(d)] = len(descs)
                descs.append(d)
        u = np.array([slots[id(d)] for d in fs], dtype=np.int64)
        v = np.array([slots[id(d)] for d in ss], dtype=np.int64)
        r, energy, den = _own_products(descs, k_max, taps)
        # cross products F^first . F^second, one matrix product per distinct first side
        m = np.empty((n, 2 * k_max, 2 * k_max))
        for first in np.unique(u):
            rows = np.flatnonzero(u == first)
            vs = v[rows]
            # consecutive second sides (one query against its candidates): a view, not a copy
            rb = r[vs[0]:vs[-1] + 1] if np.all(np.diff(vs) == 1) else r[vs]
            rb = rb.reshape(-1, r.shape[2])
            m[rows] = (r[first] @ rb.T).reshape(2 * k_max, rows.size, 2 * k_max).transpose(1, 0, 2)
        p = _two_sided(m, k_max)
        s1, off1, sc1 = _best_warp(p, den, u, energy[v], k_max)
        # second warped onto first: A(s) ~ B(sc2 s + off2), i.e. B(s) ~ A((s - off2) / sc2)
        s2, off2, sc2 = _best_warp(np.conj(p).transpose(0, 2, 1), den, v, energy[u], k_max)
        second = s2 > s1
        out[0, lo:lo + n] = np.where(second, s2, s1)
        out[1, lo:lo + n] = np.where(second, -off2 / sc2, off1)
        out[2, lo:lo + n] = np.where(second, 1.0 / sc2, sc1)
    return out[0], out[1], out[2]


def compact_level2_detail_many(query: CompactDescriptor, candidates: Sequence[CompactDescriptor]
                               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(level 2, offset, scale) of ``query`` against each candidate, float64[N] each
    (:func:`compact_level2_pairs` with ``query`` first in every pair: its own products computed once
    per chunk)."""
    candidates = list(candidates)
    return compact_level2_pairs([query] * len(candidates), candidates)


def compact_level2_detail(a: CompactDescriptor, b: CompactDescriptor) -> tuple[float, float, float]:
    """(level 2, offset, scale) of a pair; see :class:`CompactScore` and the module docstring."""
    l2, off, sc = compact_level2_pairs([a], [b])
    return float(l2[0]), float(off[0]), float(sc[0])


def compact_level2(a: CompactDescriptor, b: CompactDescriptor) -> float:
    """Level-2 score: best warped-signal cosine (module docstring)."""
    return compact_level2_detail(a, b)[0]


def compact_level2_many(query: CompactDescriptor, candidates: Sequence[CompactDescriptor]) -> np.ndarray:
    """Level 2 of ``query`` against each candidate: ``float64[N]``, as :func:`compact_level2` pair by
    pair (batched: :func:`compact_level2_detail_many`)."""
    return compact_level2_detail_many(query, candidates)[0]


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
