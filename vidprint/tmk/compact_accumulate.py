"""Streaming accumulation of PDQF frame features into a compact TMK descriptor (:mod:`vidprint.tmk.compact`).

Memory is constant (``NUM_BINS`` x 256 float64 time bins, 2 MB) whatever the video length.
"""
from __future__ import annotations

import numpy as np

from vidprint.errors import InvalidArgumentError
from vidprint.tmk.compact import (
    FEATURE_DIM,
    NUM_BINS,
    NUM_FREQUENCIES,
    CompactDescriptor,
    _quantize_level1,
    quantize,
)


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
            raise InvalidArgumentError("bin_seconds", f"bin_seconds must be positive, got {bin_seconds}")
        if num_bins < 2 or num_bins % 2:
            raise InvalidArgumentError("num_bins", f"num_bins must be even and >= 2, got {num_bins}")
        if num_frequencies < 1 or num_frequencies > 65535:
            raise InvalidArgumentError("num_frequencies", f"num_frequencies must be in [1, 65535], got {num_frequencies}")
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
            raise InvalidArgumentError("features", f"features must have shape (n, {FEATURE_DIM}), got {np.shape(features)}")
        if t.shape != (f.shape[0],):
            raise InvalidArgumentError("times_s", f"times_s must have shape ({f.shape[0]},), got {t.shape}")
        if f.shape[0] == 0:
            return
        if not (np.isfinite(f).all() and np.isfinite(t).all()):
            raise InvalidArgumentError("features", "features or times contain NaN or infinity")
        if t[0] < self._t_last or np.any(np.diff(t) < 0):
            raise InvalidArgumentError("times", "times must be non-decreasing across calls")
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
        # F_k = sum_b exp(-2 pi i k s_b) S_b / count, as two real products: a complex phase matrix
        # times the real bin sums would cast the sums to complex and skip the real BLAS kernels.
        angle = (-2.0 * np.pi) * np.outer(np.arange(k_max + 1), s)
        sums = self._sum[used]
        spec = np.empty((k_max + 1, FEATURE_DIM), dtype=np.complex128)
        spec.real = np.cos(angle) @ sums
        spec.imag = np.sin(angle) @ sums
        spec /= self.count
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


