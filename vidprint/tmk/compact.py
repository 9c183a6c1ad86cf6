"""vidprint's compact TMK profile: a 128-byte level 1 and a ~15.6 KB level 2 on normalized time.

The reference TMK+PDQF descriptor (:mod:`vidprint.tmk`) takes 263 KB per video and measures time
in 15 fps frames against fixed periods of 3 to 16 minutes, so most videos fill a small fraction of
one period. This profile keeps the same frame features (the 15 fps PDQF vectors ``f_t``) but:

* **Level 1** is the time average ``u`` of the L2-normalized features ``g_t = f_t / ||f_t||``
  restricted to the 128 lowest zig-zag frequencies of the 16x16 DCT (DC included), quantized to
  int8 with an implicit scale (cosine is scale-invariant): ``q = rint(127 u / max|u|)``. Score:
  cosine of the two int8 vectors. (Measured alternatives, on the chair variants and unrelated
  corpus pairs: all 256 coefficients at 4 bits lose ~0.08 on the worst positive pair; dropping DC
  loses ~0.05 on it without lowering the unrelated tail; the 128 int8 coefficients beat the
  reference's raw 256-float average on the worst positive pair, 0.912 vs 0.895.)
* **Level 2** is the truncated Fourier series of ``g`` over *normalized time* ``s in [0, 1]`` (the
  video's duration mapped to the unit interval, so neither the frame rate nor a uniform speed
  change moves it): ``F_k = (1/n) sum_t g_t exp(-2 pi i k s_t)`` for ``k = 1 .. K`` (K = 30), stored
  as int8 cosine and sine parts ``C_k = Re F_k``, ``S_k = -Im F_k`` with one float32 scale per
  (k, part), plus ``||F_0||`` (the norm of the average; its direction is level 1).
* **Streaming**: frames are summed into 1024 time bins whose width doubles (neighbours merge)
  whenever the video outgrows them, so memory is 2 MB whatever the length, and the duration is
  needed only at :meth:`CompactAccumulator.finalize`. ``F_k`` is evaluated at the bins' mean
  times: a bin spans at most 1/512 of the duration, a phase error <= 0.37 rad at k = 30 for frames
  at the bin's edge, with the first-order term cancelling around the mean time.

Level-2 score
-------------
The series defines a band-limited, tapered signal ``x(s) = sum_{|k|<=K} c_k F_k exp(2 pi i k s)``
(``F_{-k} = conj F_k``; taper ``c_k`` below). The score is the best cosine similarity, over a
family of affine time warps, between one video's signal and the other's warped signal::

    L2(A, B) = max over (a, b) of  <x_A(a s + b), x_B(s)> / (||x_A(a . + b)|| ||x_B||),

inner products over ``s in [0, 1]`` and the 256 dimensions, evaluated in closed form from the
per-pair cross products ``P_jk = F^A_j . conj(F^B_k)`` (a 61 x 61 complex matrix)::

    <x_A(a s + b), x_B(s)> = Re sum_{j,k} c_j c_k P_jk exp(2 pi i j b) E(j a - k),
    E(x) = integral_0^1 exp(2 pi i x s) ds = exp(i pi x) sinc(x),

and the warped norm likewise from A's own 61 x 61 product. For each scale the shift search is one
FFT over ``b``. The warps searched: scale ``a`` from 0.88 to 1 (step 0.005) applied to either video
(both directions, the max is taken, so the score is symmetric), shift ``b`` from -0.05 to
``1 - a + 0.05``, on a grid of 1/1024. That covers trimming up to 6% at either end (scale 0.88 =
a 12% shorter clip whose start moved by up to 0.12 of the duration) plus small offsets, and,
with ``a = 1``, frame rate and uniform speed changes. The DC term is left out (``c_0 = 0``): it
is level 1's job, and with it the score of unrelated videos is dominated by the common average
of natural-image PDQF, so level 2 correlates the *temporal variation* of the two videos.

Why not the reference's kernel: with a period of ~180 s or more and videos of a few seconds, the
reference's time signal occupies a sliver of each period and only its first few coefficients carry
information; a trimmed or sped-up copy shifts or stretches it in frame units. On normalized time
all K frequencies describe the video itself, a speed change is the identity, and trimming is a
small affine warp that the closed-form search above recovers exactly (instead of losing the high
frequencies to phase drift: at 10% duration change without the scale search, frequencies above
~5 decorrelate). The taper ``c_k`` is a Kaiser-Bessel window ``I_0(beta sqrt(1-(k/(K+1))^2)) /
I_0(beta)`` with ``beta = 4``: it suppresses the ringing of the truncated series so that the
warped signals compare smoothly and weighs down the highest, least stable frequencies.

Thresholds: level 1 >= 0.4, level 2 >= 0.6 (:data:`COMPACT_LEVEL1_THRESHOLD`,
:data:`COMPACT_LEVEL2_THRESHOLD`), chosen with ``bench/tmk_profiles.py`` (98 near-duplicate pairs:
11 transforms of 7 sources plus the 21 chair variant pairs; 9,294 unrelated pairs of 141 videos).
Level 2 separates far better than the reference's (unrelated 99th percentile 0.15 against 0.65),
so level 1 can be a loose prefilter (4% of unrelated pairs pass 0.4) and level 2 decides. At
0.4/0.6 the compact profile matched 94/98 positive pairs with 5 false positives (pairs
from different corpus groups, mostly with level 1 >= 0.96; not yet inspected), the reference at 0.7/0.7 86/98 with 64. The values were picked
on that data; treat them as provisional until measured on a larger, independent set.

Byte layout (``to_bytes``/``from_bytes``, little-endian, no padding; 15,748 bytes for K = 30)
--------------------------------------------------------------------------------------------
=======  =====================  ========================================================
offset   type                   content
=======  =====================  ========================================================
0        4 bytes                magic ``VPTC``
4        uint8                  format version (1)
5        uint8                  level-1 code: 1 = int8 of the 128 lowest zig-zag DCT
                                coefficients (DC included), implicit scale
6        uint16                 K, number of level-2 frequencies (30)
8        uint32                 frame count
12       float32                duration, seconds
16       float32                ``||F_0||``: norm of the time average of the normalized features
20       int8[128]              level 1
148      float32[K, 2]          level-2 scales: (k, part), part 0 = cosine, 1 = sine
148+8K   int8[K, 2, 256]        level-2 coefficients ``C_k``, ``S_k`` (k = 1..K), value = q * scale
=======  =====================  ========================================================

Level 1 is the 128 bytes at offset 20; level 2 is the 4 + 8K + 512K bytes that follow (and the
norm at offset 16): 15,604 bytes for K = 30.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from typing import Union

import numpy as np
from scipy.special import i0

from vidprint.errors import HashFileError
from vidprint.tmk._kernels import level1_int8_batch
from vidprint.tmk.descriptor import readonly_array

FEATURE_DIM = 256
LEVEL1_DIM = 128
NUM_FREQUENCIES = 30
NUM_BINS = 1024
MAGIC = b"VPTC"
VERSION = 1
LEVEL1_CODE = 1
_HEADER = struct.Struct("<4sBBHIff")
HEADER_SIZE = _HEADER.size  # 20
LEVEL1_BYTES = LEVEL1_DIM
LEVEL2_BYTES = 4 + NUM_FREQUENCIES * 2 * 4 + NUM_FREQUENCIES * 2 * FEATURE_DIM

#: Level-1 threshold of the compact profile (cosine of the int8 averages), inclusive; a loose
#: prefilter (measured: 4% of unrelated pairs pass it).
COMPACT_LEVEL1_THRESHOLD = 0.4
#: Level-2 threshold of the compact profile (warped-signal cosine), inclusive (measured:
#: unrelated 99th percentile 0.15).
COMPACT_LEVEL2_THRESHOLD = 0.6

TAPER_BETA = 4.0
MIN_SCALE = 0.88
SCALE_STEP = 0.005
MAX_EXTRA_SHIFT = 0.05
SHIFT_GRID = 1024


def zigzag_order(n: int = 16) -> np.ndarray:
    """PDQF indices ``16 u + v`` sorted by diagonal ``u + v``, then by ``u``: ``int64[n*n]``."""
    u, v = np.divmod(np.arange(n * n), n)
    return np.lexsort((u, u + v))


#: The PDQF coefficients kept in level 1: the 128 lowest zig-zag frequencies (DC included).
LEVEL1_INDEX = np.sort(zigzag_order()[:LEVEL1_DIM])


def taper(k_max: int = NUM_FREQUENCIES, beta: float = TAPER_BETA) -> np.ndarray:
    """Level-2 weights ``c_k`` for ``k = 0 .. k_max`` (float64[k_max + 1]); ``c_0 = 0``."""
    k = np.arange(k_max + 1, dtype=np.float64)
    c = i0(beta * np.sqrt(1.0 - (k / (k_max + 1)) ** 2)) / i0(beta)
    c[0] = 0.0
    return c


# ------------------------------------------------------------------------------------------------
# Descriptor


@dataclass(frozen=True, eq=False)
class CompactDescriptor:
    """A compact-profile TMK descriptor.

    Attributes:
        level1: uint8[128], the int8 level-1 vector's bytes (view with ``level1_int8``).
        dc_norm: ``||F_0||``, norm of the time average of the L2-normalized features (0..1).
        scales: float32[K, 2], per-(frequency, part) dequantization scales.
        coeffs: int8[K, 2, 256] (quantized) or float32[K, 2, 256] (the float path of
            :meth:`CompactAccumulator.finalize_float`), the cosine/sine parts of ``F_1..F_K``;
            value = ``coeffs * scales[..., None]``.
        frame_count: frames ingested.
        duration_s: duration used for time normalization, seconds.

    Instances compare by identity; compare :meth:`to_bytes` for contents.
    """

    level1: np.ndarray
    dc_norm: float
    scales: np.ndarray
    coeffs: np.ndarray
    frame_count: int
    duration_s: float

    def __post_init__(self):
        l1 = np.asarray(self.level1)
        if l1.dtype == np.int8:
            l1 = l1.view(np.uint8)
        object.__setattr__(self, "level1", readonly_array(l1, np.uint8, (LEVEL1_DIM,), "level1"))
        sc = np.asarray(self.scales)
        k = sc.shape[0] if sc.ndim == 2 else -1
        object.__setattr__(self, "scales", readonly_array(sc, np.float32, (k, 2), "scales"))
        co = np.asarray(self.coeffs)
        dt = np.int8 if co.dtype == np.int8 else np.float32
        object.__setattr__(self, "coeffs", readonly_array(co, dt, (k, 2, FEATURE_DIM), "coeffs"))
        if self.frame_count < 0:
            raise ValueError(f"frame_count must be >= 0, got {self.frame_count}")

    @property
    def level1_int8(self) -> np.ndarray:
        """The level-1 vector as int8[128]."""
        return self.level1.view(np.int8)

    @property
    def num_frequencies(self) -> int:
        return int(self.scales.shape[0])

    @property
    def quantized(self) -> bool:
        return self.coeffs.dtype == np.int8

    def spectrum(self) -> np.ndarray:
        """``F_1 .. F_K`` dequantized: complex128[K, 256] (``F_k = C_k - i S_k``)."""
        x = self.coeffs.astype(np.float64) * self.scales.astype(np.float64)[..., None]
        return x[:, 0] - 1j * x[:, 1]

    def to_bytes(self) -> bytes:
        """Serialize (layout in the module docstring). Float-path descriptors are quantized first."""
        d = self if self.quantized else quantize(self)
        head = _HEADER.pack(MAGIC, VERSION, LEVEL1_CODE, d.num_frequencies, d.frame_count,
                            d.duration_s, d.dc_norm)
        return head + d.level1.tobytes() + d.scales.tobytes() + d.coeffs.tobytes()

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview], source: str = "<bytes>"
                   ) -> "CompactDescriptor":
        """Parse :meth:`to_bytes` output; raises :class:`HashFileError` naming ``source``."""
        buf = bytes(data)
        if len(buf) < HEADER_SIZE:
            raise HashFileError(source, f"compact TMK data too short: {len(buf)} bytes < header {HEADER_SIZE}")
        magic, version, code, k, count, duration, dc_norm = _HEADER.unpack_from(buf)
        if magic != MAGIC:
            raise HashFileError(source, f"bad magic {magic!r}, expected {MAGIC!r}")
        if version != VERSION:
            raise HashFileError(source, f"unsupported compact TMK version {version} (expected {VERSION})")
        if code != LEVEL1_CODE:
            raise HashFileError(source, f"unknown level-1 code {code}")
        if k < 1:
            raise HashFileError(source, "number of frequencies must be >= 1")
        want = HEADER_SIZE + LEVEL1_DIM + k * 2 * 4 + k * 2 * FEATURE_DIM
        if len(buf) != want:
            raise HashFileError(source, f"length {len(buf)} bytes, expected {want} for K = {k}")
        if not (np.isfinite(duration) and duration >= 0 and np.isfinite(dc_norm) and 0 <= dc_norm <= 1.001):
            raise HashFileError(source, f"bad duration {duration} or average norm {dc_norm}")
        o = HEADER_SIZE
        level1 = np.frombuffer(buf, np.uint8, LEVEL1_DIM, o)
        o += LEVEL1_DIM
        scales = np.frombuffer(buf, "<f4", k * 2, o).reshape(k, 2)
        o += k * 2 * 4
        if not (np.isfinite(scales).all() and (scales >= 0).all()):
            raise HashFileError(source, "level-2 scales must be finite and >= 0")
        coeffs = np.frombuffer(buf, np.int8, k * 2 * FEATURE_DIM, o).reshape(k, 2, FEATURE_DIM)
        return cls(level1=level1, dc_norm=float(dc_norm), scales=scales, coeffs=coeffs,
                   frame_count=int(count), duration_s=float(duration))


def _quantize_level1(avg: np.ndarray) -> np.ndarray:
    u = np.asarray(avg, dtype=np.float64)[LEVEL1_INDEX]
    m = np.abs(u).max() if u.size else 0.0
    if not m > 0:
        return np.zeros(LEVEL1_DIM, dtype=np.int8)
    return np.rint(u * (127.0 / m)).astype(np.int8)


def _quantize_parts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float[K, 2, d] -> (float32[K, 2] scales, int8[K, 2, d]) with ``scale = max|x| / 127``."""
    m = np.abs(x).max(axis=2)
    scales = (m / 127.0).astype(np.float32)
    safe = np.where(scales > 0, scales.astype(np.float64), 1.0)
    q = np.clip(np.rint(x / safe[..., None]), -127, 127).astype(np.int8)
    return scales, q


def quantize(d: CompactDescriptor) -> CompactDescriptor:
    """The int8 form of a float-path descriptor (returns ``d`` itself if already quantized)."""
    if d.quantized:
        return d
    scales, q = _quantize_parts(d.coeffs.astype(np.float64) * d.scales[..., None])
    return CompactDescriptor(d.level1, np.float32(d.dc_norm).item(), scales, q, d.frame_count,
                             np.float32(d.duration_s).item())


# ------------------------------------------------------------------------------------------------
# Streaming accumulation


class CompactAccumulator:
    """Build a :class:`CompactDescriptor` from PDQF frame features and their times.

    Memory is constant (``NUM_BINS`` x 256 float64, 2 MB) whatever the video length: frames are
    summed into time bins of width ``bin_seconds * 2**j``, and when a frame falls beyond the last
    bin, neighbouring bins merge pairwise (``j += 1``) until it fits.

    Args:
        bin_seconds: initial bin width, seconds (default one 15 fps frame: with 1024 bins, videos
            up to 68 s keep one frame per bin).
        num_bins: number of bins (even, >= 2).
        num_frequencies: K.

    Example::

        acc = CompactAccumulator()
        for feats, times in stream:     # float32[n, 256], float64[n] seconds, increasing
            acc.update(feats, times)
        desc = acc.finalize()
    """

    def __init__(self, bin_seconds: float = 1.0 / 15.0, num_bins: int = NUM_BINS,
                 num_frequencies: int = NUM_FREQUENCIES) -> None:
        if not bin_seconds > 0:
            raise ValueError(f"bin_seconds must be positive, got {bin_seconds}")
        if num_bins < 2 or num_bins % 2:
            raise ValueError(f"num_bins must be even and >= 2, got {num_bins}")
        if num_frequencies < 1 or num_frequencies > 65535:
            raise ValueError(f"num_frequencies must be in [1, 65535], got {num_frequencies}")
        self.num_frequencies = int(num_frequencies)
        self.width = float(bin_seconds)
        self._sum = np.zeros((num_bins, FEATURE_DIM), dtype=np.float64)
        self._tsum = np.zeros(num_bins, dtype=np.float64)
        self._count = np.zeros(num_bins, dtype=np.int64)
        self.count = 0
        self.merges = 0
        self._t0: float | None = None
        self._t_last = -np.inf

    @property
    def num_bins(self) -> int:
        return int(self._count.size)

    def _merge(self) -> None:
        half = self.num_bins // 2
        for arr in (self._sum, self._tsum, self._count):
            arr[:half] = arr[0::2] + arr[1::2]
            arr[half:] = 0
        self.width *= 2.0
        self.merges += 1

    def update(self, features: np.ndarray, times_s: np.ndarray) -> None:
        """Ingest float32[n, 256] raw PDQF vectors shown at ``times_s`` (float64[n] seconds,
        non-decreasing, continuing the previous calls). A single frame may be float32[256]."""
        f = np.asarray(features)
        if f.ndim == 1:
            f = f[None, :]
        t = np.atleast_1d(np.asarray(times_s, dtype=np.float64))
        if f.ndim != 2 or f.shape[1] != FEATURE_DIM:
            raise ValueError(f"features must have shape (n, {FEATURE_DIM}), got {np.shape(features)}")
        if t.shape != (f.shape[0],):
            raise ValueError(f"times_s must have shape ({f.shape[0]},), got {t.shape}")
        if f.shape[0] == 0:
            return
        if not (np.isfinite(f).all() and np.isfinite(t).all()):
            raise ValueError("features or times contain NaN or infinity")
        if t[0] < self._t_last or np.any(np.diff(t) < 0):
            raise ValueError("times must be non-decreasing across calls")
        g = f.astype(np.float64)
        norms = np.sqrt(np.einsum("ij,ij->i", g, g))
        g /= np.where(norms > 0, norms, 1.0)[:, None]
        if self._t0 is None:
            self._t0 = float(t[0])
        rel = t - self._t0
        while rel[-1] >= self.width * self.num_bins:
            self._merge()
        idx = np.minimum((rel / self.width).astype(np.int64), self.num_bins - 1)
        starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
        bins = idx[starts]
        self._sum[bins] += np.add.reduceat(g, starts, axis=0)
        self._tsum[bins] += np.add.reduceat(rel, starts)
        self._count[bins] += np.diff(np.r_[starts, idx.size])
        self.count += f.shape[0]
        self._t_last = float(t[-1])

    def _spectrum(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(time average float64[256], F_0..F_K complex128[K+1, 256], duration seconds)."""
        k_max = self.num_frequencies
        if self.count == 0:
            return np.zeros(FEATURE_DIM), np.zeros((k_max + 1, FEATURE_DIM), complex), 0.0
        span = self._t_last - self._t0
        dt = span / (self.count - 1) if self.count > 1 else self.width
        if not dt > 0:
            dt = self.width
        duration = span + dt
        used = np.flatnonzero(self._count)
        s = (self._tsum[used] / self._count[used] + 0.5 * dt) / duration
        phase = np.exp(-2j * np.pi * np.outer(np.arange(k_max + 1), s))
        spec = phase @ self._sum[used] / self.count
        return spec[0].real.copy(), spec, duration

    def finalize_float(self) -> CompactDescriptor:
        """Unquantized level 2 (float32 coefficients, unit scales): for measuring quantization.
        Level 1 is the same int8 vector as :meth:`finalize`'s."""
        avg, spec, duration = self._spectrum()
        parts = np.stack([spec[1:].real, -spec[1:].imag], axis=1)
        n = float(np.linalg.norm(avg))
        return CompactDescriptor(
            level1=_quantize_level1(avg), dc_norm=n,
            scales=np.ones((self.num_frequencies, 2), np.float32), coeffs=parts.astype(np.float32),
            frame_count=self.count, duration_s=duration)

    def finalize(self) -> CompactDescriptor:
        """The quantized descriptor of the frames ingested so far (more may follow)."""
        return quantize(self.finalize_float())


def compact_from_features(features: np.ndarray, times_s: np.ndarray | None = None,
                          fps: float = 15.0) -> CompactDescriptor:
    """One-shot helper; ``times_s`` defaults to ``arange(n) / fps``."""
    f = np.asarray(features)
    t = np.arange(f.shape[0]) / fps if times_s is None else times_s
    acc = CompactAccumulator()
    acc.update(f, t)
    return acc.finalize()


# ------------------------------------------------------------------------------------------------
# Scoring


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
        raise ValueError(f"codes must be int8[N, {LEVEL1_BYTES}], got {codes.shape}")
    out = np.empty(codes.shape[0], dtype=np.float32)
    level1_int8_batch(np.ascontiguousarray(query.level1_int8), codes, out)
    return out


@lru_cache(maxsize=8)
def _warp_tables(k_max: int) -> tuple[np.ndarray, ...]:
    """Precomputed tables for the warp search with K = ``k_max``.

    Returns scales ``a`` float64[S]; ``E(a j - k)`` complex128[S, 2K+1, 2K+1] (j, k = -K..K);
    ``E(a m)`` complex128[S, 4K+1] (m = -2K..2K); the FFT bins of j and m (int64); the shifts
    ``b`` float64[G] of the grid (in [-1/2, 1/2)); and the allowed (scale, shift) mask bool[S, G].
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
    out = (a, e, em, j % SHIFT_GRID, m % SHIFT_GRID, b, allowed)
    for arr in out:
        arr.flags.writeable = False
    return out


def _products(fa: np.ndarray, fb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-sided products of the tapered one-sided spectra fa, fb (complex[K, d], k = 1..K).

    With ``F_{-k} = conj F_k`` and ``F_0`` omitted (``c_0 = 0``), returns ``P[j, k] =
    F^A_j . conj(F^B_k)``, ``G_A`` and ``G_B`` (same form), complex128[2K+1, 2K+1], index ``j + K``,
    from one real ``(4K x d) @ (d x 4K)`` product (a complex GEMM on the two-sided arrays is
    about 10x slower at these sizes).
    """
    k = fa.shape[0]
    r = np.concatenate([fa.real, fa.imag, fb.real, fb.imag])
    m = r @ r.T
    pos = np.arange(k + 1, 2 * k + 1)
    neg = np.arange(k - 1, -1, -1)
    out = []
    for x, y in ((0, 2), (0, 0), (2, 2)):
        rr, ri = m[x * k:(x + 1) * k, y * k:(y + 1) * k], m[x * k:(x + 1) * k, (y + 1) * k:(y + 2) * k]
        ir, ii = m[(x + 1) * k:(x + 2) * k, y * k:(y + 1) * k], m[(x + 1) * k:(x + 2) * k, (y + 1) * k:(y + 2) * k]
        pc = (rr + ii) + 1j * (ir - ri)  # F_j . conj(F_k)
        pp = (rr - ii) + 1j * (ir + ri)  # F_j . F_k
        p = np.zeros((2 * k + 1, 2 * k + 1), dtype=np.complex128)
        p[np.ix_(pos, pos)] = pc
        p[np.ix_(pos, neg)] = pp
        p[np.ix_(neg, pos)] = np.conj(pp)
        p[np.ix_(neg, neg)] = np.conj(pc)
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
    a, e, em, jbin, mbin, b, allowed = _warp_tables(k_max)
    if ebb <= 0:
        return 0.0, 0.0, 1.0
    x = np.zeros((2, a.size, SHIFT_GRID), dtype=np.complex128)
    x[0][:, jbin] = (e * p[None]).sum(axis=2)  # coefficient of exp(2 pi i j b), per scale
    x[1][:, mbin] = em * h[None, :]  # warped energy of A
    y = np.fft.ifft(x, axis=-1).real * SHIFT_GRID
    num, den = y[0], y[1]
    ok = allowed & (den > 1e-12 * ebb)
    cos = np.full(num.shape, -np.inf)
    cos[ok] = num[ok] / np.sqrt(den[ok] * ebb)
    flat = int(np.argmax(cos))
    si, bi = divmod(flat, SHIFT_GRID)
    best = float(cos[si, bi])
    if not np.isfinite(best):
        return 0.0, 0.0, 1.0
    return min(best, 1.0), float(b[bi]), float(a[si])


def compact_level2_detail(a: CompactDescriptor, b: CompactDescriptor) -> tuple[float, float, float]:
    """(level 2, offset, scale) of a pair; see :class:`CompactScore` and the module docstring."""
    if a.num_frequencies != b.num_frequencies:
        raise ValueError(f"frequency counts differ: {a.num_frequencies} != {b.num_frequencies}")
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


def compact_score(a: CompactDescriptor, b: CompactDescriptor) -> CompactScore:
    """Both scores of a pair, with the best warp."""
    l2, off, sc = compact_level2_detail(a, b)
    return CompactScore(level1=compact_level1(a, b), level2=l2, offset=off, scale=sc)


def compact_is_match(s: CompactScore, level1: float = COMPACT_LEVEL1_THRESHOLD,
                     level2: float = COMPACT_LEVEL2_THRESHOLD) -> bool:
    """Two-level rule: ``s.level1 >= level1 and s.level2 >= level2`` (inclusive)."""
    return bool(s.level1 >= level1 and s.level2 >= level2)
