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

and the warped norm likewise from A's own 61 x 61 product. For each scale the shift search is an
inverse DFT over ``b``, evaluated at the allowed shifts only. The warps searched: scale ``a`` from 0.88 to 1 (step 0.005) applied to either video
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

Thresholds: level 1 >= 0.4 (a loose prefilter), level 2 >= 0.6 (:data:`COMPACT_LEVEL1_THRESHOLD`,
:data:`COMPACT_LEVEL2_THRESHOLD`); level 2 decides. How they were chosen and what they give on real
data (recall per transform, false positives on every unrelated pair): README, *Detection quality*,
and docs/evaluation.md.

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

import numpy as np
from scipy.special import i0

from vidprint.errors import HashFileError, InvalidArgumentError
from vidprint.fileio import EncodedValue, Readable, Writable, read_bytes, write_bytes
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
#: Largest valid encoding (K = 65535 frequencies): inputs beyond it are refused before parsing.
MAX_FILE_BYTES = HEADER_SIZE + LEVEL1_DIM + 65535 * 2 * (4 + FEATURE_DIM)

#: Largest level-2 dequantization scale an encoder produces (1/127, |F_k| <= 1), with rounding slack.
MAX_LEVEL2_SCALE = (1.0 / 127.0) * (1.0 + 1e-3)

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
class CompactDescriptor(EncodedValue):
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

    Instances compare by value (``==`` is equality of the :meth:`to_bytes` encodings; a float-path
    descriptor equals its quantized form) and are hashable.
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
            raise InvalidArgumentError("frame_count", f"frame_count must be >= 0, got {self.frame_count}")

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

    def write(self, path: Writable) -> None:
        """Write the ``.vptc`` encoding to a path (atomically) or a binary file object."""
        write_bytes(path, self.to_bytes())

    @classmethod
    def read(cls, src: Readable, source: str | None = None) -> "CompactDescriptor":
        """Read a ``.vptc`` file: a path, bytes or a binary file object (same as :meth:`from_bytes`)."""
        return cls.from_bytes(src, source)

    @classmethod
    def from_bytes(cls, data: Readable, source: str | None = None) -> "CompactDescriptor":
        """Parse a ``.vptc`` encoding from bytes, a path or a binary file object.

        Raises :class:`HashFileError` naming ``source`` (default: the path or stream name) for a
        missing, truncated, oversized or malformed input.
        """
        buf, source = read_bytes(data, max_bytes=MAX_FILE_BYTES, what="compact TMK (.vptc) file", source=source)
        return cls._parse(buf, source)

    def __repr__(self) -> str:
        return (f"CompactDescriptor(frames={self.frame_count}, duration_s={self.duration_s:.3f}, "
                f"frequencies={self.num_frequencies}{'' if self.quantized else ', float'})")

    @classmethod
    def _parse(cls, buf: bytes, source: str) -> "CompactDescriptor":
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
        # |F_k[d]| <= 1 (a mean of unit vectors times phases), so scale = max|x| / 127 <= 1/127: a
        # larger scale cannot come from an encoder and could overflow the scores.
        if float(scales.max()) > MAX_LEVEL2_SCALE:
            raise HashFileError(source, f"level-2 scale {float(scales.max()):.6g} > {MAX_LEVEL2_SCALE:.6g}, "
                                        "beyond what the format can produce (a damaged or forged file)")
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
