"""Whole-image PDQ / PDQF kernels (docs/algorithms.md §1), bit-exact with the reference.

Everything here works on preallocated, C-contiguous arrays and releases the GIL; these kernels trust
their arguments (the checked API is :mod:`vidprint.pdqf`). The steps live in their own modules:
RGB -> luma in :mod:`vidprint.decode.luma`, the Jarosz blur and decimation in
:mod:`vidprint.pdqf._blur`, quality / DCT / bits in :mod:`vidprint.pdqf._dct`; this module chains
them for one frame (``*_into``) and for batches of frames (``*_batch_into``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from vidprint.decode.luma import luma_row_from_rgb, luma_row_from_rgb_f64
from vidprint.pdqf._blur import (  # noqa: F401  (MODE_* and alloc_workspace: part of the low-level API)
    MODE_LUMA,
    MODE_RGB,
    MODE_RGB_F64,
    alloc_workspace,
    downsample_into,
    workspace_rows,
)
from vidprint.pdqf._dct import bits_into, dct64_to16_into, dihedral_into, quality_64

#: Images with fewer rows or columns than this hash to all zeros with quality 0 (§1.12).
MIN_HASHABLE_DIM = 5


@njit(cache=True, nogil=True, error_model="numpy")
def pdqf_into(luma, rgb, mode, shortcut, work, a64, tmp, b):
    """Luma (or RGB) -> 64x64 -> PDQF ``b`` float32[16, 16]; returns quality (§1.1 steps 3-5).

    ``mode``: ``MODE_LUMA`` (``luma`` float32[H, W] is the source), ``MODE_RGB`` or ``MODE_RGB_F64``
    (``rgb`` uint8[H, W, 3] is the source); the other array is ignored and may be a dummy.
    ``shortcut``: when true and the input is exactly 64x64, skip the blur (reference non-dihedral and
    float entry points); when false always blur (reference dihedral entry point). No size guard here.
    ``work`` from :func:`alloc_workspace`; ``a64`` float32[64, 64] and ``tmp`` float32[16, 64] scratch.
    """
    if mode == MODE_LUMA:
        H = luma.shape[0]
        W = luma.shape[1]
    else:
        H = rgb.shape[0]
        W = rgb.shape[1]
    if shortcut and H == 64 and W == 64:
        if mode == MODE_LUMA:
            for y in range(64):
                for x in range(64):
                    a64[y, x] = luma[y, x]
        else:
            flat = rgb.reshape((64, 3 * 64))
            for y in range(64):
                if mode == MODE_RGB:
                    luma_row_from_rgb(flat, y, 64, a64, y)
                else:
                    luma_row_from_rgb_f64(flat, y, 64, a64, y)
    else:
        downsample_into(luma, rgb, mode, work, a64)
    q = quality_64(a64)
    dct64_to16_into(a64, tmp, b)
    return q


@njit(cache=True, nogil=True, error_model="numpy")
def hash_into(luma, rgb, mode, work, a64, tmp, b, scratch, words):
    """Full PDQ of one frame (§1.1): writes ``words`` uint64[4] and ``b`` float32[16, 16]; returns quality.

    Applies the size guard (H or W < 5 -> zero words, quality 0, ``b`` zeroed) and the 64x64 shortcut.
    ``scratch`` float32[256]. Other arguments as :func:`pdqf_into`.
    """
    if mode == MODE_LUMA:
        H = luma.shape[0]
        W = luma.shape[1]
    else:
        H = rgb.shape[0]
        W = rgb.shape[1]
    if H < MIN_HASHABLE_DIM or W < MIN_HASHABLE_DIM:
        for w in range(4):
            words[w] = 0
        for u in range(16):
            for v in range(16):
                b[u, v] = 0.0
        return 0
    q = pdqf_into(luma, rgb, mode, True, work, a64, tmp, b)
    bits_into(b.reshape(256), scratch, words)
    return q


@njit(cache=True, nogil=True, error_model="numpy")
def dihedral_hash_into(luma, rgb, mode, work, a64, tmp, b, b8, scratch, words8):
    """The 8 dihedral hashes (§1.9) into ``words8`` uint64[8, 4]; ``b8`` float32[8, 16, 16] scratch.

    Always blurs (no 64x64 shortcut), as the reference dihedral entry point. Returns quality.
    """
    if mode == MODE_LUMA:
        H = luma.shape[0]
        W = luma.shape[1]
    else:
        H = rgb.shape[0]
        W = rgb.shape[1]
    if H < MIN_HASHABLE_DIM or W < MIN_HASHABLE_DIM:
        for d in range(8):
            for w in range(4):
                words8[d, w] = 0
        return 0
    q = pdqf_into(luma, rgb, mode, False, work, a64, tmp, b)
    dihedral_into(b, b8)
    for d in range(8):
        bits_into(b8[d].reshape(256), scratch, words8[d])
    return q


@njit(cache=True, nogil=True, error_model="numpy")
def hash_luma_batch_into(lumas, words, quality):
    """PDQ of every frame of ``lumas`` float32[N, H, W] into ``words`` uint64[N, 4], ``quality`` int32[N]."""
    n = lumas.shape[0]
    H = lumas.shape[1]
    W = lumas.shape[2]
    work = np.zeros((workspace_rows(H, W), max(W, 64)), dtype=np.float32)
    a64 = np.empty((64, 64), dtype=np.float32)
    tmp = np.empty((16, 64), dtype=np.float32)
    b = np.empty((16, 16), dtype=np.float32)
    scratch = np.empty(256, dtype=np.float32)
    dummy = np.empty((0, 0, 3), dtype=np.uint8)
    for f in range(n):
        quality[f] = hash_into(lumas[f], dummy, MODE_LUMA, work, a64, tmp, b, scratch, words[f])


@njit(cache=True, nogil=True, error_model="numpy")
def dihedral_luma_batch_into(lumas, words8, quality):
    """Dihedral PDQ of every frame: ``lumas`` float32[N, H, W] -> ``words8`` uint64[N, 8, 4], ``quality`` int32[N]."""
    n = lumas.shape[0]
    H = lumas.shape[1]
    W = lumas.shape[2]
    work = np.zeros((workspace_rows(H, W), max(W, 64)), dtype=np.float32)
    a64 = np.empty((64, 64), dtype=np.float32)
    tmp = np.empty((16, 64), dtype=np.float32)
    b = np.empty((16, 16), dtype=np.float32)
    b8 = np.empty((8, 16, 16), dtype=np.float32)
    scratch = np.empty(256, dtype=np.float32)
    dummy = np.empty((0, 0, 3), dtype=np.uint8)
    for f in range(n):
        quality[f] = dihedral_hash_into(lumas[f], dummy, MODE_LUMA, work, a64, tmp, b, b8, scratch, words8[f])


@njit(cache=True, nogil=True, error_model="numpy")
def pdqf_luma_batch_into(lumas, coeffs, quality):
    """PDQF of every frame: ``lumas`` float32[N, H, W] -> ``coeffs`` float32[N, 256], ``quality`` int32[N].

    Float entry point semantics (§1.10): no size guard, and 64x64 frames are not blurred.
    """
    n = lumas.shape[0]
    H = lumas.shape[1]
    W = lumas.shape[2]
    work = np.zeros((workspace_rows(H, W), max(W, 64)), dtype=np.float32)
    a64 = np.empty((64, 64), dtype=np.float32)
    tmp = np.empty((16, 64), dtype=np.float32)
    b = np.empty((16, 16), dtype=np.float32)
    dummy = np.empty((0, 0, 3), dtype=np.uint8)
    for f in range(n):
        quality[f] = pdqf_into(lumas[f], dummy, MODE_LUMA, True, work, a64, tmp, b)
        out = coeffs[f]
        for u in range(16):
            for v in range(16):
                out[16 * u + v] = b[u, v]
