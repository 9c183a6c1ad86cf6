"""The TMK+PDQF descriptor and the reference ``.tmk`` binary format (docs/algorithms.md §5.1).

Layout, little-endian, no padding: ``TMK1`` ``FVEC`` ``PDQF``, five int32 (fps, P, m, d,
frame count), int32[P] periods, f32[m] coefficients, f32[d] pure average, f32[P, m, d] cosine
features, f32[P, m, d] sine features. 263,344 bytes for the default P=4, m=32, d=256.

Reader policy (stricter than the reference, which checks only the first two magics, the algorithm
and short reads):

* the byte length must equal the size implied by the header exactly: truncated files **and
  trailing bytes** are rejected (the format has no trailer, so extra bytes mean a corrupt or
  concatenated file);
* fps > 0, P >= 0, m >= 0, d >= 0, frame count >= 0, every period in ``[1, MAX_PERIOD]``;
* every float must be finite, and the values must be ones TMK finalization can produce
  (:func:`value_problem`: norms ``a_j`` or 0, bounded averages, zero ``sin[:, 0]``), which keeps
  every score of a file that is read within its documented range: a damaged or forged entry of a
  shared hash list cannot match every video.

Sizes are checked against the real length of the input before any array is allocated, so a
header that claims huge dimensions costs nothing. Any violation raises
:class:`vidprint.errors.HashFileError` naming the source.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO, ClassVar

import numpy as np

from vidprint.errors import HashFileError, InvalidArgumentError
from vidprint.fileio import EncodedValue, Readable
from vidprint.fileio import source_name as _source_name
from vidprint.fileio import write_bytes
from vidprint.tmk.params import ALGORITHM, pair_score_normalizer

PROJECT_MAGIC = b"TMK1"
FILE_TYPE_MAGIC = b"FVEC"
HEADER_SIZE = 32
#: Largest period accepted by the reader, in frames (about 3.2 days at 15 fps). Level-2 scoring
#: works on arrays of length T_p, so this bounds its memory; reference periods are <= 14653.
MAX_PERIOD = 1 << 22
_HEADER = struct.Struct("<4s4s4s5i")
_CHUNK = 1 << 20

Source = Readable


def readonly_array(x: np.ndarray, dtype, shape: tuple[int, ...], name: str) -> np.ndarray:
    """A private, C-contiguous, read-only copy of ``x`` (frozen descriptors stay frozen)."""
    arr = np.array(x, dtype=dtype, order="C", copy=True)
    if arr.shape != shape:
        raise InvalidArgumentError(name, f"{name} has shape {arr.shape}, expected {shape}")
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class TMKDescriptor(EncodedValue):
    """A whole-video TMK+PDQF descriptor, as stored in a ``.tmk`` file.

    Attributes:
        fps: resampled frame rate, frames/s (15 in the reference profile).
        periods: int32[P], period lengths in resampled frames.
        coefficients: float32[m], Fourier weights ``a_j``.
        frame_count: number of resampled frames ingested (informational).
        average: float32[d], mean of the raw PDQF vectors (not normalized).
        cos: float32[P, m, d], normalized and weighted cosine features.
        sin: float32[P, m, d], sine features; ``sin[:, 0, :]`` is zero.

    Arrays are stored as read-only C-contiguous copies. Construction checks shapes, fps > 0,
    frame_count >= 0 and periods in [1, MAX_PERIOD] (``ValueError``); values are not checked for
    finiteness (:func:`read` does that). Instances compare by value (``==`` is equality of the
    ``.tmk`` encodings) and are hashable.
    """

    fps: int
    periods: np.ndarray
    coefficients: np.ndarray
    frame_count: int
    average: np.ndarray
    cos: np.ndarray
    sin: np.ndarray

    profile: ClassVar[str] = "reference"
    algorithm: ClassVar[bytes] = ALGORITHM

    def __post_init__(self) -> None:
        periods = np.array(self.periods, dtype=np.int32, order="C", copy=True).reshape(-1)
        periods.flags.writeable = False
        coefficients = np.array(self.coefficients, dtype=np.float32, copy=True).reshape(-1)
        coefficients.flags.writeable = False
        average = np.array(self.average, dtype=np.float32, copy=True).reshape(-1)
        average.flags.writeable = False
        shape = (periods.shape[0], coefficients.shape[0], average.shape[0])
        if int(self.fps) <= 0 or int(self.frame_count) < 0:
            raise InvalidArgumentError("fps", f"fps must be > 0 and frame_count >= 0, got {self.fps}, {self.frame_count}")
        if periods.size and (periods.min() < 1 or periods.max() > MAX_PERIOD):
            raise InvalidArgumentError("periods", f"periods must lie in [1, {MAX_PERIOD}], got {periods.tolist()}")
        object.__setattr__(self, "fps", int(self.fps))
        object.__setattr__(self, "frame_count", int(self.frame_count))
        object.__setattr__(self, "periods", periods)
        object.__setattr__(self, "coefficients", coefficients)
        object.__setattr__(self, "average", average)
        object.__setattr__(self, "cos", readonly_array(self.cos, np.float32, shape, "cos"))
        object.__setattr__(self, "sin", readonly_array(self.sin, np.float32, shape, "sin"))
        object.__setattr__(self, "_normalizer", pair_score_normalizer(coefficients))

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(P, m, d)``: number of periods, of coefficients, feature dimension."""
        return self.cos.shape  # type: ignore[return-value]

    @property
    def pair_score_normalizer(self) -> np.float32:
        """``a_0 + 2 * sum_{j>=1} a_j`` in f32, the level-2 normalizer (docs/algorithms.md §2.3)."""
        return self._normalizer  # type: ignore[attr-defined]

    def nbytes_file(self) -> int:
        """Size of the ``.tmk`` encoding in bytes."""
        p, m, d = self.shape
        return HEADER_SIZE + 4 * p + 4 * m + 4 * d + 8 * p * m * d

    def to_bytes(self) -> bytes:
        """The ``.tmk`` encoding (docs/algorithms.md §5.1)."""
        p, m, d = self.shape
        header = _HEADER.pack(
            PROJECT_MAGIC, FILE_TYPE_MAGIC, ALGORITHM, self.fps, p, m, d, self.frame_count
        )
        return b"".join(
            (
                header,
                self.periods.astype("<i4").tobytes(),
                self.coefficients.astype("<f4").tobytes(),
                self.average.astype("<f4").tobytes(),
                self.cos.astype("<f4").tobytes(),
                self.sin.astype("<f4").tobytes(),
            )
        )

    def write(self, path: str | os.PathLike | BinaryIO) -> None:
        """Write the ``.tmk`` encoding to a path (atomically: a killed writer never leaves a
        truncated file) or to a binary file object."""
        write_bytes(path, self.to_bytes())

    @classmethod
    def from_bytes(cls, data: Source) -> "TMKDescriptor":
        """Parse a ``.tmk`` encoding: bytes, a path or a binary file object (same as :func:`read`)."""
        return read(data)

    @classmethod
    def read(cls, src: Source) -> "TMKDescriptor":
        """Read a ``.tmk`` file: a path, bytes or a binary file object (same as :func:`read`)."""
        return read(src)

    def __repr__(self) -> str:
        p, m, d = self.shape
        return f"TMKDescriptor(fps={self.fps}, periods={p}, coefficients={m}, dim={d}, frame_count={self.frame_count})"


def expected_size(num_periods: int, num_coefficients: int, dim: int) -> int:
    """Byte length of a ``.tmk`` with these dimensions (Python ints: no overflow)."""
    return HEADER_SIZE + 4 * (num_periods + num_coefficients + dim) + 8 * num_periods * num_coefficients * dim


def _read_stream(f: BinaryIO, name: str) -> bytes:
    """Read the header, then at most the implied size plus one byte, in bounded chunks."""
    head = f.read(HEADER_SIZE)
    if not isinstance(head, (bytes, bytearray)):
        raise HashFileError(name, "not a binary stream")
    head = bytes(head)
    if len(head) < HEADER_SIZE:
        return head
    _, _, _, _, p, m, d, _ = _HEADER.unpack(head)
    if min(p, m, d) < 0:
        return head  # rejected by _parse with a precise message
    remaining = expected_size(p, m, d) - HEADER_SIZE + 1  # +1 detects trailing bytes
    parts = [head]
    while remaining > 0:
        chunk = f.read(min(remaining, _CHUNK))
        if not chunk:
            break
        parts.append(bytes(chunk))
        remaining -= len(chunk)
    return b"".join(parts)


def read(src: Source) -> TMKDescriptor:
    """Read a ``.tmk`` descriptor from a path, a bytes-like object or a binary file object.

    Raises :class:`vidprint.errors.HashFileError` (naming the file) on any malformed input, and
    the usual ``OSError`` if a path cannot be opened.
    """
    name = _source_name(src)
    if isinstance(src, (str, os.PathLike)):
        try:
            with open(src, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                data = f.read(HEADER_SIZE)
                # Validate against the on-disk size before reading (and allocating) the body.
                _check_header(data, name, size)
                data += f.read()
        except IsADirectoryError:
            raise HashFileError(name, "is a directory, not a .tmk file") from None
        except FileNotFoundError:
            raise HashFileError(name, "no such file") from None
        except OSError as exc:
            raise HashFileError(name, f"cannot read: {exc.strerror or exc}") from None
    elif isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    elif hasattr(src, "read"):
        data = _read_stream(src, name)  # type: ignore[arg-type]
    else:
        raise InvalidArgumentError(name, f"cannot read a .tmk from a {type(src).__name__}: give a path, "
                                         "bytes or a binary file object")
    return _parse(data, name)


def _size_reason(actual: int, expected: int, p: int, m: int, d: int) -> str:
    if actual < expected:
        return f"truncated: {actual} bytes, header (P={p}, m={m}, d={d}) implies {expected}"
    return f"{actual - expected} trailing bytes after the {expected} bytes implied by the header"


def _check_header(data: bytes, name: str, total: int) -> tuple[int, int, int, int, int]:
    """Validate the 32-byte header against the total byte length; return (fps, P, m, d, count)."""
    if len(data) < HEADER_SIZE:
        raise HashFileError(name, f"truncated header: {len(data)} of {HEADER_SIZE} bytes")
    proj, ftype, algo, fps, p, m, d, count = _HEADER.unpack_from(data, 0)
    if proj != PROJECT_MAGIC:
        raise HashFileError(name, f"bad project magic {proj!r}, expected {PROJECT_MAGIC!r}")
    if ftype != FILE_TYPE_MAGIC:
        raise HashFileError(name, f"bad file-type magic {ftype!r}, expected {FILE_TYPE_MAGIC!r}")
    if algo != ALGORITHM:
        raise HashFileError(name, f"unknown frame-feature algorithm {algo!r}, expected {ALGORITHM!r}")
    if fps <= 0:
        raise HashFileError(name, f"frames per second must be positive, got {fps}")
    for label, value in (("number of periods", p), ("number of coefficients", m), ("dimension", d)):
        if value < 0:
            raise HashFileError(name, f"negative {label} {value}")
    if count < 0:
        raise HashFileError(name, f"negative frame count {count}")
    size = expected_size(p, m, d)
    if total != size:
        raise HashFileError(name, _size_reason(total, size, p, m, d))
    return fps, p, m, d, count


#: Largest magnitude of a PDQF coefficient, hence of a pure-average element: the 16x64 DCT matrix has
#: rows of L1 norm <= 64 * sqrt(2/64), so ``|B[u, v]| <= 255 * 128 = 32640`` for luma in 0..255.
MAX_AVERAGE_MAGNITUDE = 32768.0
#: Relative tolerance on ``||C[p][j]||^2 = a_j`` (finalization stores it in f32: error ~1e-6).
NORM_RTOL = 1e-3


def value_problem(coefficients: np.ndarray, count: int, average: np.ndarray, cos: np.ndarray,
                  sin: np.ndarray) -> str | None:
    """Why these arrays cannot come from TMK+PDQF finalization (docs/algorithms.md §2.5), or None if they can.

    What the format can produce: finite values; coefficients ``a_j >= 0``; pure-average elements
    within :data:`MAX_AVERAGE_MAGNITUDE`; ``sin[:, 0, :] == 0``; every cosine and sine vector of
    squared norm 0 or ``a_j`` (within :data:`NORM_RTOL`); all zeros when ``count == 0``. These bound
    every score: level 1 is a cosine, and ``|K_p(o)| <= a_0 + 2 sum a_j = N`` (Cauchy-Schwarz), so
    level 2 lies in [-1, 1]; a file that breaks them could score anything and is refused.
    """
    if not (np.isfinite(coefficients).all() and np.isfinite(average).all() and np.isfinite(cos).all()
            and np.isfinite(sin).all()):
        return "non-finite value"
    if coefficients.size and float(coefficients.min()) < 0:
        return f"negative Fourier coefficient {float(coefficients.min())}"
    big = float(np.abs(average).max()) if average.size else 0.0
    if big > MAX_AVERAGE_MAGNITUDE:
        return f"pure-average element of magnitude {big:.3g} > {MAX_AVERAGE_MAGNITUDE:g}, beyond any PDQF value"
    if count == 0:
        if average.any() or cos.any() or sin.any():
            return "frame count 0 with non-zero features"
        return None
    if sin.shape[1] and sin[:, 0, :].any():
        return "non-zero sine features for coefficient 0"
    want = coefficients.astype(np.float64)[None, :]
    for label, arr in (("cosine", cos), ("sine", sin)):
        n2 = np.einsum("pjd,pjd->pj", arr.astype(np.float64), arr.astype(np.float64))
        ok = (n2 == 0) | (np.abs(n2 - want) <= NORM_RTOL * want)
        if not ok.all():
            pi, j = (int(v[0]) for v in np.nonzero(~ok))
            return (f"{label} features [period {pi}, coefficient {j}] have squared norm {n2[pi, j]:.6g}; "
                    f"the format gives 0 or a_j = {want[0, j]:.6g}")
    return None


def _parse(data: bytes, name: str) -> TMKDescriptor:
    fps, p, m, d, count = _check_header(data, name, len(data))
    off = HEADER_SIZE
    periods = np.frombuffer(data, dtype="<i4", count=p, offset=off)
    off += 4 * p
    bad = np.flatnonzero((periods < 1) | (periods > MAX_PERIOD))
    if bad.size:
        raise HashFileError(
            name, f"period[{bad[0]}] = {periods[bad[0]]} outside [1, {MAX_PERIOD}]"
        )
    floats = np.frombuffer(data, dtype="<f4", offset=off)
    finite = np.isfinite(floats)
    if not finite.all():
        k = int(np.argmin(finite))
        raise HashFileError(name, f"non-finite value {floats[k]} at byte offset {off + 4 * k}")
    coefficients = floats[:m]
    average = floats[m : m + d]
    n3 = p * m * d
    cos = floats[m + d : m + d + n3].reshape(p, m, d)
    sin = floats[m + d + n3 :].reshape(p, m, d)
    problem = value_problem(coefficients, count, average, cos, sin)
    if problem:
        raise HashFileError(name, problem + " (a damaged or forged file)")
    return TMKDescriptor(
        fps=fps,
        periods=periods,
        coefficients=coefficients,
        frame_count=count,
        average=average,
        cos=cos,
        sin=sin,
    )


__all__ = ["TMKDescriptor", "read", "expected_size", "value_problem", "MAX_PERIOD", "HEADER_SIZE",
           "MAX_AVERAGE_MAGNITUDE"]
