"""Level-1 and level-2 TMK scores (docs/algorithms.md §2.6-§2.8).

Level 1 is the cosine of the two raw average features. Level 2 is
``max_p max_{o in [0, T_p)} K_p(o) / N`` with
``K_p(o) = CC_0 + Re(sum_{j>=1} Z_j exp(-2 pi i j o / T_p))``,
``Z_j = (CC_j + SS_j) + i (SC_j - CS_j)`` built from per-(period, coefficient) dot products.

Three evaluations of ``K_p`` over all offsets are provided (``method=``):

``"blocked"`` (default, fastest)
    Exact f64 evaluation of that length-``T_p`` DFT by one Cooley-Tukey-style split
    ``o = k*B + b``: ``K[b, k] = CC_0 + Re(sum_j E[b, j] * (Z_j R[j, k]))`` with small
    precomputed twiddle tables ``E`` (B x m) and ``R`` (m x ceil(T/B)), i.e. one real matrix
    product of size ``B x 2(m-1) x ceil(T/B)`` per period. The periods are prime, so a plain FFT of
    length ``T_p`` falls back to Bluestein's algorithm and is several times slower than this dense
    product on only 31 non-zero frequencies.
``"fft"``
    ``K_p = CC_0 + Re(FFT_{T_p}(Z))`` with :func:`scipy.fft.irfft` (docs/algorithms.md §2.7), batched over
    candidates.
``"direct"``
    The reference's own f32 evaluation (angle-addition recurrence, f32 dots and sums), in Numba;
    about as slow as the reference, for validation.

"blocked" and "fft" use f64 dot products and agree with each other to ~1e-12; they agree with
"direct" and with the scores the reference prints to about 1e-6 (the reference works in f32).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
import scipy.fft

from vidprint.errors import IncompatibleDescriptorsError, InvalidArgumentError
from vidprint.tmk import _kernels
from vidprint.tmk.descriptor import TMKDescriptor

#: Default level-1 threshold of the reference tools (``tmk_default_thresholds.h``), inclusive.
LEVEL1_THRESHOLD = 0.7
#: Default level-2 threshold of the reference tools, inclusive.
LEVEL2_THRESHOLD = 0.7

_BLOCK = 128  # offsets per block in the "blocked" evaluation
METHODS = ("blocked", "fft", "direct")


@dataclass(frozen=True)
class TMKScore:
    """Scores of a descriptor pair.

    Attributes:
        level1: cosine of the raw average features, in [-1, 1] (0 if either average is zero).
        level2: ``max K_p(o) / N``; 1 for a video with itself (two frames or more).
        period: period length ``T_p`` (frames) where the level-2 maximum was found; 0 if the
            descriptors have no periods or coefficients.
        offset: best circular offset in frames modulo ``period``: if B's content at ``t`` equals
            A's at ``t + delta``, then ``offset ~ delta mod period``. Coarse (about T/m frames);
            explanatory only.
    """

    level1: float
    level2: float
    period: int
    offset: int

    @property
    def problem(self) -> str | None:
        """Why these scores cannot decide a match (outside their documented range, or NaN), or None.

        Descriptors that :func:`vidprint.tmk.read` accepts always score in range; this guards
        descriptors built in memory from unchecked arrays. :func:`is_match` is False when set.
        """
        return score_problem(self.level1, self.level2)

    @property
    def valid(self) -> bool:
        return self.problem is None


#: Rounding slack on the [-1, 1] range of both scores (level 2 is evaluated from f32 features).
SCORE_SLACK = 1e-3


def score_problem(level1: float, level2: float) -> str | None:
    """Why a (level 1, level 2) pair is outside the documented range [-1, 1] (NaN included), or None."""
    for label, v in (("level-1", level1), ("level-2", level2)):
        if not (-1.0 - SCORE_SLACK <= v <= 1.0 + SCORE_SLACK):  # also catches NaN
            return (f"{label} score {v!r} outside its range [-1, 1]: a descriptor is damaged or forged; "
                    "such a score never counts as a match")
    return None


def check_compatible(a: TMKDescriptor, b: TMKDescriptor) -> None:
    """Raise :class:`IncompatibleDescriptorsError` unless ``a`` and ``b`` can be compared.

    Same rule as the reference ``areCompatible``: same algorithm, fps and period list, the same
    number of coefficients each within relative error 1e-6 (evaluated in f32), same dimension.
    """
    if a.algorithm != b.algorithm:
        raise IncompatibleDescriptorsError(f"algorithm {a.algorithm!r} != {b.algorithm!r}")
    if a.fps != b.fps:
        raise IncompatibleDescriptorsError(f"frames per second {a.fps} != {b.fps}")
    if not np.array_equal(a.periods, b.periods):
        raise IncompatibleDescriptorsError(f"periods {a.periods.tolist()} != {b.periods.tolist()}")
    ca, cb = a.coefficients, b.coefficients
    if ca.shape != cb.shape:
        raise IncompatibleDescriptorsError(f"coefficient count {ca.size} != {cb.size}")
    if not np.array_equal(ca, cb):
        big = np.maximum(np.abs(ca), np.abs(cb))
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(big > 0, np.abs((ca - cb) / big), np.float32(0))
        bad = np.flatnonzero(rel > np.float32(1e-6))
        if bad.size:
            k = int(bad[0])
            raise IncompatibleDescriptorsError(f"coefficient {k}: {ca[k]:.7e} != {cb[k]:.7e}")
    if a.average.shape != b.average.shape:
        raise IncompatibleDescriptorsError(f"dimension {a.average.size} != {b.average.size}")


# ------------------------------------------------------------------------------------------------
# Level 1


def _cosine(u: np.ndarray, v: np.ndarray) -> float:
    u64 = u.astype(np.float64)
    v64 = v.astype(np.float64)
    nu = float(np.sqrt(u64 @ u64))
    nv = float(np.sqrt(v64 @ v64))
    if nu == 0.0 or nv == 0.0:
        return 0.0
    return float((u64 @ v64) / (nu * nv))


def level1(a: TMKDescriptor, b: TMKDescriptor, *, check: bool = True) -> float:
    """Cosine similarity of the raw average features, computed in f64.

    Zero averages (zero-frame videos): returns 0.0 when either average is zero. The reference
    returns 0 when both are zero but NaN (0/0) when exactly one is; both fail every threshold
    > 0, but a NaN also fails the reference's full-scan threshold -1.0 where this 0.0 passes.
    """
    if check:
        check_compatible(a, b)
    return _cosine(a.average, b.average)


def level1_many(
    query_avg: np.ndarray, averages: np.ndarray, norms: np.ndarray | None = None
) -> np.ndarray:
    """Level-1 scores of one query average against many: float32[N].

    query_avg: float[d]; averages: float32[N, d] (converted to C-contiguous f32 if needed, which
    copies); norms: optional float[N] precomputed L2 norms of the rows (saves a little time when
    the same matrix is queried repeatedly). Accumulation in f64. Zero norms give 0.
    """
    q = np.ascontiguousarray(query_avg, dtype=np.float32).reshape(-1)
    avgs = np.ascontiguousarray(averages, dtype=np.float32)
    if avgs.ndim != 2 or avgs.shape[1] != q.size:
        raise InvalidArgumentError("averages", f"averages must have shape (N, {q.size}), got {np.shape(averages)}")
    q64 = q.astype(np.float64)
    qn = float(np.sqrt(q64 @ q64))
    if norms is None:
        nr = np.empty(0, dtype=np.float64)
    else:
        nr = np.ascontiguousarray(norms, dtype=np.float64).reshape(-1)
        if nr.size != avgs.shape[0]:
            raise InvalidArgumentError("norms", f"norms has {nr.size} entries for {avgs.shape[0]} rows")
    out = np.empty(avgs.shape[0], dtype=np.float32)
    _kernels.level1_batch(q, qn, avgs, nr, out)
    return out


# ------------------------------------------------------------------------------------------------
# Level 2


@lru_cache(maxsize=32)
def _blocked_tables(period: int, m: int, block: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Twiddle tables for offsets ``o = k*block + b`` of one period, ``w = 2 pi / period``.

    Returns ``E``: float64[2(m-1), block], row ``2(j-1)`` = cos(w j b), row ``2(j-1)+1`` =
    sin(w j b); ``R``: complex128[nb, m-1] = exp(-i w j k block); ``nb = ceil(period / block)``
    (j = 1 .. m-1). Phases are reduced modulo ``period`` in integers first, for accuracy.
    """
    nb = -(-period // block)
    j = np.arange(1, m, dtype=np.int64)
    ang = (2.0 * np.pi / period) * (np.outer(j, np.arange(block, dtype=np.int64)) % period)
    e = np.empty((2 * (m - 1), block))
    e[0::2] = np.cos(ang)
    e[1::2] = np.sin(ang)
    k = np.arange(nb, dtype=np.int64)
    r = np.exp(-1j * (2.0 * np.pi / period) * (np.outer(k * block, j) % period))
    e.flags.writeable = False
    r.flags.writeable = False
    return e, r, nb


def _kernel_blocked(cc0: np.ndarray, z: np.ndarray, period: int) -> np.ndarray:
    """K_p(o) for o in [0, period): float64[N, period] (a view of a padded array).

    cc0: float64[N]; z: complex128[N, m-1]. Offset ``o = k*B + b`` is row ``(n, k)``, column ``b``
    of one ``(N*nb, 2(m-1)) @ (2(m-1), B)`` real matrix product, whose left factor holds
    ``Y_j = Z_j R[k, j]`` as interleaved (real, imaginary) pairs:
    ``Re(Y_j exp(-i w j b)) = Re(Y_j) cos(w j b) + Im(Y_j) sin(w j b)``.
    """
    n, m1 = z.shape
    e, r, nb = _blocked_tables(period, m1 + 1, _BLOCK)
    y = np.empty((n, nb, m1), dtype=np.complex128)
    np.multiply(z[:, None, :], r[None, :, :], out=y)
    k = y.view(np.float64).reshape(n * nb, 2 * m1) @ e
    k = k.reshape(n, nb * _BLOCK)
    k += cc0[:, None]
    return k[:, :period]


def _kernel_fft(cc0: np.ndarray, z: np.ndarray, period: int) -> np.ndarray:
    """K_p(o) for o in [0, period) by one FFT of length ``period`` per row: float64[N, period]."""
    n, m1 = z.shape
    if 2 * m1 < period:
        # Hermitian spectrum X with irfft(X)[o] = CC_0 + Re(sum_j Z_j exp(-2 pi i j o / T)).
        x = np.zeros((n, period // 2 + 1), dtype=np.complex128)
        x[:, 0] = period * cc0
        x[:, 1 : m1 + 1] = (0.5 * period) * np.conj(z)
        return scipy.fft.irfft(x, n=period, axis=-1)
    # Short period: frequencies alias, fold them onto bins j mod T.
    x = np.zeros((n, period), dtype=np.complex128)
    bins = np.arange(1, m1 + 1) % period
    for col, bn in enumerate(bins):
        x[:, bn] += z[:, col]
    return cc0[:, None] + scipy.fft.fft(x, axis=-1).real


def _same_shape(a: TMKDescriptor, b: TMKDescriptor) -> None:
    # Guards the Numba kernels (no bounds checks) when the caller passed check=False.
    if a.shape != b.shape or a.periods.tobytes() != b.periods.tobytes():
        raise IncompatibleDescriptorsError(f"shapes {a.shape} and {b.shape} or periods differ")


def _dots(a: TMKDescriptor, b: TMKDescriptor, out: np.ndarray) -> None:
    _same_shape(a, b)
    _kernels.pair_dots(a.cos, a.sin, b.cos, b.sin, out)


def _best_from_dots(
    dots: np.ndarray, periods: np.ndarray, method: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From dots float64[N, 4, P, m] return (best K float64[N], period index int[N], offset int[N])."""
    n, _, num_p, m = dots.shape
    best = np.full(n, -np.inf)
    best_p = np.zeros(n, dtype=np.int64)
    best_o = np.zeros(n, dtype=np.int64)
    if num_p == 0 or m == 0:
        return np.zeros(n), best_p, best_o
    evaluate = _kernel_blocked if method == "blocked" else _kernel_fft
    for p in range(num_p):
        cc = dots[:, 0, p, :]
        cc0 = np.ascontiguousarray(cc[:, 0])
        if m > 1:
            z = (cc[:, 1:] + dots[:, 1, p, 1:]) + 1j * (dots[:, 2, p, 1:] - dots[:, 3, p, 1:])
            k = evaluate(cc0, z, int(periods[p]))
            o = np.argmax(k, axis=1)
            v = k[np.arange(n), o]
        else:
            o = np.zeros(n, dtype=np.int64)
            v = cc0
        better = v > best  # strict: the first period with the maximum wins, as in the reference
        best = np.where(better, v, best)
        best_p = np.where(better, p, best_p)
        best_o = np.where(better, o, best_o)
    return best, best_p, best_o


def _level2_detail(
    a: TMKDescriptor, b: TMKDescriptor, method: str
) -> tuple[float, int, int]:
    num_p, m, _ = a.shape
    if num_p == 0 or m == 0:
        return 0.0, 0, 0
    if method == "direct":
        _same_shape(a, b)
        maxima, offsets = _kernels.level2_reference_f32(a.cos, a.sin, b.cos, b.sin, a.periods)
        if not np.isfinite(maxima).all():
            return float("nan"), 0, 0
        p = int(np.argmax(maxima))
        value = np.float32(maxima[p]) / a.pair_score_normalizer
        return float(value), int(a.periods[p]), int(offsets[p])
    dots = np.empty((1, 4, num_p, m), dtype=np.float64)
    _dots(a, b, dots[0])
    if not np.isfinite(dots).all():  # NaN features: report NaN (never a match), not the other periods' max
        return float("nan"), 0, 0
    best, bp, bo = _best_from_dots(dots, a.periods, method)
    return float(best[0] / np.float64(a.pair_score_normalizer)), int(a.periods[bp[0]]), int(bo[0])


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise InvalidArgumentError("method", f"unknown level-2 method {method!r}; expected one of {METHODS}")


def level2(
    a: TMKDescriptor, b: TMKDescriptor, *, method: str = "blocked", check: bool = True
) -> float:
    """Level-2 score ``max_p max_o K_p(o) / N`` (docs/algorithms.md §2.7); N is from ``a``'s coefficients."""
    _check_method(method)
    if check:
        check_compatible(a, b)
    return _level2_detail(a, b, method)[0]


def score(
    a: TMKDescriptor, b: TMKDescriptor, *, method: str = "blocked", check: bool = True
) -> TMKScore:
    """Both scores of a pair, with the best level-2 period and offset."""
    _check_method(method)
    if check:
        check_compatible(a, b)
    l2, period, offset = _level2_detail(a, b, method)
    return TMKScore(level1=_cosine(a.average, b.average), level2=l2, period=period, offset=offset)


def level2_many(
    query: TMKDescriptor,
    candidates: Sequence[TMKDescriptor],
    *,
    method: str = "blocked",
    check: bool = True,
    return_details: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Level-2 scores of ``query`` against each candidate: float64[N].

    Same values as :func:`level2` per pair. With ``return_details`` also returns the best period
    lengths int64[N] and offsets int64[N].
    """
    _check_method(method)
    n = len(candidates)
    scores = np.zeros(n)
    periods_out = np.zeros(n, dtype=np.int64)
    offsets_out = np.zeros(n, dtype=np.int64)
    num_p, m, _ = query.shape
    if check:
        for c in candidates:
            check_compatible(query, c)
    if n and num_p and m:
        if method == "direct":
            for i, c in enumerate(candidates):
                scores[i], periods_out[i], offsets_out[i] = _level2_detail(query, c, "direct")
        else:
            # One candidate at a time: measured on 2 cores, stacking several candidates into one
            # matrix product or FFT was slower (the K matrices leave the cache).
            norm = np.float64(query.pair_score_normalizer)
            dots = np.empty((1, 4, num_p, m), dtype=np.float64)
            for i, c in enumerate(candidates):
                _dots(query, c, dots[0])
                best, bp, bo = _best_from_dots(dots, query.periods, method)
                # NaN features score NaN, never a match
                scores[i] = best[0] / norm if np.isfinite(dots).all() else np.nan
                periods_out[i] = query.periods[bp[0]]
                offsets_out[i] = bo[0]
    if return_details:
        return scores, periods_out, offsets_out
    return scores


def is_match(
    s: TMKScore, level1: float = LEVEL1_THRESHOLD, level2: float = LEVEL2_THRESHOLD
) -> bool:
    """The reference two-level rule: ``s.level1 >= level1 and s.level2 >= level2`` (inclusive).

    A score outside its documented range (:attr:`TMKScore.problem`: NaN, or beyond [-1, 1]) is never
    a match, whatever the thresholds.
    """
    if s.problem is not None:
        return False
    return bool(s.level1 >= level1 and s.level2 >= level2)
