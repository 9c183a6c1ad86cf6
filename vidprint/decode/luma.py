"""PDQ luminance: the weights, and RGB / grey -> luma kernels (docs/algorithms.md, PDQ luma).

The one definition of the luma arithmetic in vidprint. Every conversion (this module, the YUV
converters of :mod:`vidprint.decode.kernels`, the image entry points of :mod:`vidprint.pdqf`)
computes ``(LUMA_R * R + LUMA_G * G) + LUMA_B * B`` with these float32 constants, in that order, in
float32, as Meta's C++ reference does; or, for ``f64`` callers, the same in float64 rounded once to
float32, as PyPI ``pdqhash`` does.

Kernels are ``@njit(nogil=True)``, trust their arguments, and may be called from other kernels.
"""
from __future__ import annotations

import numpy as np
from numba import njit

LUMA_R = np.float32(0.299)
LUMA_G = np.float32(0.587)
LUMA_B = np.float32(0.114)
#: ``float32[3]``: the weights of R, G and B.
LUMA_WEIGHTS = np.array([LUMA_R, LUMA_G, LUMA_B], dtype=np.float32)
LUMA_WEIGHTS.setflags(write=False)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def luma_f32(r, g, b):
    """Luma of one pixel from float32 channel values, in the reference's f32 order."""
    return (LUMA_R * r + LUMA_G * g) + LUMA_B * b


@njit(cache=True, nogil=True, error_model="numpy")
def luma_row_from_rgb(flat, y, W, out, orow):
    """Luma of image row ``y`` into ``out[orow, :W]`` (float32 arithmetic, reference order).

    ``flat`` is the image as ``uint8[H, 3W]`` (``rgb.reshape(H, 3 * W)``): Numba vectorises this
    interleaved access but not 3-D indexing. Rows are addressed by index, not by views, because every
    view costs two atomic reference-count updates.
    """
    for x in range(W):
        out[orow, x] = luma_f32(np.float32(flat[y, 3 * x]), np.float32(flat[y, 3 * x + 1]),
                                np.float32(flat[y, 3 * x + 2]))


@njit(cache=True, nogil=True, error_model="numpy")
def luma_row_from_rgb_f64(flat, y, W, out, orow):
    """Like :func:`luma_row_from_rgb` but in float64, rounded once to float32 at the end.

    This is what PyPI ``pdqhash`` (used by python-threatexchange) feeds to the same C++ core: its
    wrapper computes luma with NumPy in double precision (the weights as float64 literals), which
    differs from the float32 luma by one float32 ulp on some pixels.
    """
    for x in range(W):
        out[orow, x] = np.float32(
            (np.float64(flat[y, 3 * x]) * 0.299 + np.float64(flat[y, 3 * x + 1]) * 0.587)
            + np.float64(flat[y, 3 * x + 2]) * 0.114
        )


@njit(cache=True, nogil=True, error_model="numpy")
def luma_from_rgb_into(rgb, out, f64):
    """``uint8[H, W, 3]`` RGB -> ``float32[H, W]`` luma, written into ``out``: float32 arithmetic, or
    with ``f64`` true float64 (PyPI ``pdqhash``)."""
    H = rgb.shape[0]
    W = rgb.shape[1]
    flat = rgb.reshape((H, 3 * W))
    for y in range(H):
        if f64:
            luma_row_from_rgb_f64(flat, y, W, out, y)
        else:
            luma_row_from_rgb(flat, y, W, out, y)


@njit(cache=True, nogil=True, error_model="numpy")
def luma_from_grey_into(grey, out):
    """``uint8[H, W]`` grey image -> ``float32[H, W]`` (the value itself: a grey *image* is its luma)."""
    for y in range(grey.shape[0]):
        for x in range(grey.shape[1]):
            out[y, x] = np.float32(grey[y, x])


@njit(cache=True, nogil=True, error_model="numpy")
def luma_from_gray_video_into(y, width, height, out):
    """``gray`` video frame -> luma into ``out``: libswscale turns grey ``g`` into RGB ``(g, g, g)``
    (verified with FFmpeg 6.1 and 8), whose float32 luma is not always exactly ``g``."""
    for r in range(height):
        for c in range(width):
            g = np.float32(y[r, c])
            out[r, c] = luma_f32(g, g, g)
