"""PDQ and PDQF of luminance planes the decoder computed (``float32[H, W]``, values 0..255), one or a
batch at a time (a batch is one nogil Numba call: run batches on several threads at once)."""
from __future__ import annotations

import numpy as np

from vidprint.errors import InvalidArgumentError
from vidprint.pdqf import _kernels
from vidprint.pdqf.hash import PDQHash
from vidprint.pdqf.scratch import cached_scratch, readonly


# --------------------------------------------------------------------------------------------------
# Luma entry points


def _as_luma(luma, ndim: int) -> np.ndarray:
    arr = np.ascontiguousarray(luma, dtype=np.float32)
    if arr.ndim != ndim:
        shape = "float32[H, W]" if ndim == 2 else "float32[N, H, W]"
        raise InvalidArgumentError("luma", f"luma must be {shape}, got shape {arr.shape}")
    if arr.shape[-1] < 1 or arr.shape[-2] < 1:
        raise InvalidArgumentError("luma", f"luma planes must be at least 1x1, got shape {arr.shape}")
    return readonly(arr)


def hash_luma(luma: np.ndarray) -> PDQHash:
    """PDQ hash of a ``float32[H, W]`` luminance plane (values on the 0..255 scale)."""
    plane = _as_luma(luma, 2)
    s = cached_scratch(*plane.shape)
    words = np.empty(4, dtype=np.uint64)
    q = s.hash_luma_into(plane, words)
    return PDQHash(words, q)


def pdqf_luma(luma: np.ndarray) -> np.ndarray:
    """PDQF ``float32[256]`` of a ``float32[H, W]`` luminance plane (no size guard, 64x64 unblurred)."""
    plane = _as_luma(luma, 2)
    s = cached_scratch(*plane.shape)
    out = np.empty(256, dtype=np.float32)
    s.pdqf_luma_into(plane, out)
    return out


def hash_luma_batch(lumas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PDQ of many same-size frames ``float32[N, H, W]`` in one nogil call.

    Returns ``(words uint64[N, 4], quality int32[N])``; ``words`` in :mod:`vidprint.pdqf.hash` layout.
    """
    arr = _as_luma(lumas, 3)
    n = arr.shape[0]
    words = np.empty((n, 4), dtype=np.uint64)
    quality = np.empty(n, dtype=np.int32)
    if n:
        _kernels.hash_luma_batch_into(arr, words, quality)
    return words, quality


def hash_luma_dihedral_batch(lumas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dihedral PDQ of many frames ``float32[N, H, W]``: ``(words uint64[N, 8, 4], quality int32[N])``.

    Variant order :data:`DIHEDRAL_NAMES`; always blurs (reference dihedral entry point).
    """
    arr = _as_luma(lumas, 3)
    n = arr.shape[0]
    words = np.empty((n, 8, 4), dtype=np.uint64)
    quality = np.empty(n, dtype=np.int32)
    if n:
        _kernels.dihedral_luma_batch_into(arr, words, quality)
    return words, quality


def pdqf_luma_batch(lumas: np.ndarray, *, return_quality: bool = False):
    """PDQF of many frames ``float32[N, H, W]`` -> ``float32[N, 256]`` (and ``int32[N]`` quality if asked).

    TMK feeds 64x64 frames, which take the reference's no-blur shortcut (§1.10): their PDQF is the DCT
    of the luma itself. Other sizes are blurred and decimated first. No size guard.
    """
    arr = _as_luma(lumas, 3)
    n = arr.shape[0]
    coeffs = np.empty((n, 256), dtype=np.float32)
    quality = np.empty(n, dtype=np.int32)
    if n:
        _kernels.pdqf_luma_batch_into(arr, coeffs, quality)
    return (coeffs, quality) if return_quality else coeffs

