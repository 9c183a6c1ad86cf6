"""Streaming TMK accumulation over per-frame PDQF vectors (docs/algorithms.md §2.4-§2.5).

Memory is ``O(P * m * d)`` (about 260 KB for the reference profile) whatever the video length:
frames are folded into running sums as they arrive.
"""
from __future__ import annotations

import numpy as np

from vidprint.errors import InvalidArgumentError
from vidprint.tmk import _kernels
from vidprint.tmk.descriptor import MAX_PERIOD, TMKDescriptor
from vidprint.tmk.params import FEATURE_DIM, FPS, poullot_coefficients, poullot_periods


class TMKAccumulator:
    """Build a :class:`TMKDescriptor` from PDQF frame features, a batch of frames at a time.

    Args:
        fps: frame rate of the feature stream, frames/s; only recorded in the descriptor (the time
            index is the frame position, docs/algorithms.md §2.4).
        periods: int[P] period lengths in frames; default: the Poullot periods.
        coefficients: float[m] Fourier weights; default: the Poullot weights (stored as f32).
        dim: feature dimension d (256 for PDQF).

    Example::

        acc = TMKAccumulator()
        for chunk in chunks_of_pdqf_vectors:   # float32[n, 256] each
            acc.update(chunk)
        descriptor = acc.finalize()
    """

    def __init__(
        self,
        fps: int = FPS,
        periods: np.ndarray | None = None,
        coefficients: np.ndarray | None = None,
        dim: int = FEATURE_DIM,
    ) -> None:
        self.fps = int(fps)
        if self.fps <= 0:
            raise InvalidArgumentError("fps", f"fps must be positive, got {fps}")
        p = poullot_periods() if periods is None else np.asarray(periods)
        if p.ndim != 1 or (p.size and (p.min() < 1 or p.max() > MAX_PERIOD)):
            raise InvalidArgumentError("periods", f"periods must be a 1-D array of integers in [1, {MAX_PERIOD}]")
        self.periods = np.ascontiguousarray(p, dtype=np.int32)
        c = poullot_coefficients() if coefficients is None else np.asarray(coefficients)
        if c.ndim != 1 or not np.all(np.isfinite(c)) or np.any(c < 0):
            raise InvalidArgumentError("coefficients", "coefficients must be a 1-D array of finite non-negative numbers")
        self.coefficients = np.ascontiguousarray(c, dtype=np.float32)
        self.dim = int(dim)
        shape = (self.periods.size, self.coefficients.size, self.dim)
        self._avg = np.zeros(self.dim, dtype=np.float32)
        self._cos = np.zeros(shape, dtype=np.float32)
        self._sin = np.zeros(shape, dtype=np.float32)
        self._g = np.empty(self.dim, dtype=np.float32)
        self._cos_j = np.empty(max(self.coefficients.size, 1), dtype=np.float64)
        self._sin_j = np.empty(max(self.coefficients.size, 1), dtype=np.float64)
        self.count = 0

    def update(self, features: np.ndarray) -> None:
        """Ingest ``features``: float32[n, d] raw PDQF vectors of the next ``n`` frames.

        A single frame may be passed as float32[d]. Frame times continue from the previous call.
        Other float dtypes are converted to f32. Non-finite values raise ``ValueError``.
        """
        f = np.asarray(features)
        if f.ndim == 1:
            f = f[None, :]
        if f.ndim != 2 or f.shape[1] != self.dim:
            raise InvalidArgumentError("features", f"features must have shape (n, {self.dim}), got {np.shape(features)}")
        if f.shape[0] == 0:
            return
        f = np.ascontiguousarray(f, dtype=np.float32)
        if not np.isfinite(f).all():
            raise InvalidArgumentError("features", "features contain NaN or infinity")
        _kernels.accumulate_frames(
            f, self.count, self.periods, self._avg, self._cos, self._sin,
            self._g, self._cos_j, self._sin_j,
        )
        self.count += f.shape[0]

    def finalize(self) -> TMKDescriptor:
        """The descriptor of the frames ingested so far (docs/algorithms.md §2.5).

        Works on copies, so more frames may be ingested afterwards. With zero frames the
        descriptor is all zeros with ``frame_count == 0``, as in the reference.
        """
        avg = self._avg.copy()
        cos = self._cos.copy()
        sin = self._sin.copy()
        if self.count > 0:
            _kernels.finalize_in_place(self.count, self.coefficients, avg, cos, sin)
        return TMKDescriptor(
            fps=self.fps,
            periods=self.periods,
            coefficients=self.coefficients,
            frame_count=self.count,
            average=avg,
            cos=cos,
            sin=sin,
        )


def tmk_from_features(features: np.ndarray, fps: int = FPS) -> TMKDescriptor:
    """One-shot helper: the reference-profile descriptor of float32[n, 256] PDQF vectors."""
    acc = TMKAccumulator(fps=fps)
    acc.update(features)
    return acc.finalize()
