"""Preallocated buffers for hashing frames of one size, and the per-thread cache behind the entry points."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from vidprint.pdqf import _kernels


def readonly(arr: np.ndarray) -> np.ndarray:
    """A read-only view (no copy). Kernels never write their inputs; passing every input read-only
    means one Numba specialisation serves writable arrays and read-only ones (e.g. from Pillow)."""
    v = arr.view()
    v.flags.writeable = False
    return v


DUMMY_RGB = readonly(np.empty((0, 0, 3), dtype=np.uint8))
DUMMY_LUMA = readonly(np.empty((0, 0), dtype=np.float32))


@dataclass(frozen=True)
class Scratch:
    """Preallocated buffers for hashing frames of one size ``h x w`` (see :func:`make_scratch`).

    Reuse one per thread; the arrays are overwritten by every call.
    """

    h: int
    w: int
    work: np.ndarray  # float32[rows, max(w, 64)], blur workspace
    a64: np.ndarray  # float32[64, 64], the decimated plane
    tmp: np.ndarray  # float32[16, 64], half-done DCT
    b: np.ndarray  # float32[16, 16], PDQF of the last frame
    b8: np.ndarray  # float32[8, 16, 16], dihedral coefficient matrices
    median: np.ndarray  # float32[256], median scratch
    dummy_rgb: np.ndarray = field(default_factory=lambda: DUMMY_RGB)  # uint8[0, 0, 3], unused source
    dummy_luma: np.ndarray = field(default_factory=lambda: DUMMY_LUMA)  # float32[0, 0], unused source

    def _check(self, luma: np.ndarray) -> np.ndarray:
        # the kernels do no bounds checking: a plane larger than the workspace would overrun it
        if luma.shape != (self.h, self.w) or luma.dtype != np.float32 or not luma.flags.c_contiguous:
            raise ValueError(
                f"expected a C-contiguous float32[{self.h}, {self.w}] luma plane, got {luma.dtype}{list(luma.shape)}"
            )
        return readonly(luma)

    def hash_luma_into(self, luma: np.ndarray, words: np.ndarray) -> int:
        """PDQ of ``luma`` float32[h, w] (C-contiguous) into ``words`` uint64[4]; returns the quality."""
        return int(
            _kernels.hash_into(
                self._check(luma), self.dummy_rgb, _kernels.MODE_LUMA, self.work, self.a64, self.tmp, self.b, self.median, words
            )
        )

    def pdqf_luma_into(self, luma: np.ndarray, coeffs: np.ndarray) -> int:
        """PDQF of ``luma`` float32[h, w] into ``coeffs`` float32[256]; returns the quality."""
        q = _kernels.pdqf_into(
            self._check(luma), self.dummy_rgb, _kernels.MODE_LUMA, True, self.work, self.a64, self.tmp, self.b
        )
        coeffs[:] = self.b.reshape(256)
        return int(q)


def make_scratch(h: int, w: int) -> Scratch:
    """Buffers for frames of ``h`` rows and ``w`` columns."""
    if h < 1 or w < 1:
        raise ValueError(f"frame size must be at least 1x1, got {h}x{w}")
    return Scratch(
        h=int(h),
        w=int(w),
        work=_kernels.alloc_workspace(int(h), int(w)),
        a64=np.empty((64, 64), dtype=np.float32),
        tmp=np.empty((16, 64), dtype=np.float32),
        b=np.empty((16, 16), dtype=np.float32),
        b8=np.empty((8, 16, 16), dtype=np.float32),
        median=np.empty(256, dtype=np.float32),
    )


_LOCAL = threading.local()


def cached_scratch(h: int, w: int) -> Scratch:
    """This thread's scratch for ``h x w`` frames (kept for the last size used)."""
    s = getattr(_LOCAL, "scratch", None)
    if s is None or s.h != h or s.w != w:
        s = make_scratch(h, w)
        _LOCAL.scratch = s
    return s

