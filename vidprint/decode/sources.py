"""Frame-source specifications: which frames a consumer wants, at what size, and how they are sampled.

A source is a small frozen description; :func:`vidprint.decode.read_frames` turns any number of them
into luminance frames in a single decoding pass.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TMKSource:
    """The reference TMK+PDQF frame source (docs/algorithms.md §2.2).

    The stream the ``ffmpeg`` CLI picks by default, auto-rotated by its display matrix, resampled to
    ``fps`` by FFmpeg's CFR drop/duplicate rule, squashed to ``size`` x ``size`` with the bicubic
    scaler (BT.601). Frame ``index`` is the position in the resampled stream, ``time = index / fps``.
    """

    fps: int = 15
    size: int = 64
    scaler: str = "bicubic"
    stream: str = "best"
    autorotate: bool = True

    def __post_init__(self):
        if self.fps <= 0 or self.size < 1:
            raise ValueError(f"bad TMKSource {self}")


@dataclass(frozen=True)
class VPDQSource:
    """The reference vPDQ frame source (docs/algorithms.md §3.1).

    The first video stream, no auto-rotation, every decoded frame numbered from 0; frame ``n`` is
    kept iff ``n % K == 0`` with ``K = max(1, int(every_seconds * fps))``. Native size, or squashed
    to ``size`` x ``size`` with ``scaler`` ("area" as the current reference; "lanczos" reproduces the
    older ``-128x128`` sample files). ``time = float32(n) / float32(fps)``.
    """

    every_seconds: float = 0.0
    size: int | None = None
    scaler: str = "area"
    stream: str = "first"
    autorotate: bool = False

    def __post_init__(self):
        if self.every_seconds < 0:
            raise ValueError(f"every_seconds must be >= 0, got {self.every_seconds}")
        if self.size is not None and self.size < 5:
            raise ValueError(f"size must be >= 5 pixels (PDQ's minimum), got {self.size}")

    def stride(self, fps: float) -> int:
        """The reference's sampling step ``K`` for a stream of ``fps`` frames per second."""
        return max(1, int(self.every_seconds * fps))
