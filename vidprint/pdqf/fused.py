"""PDQ hashes of 8-bit 4:2:0 video frames straight from their YUV planes: YUV -> luma -> blur, fused.

The luma of 8 image rows at a time is written by decode's row kernel
(:func:`vidprint.decode.kernels.luma420_rows`) straight into the Jarosz blur's workspace, so the
float32 luma plane of a frame is never stored and read back. The bits are exactly those of
:func:`vidprint.pdqf.hash_luma_batch` applied to the luma :class:`vidprint.decode.convert.LumaConverter`
computes for the same frames: the same kernels run in the same order, only the buffers differ.

Which frames qualify (unrotated 8-bit 4:2:0 at native size) is for the decoder to say:
:meth:`vidprint.decode.FrameBatch.planes420` hands out their planes, or None.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from numba import njit

from vidprint.decode.kernels import check_planes, luma420_rows, luma_tables, yuv_tables
from vidprint.pdqf import _blur, _dct
from vidprint.pdqf._kernels import MIN_HASHABLE_DIM
from vidprint.pdqf.scratch import make_scratch

#: One frame as :func:`hash_yuv420p_batch` takes it: ``(y, u, v, full_range)``.
Planes420 = tuple  # (uint8[>=h, >=w], uint8[>=ceil(h/2), >=ceil(w/2)] x 2, bool)


@njit(cache=True, nogil=True)
def hash_yuv420p_into(y, u, v, width, height, tables, lt, work, ctx, a64, tmp, b, median, words):
    """PDQ hash of an 8-bit 4:2:0 frame into ``words`` uint64[4]; returns the quality (0..100).

    ``tables`` / ``lt``: :func:`~vidprint.decode.kernels.yuv_tables` and
    :func:`~vidprint.decode.kernels.luma_tables` of the frame's range; ``work``:
    ``alloc_workspace(height, width)``; ``ctx``: int64[STATE_SIZE]; ``a64`` float32[64, 64], ``tmp``
    float32[16, 64], ``b`` float32[16, 16] (receives the PDQF), ``median`` float32[256] scratch. The
    size guard and the 64x64 no-blur rule of the reference apply.
    """
    check_planes(y, u, v, width, height, (height + 1) >> 1, height, width)
    if width < MIN_HASHABLE_DIM or height < MIN_HASHABLE_DIM:
        for i in range(4):
            words[i] = 0
        for i in range(16):
            for j in range(16):
                b[i, j] = 0.0
        return 0
    if width == _blur.OUT and height == _blur.OUT:  # the reference hashes a 64x64 image without blurring
        luma420_rows(y, u, v, width, 0, height, tables, lt, a64, 0)
    else:
        if work.shape[0] < _blur.workspace_rows(height, width) or work.shape[1] < width:
            raise ValueError("workspace too small for the frame")
        lb = _blur.ds_init(height, width, work, ctx)
        for y0 in range(0, height, _blur.BLOCK):
            luma420_rows(y, u, v, width, y0, min(y0 + _blur.BLOCK, height), tables, lt, work, lb)
            _blur.ds_block(work, lb, work, ctx, y0, a64)
        _blur.ds_finish(work, ctx, a64)
    q = _dct.quality_64(a64)
    _dct.dct64_to16_into(a64, tmp, b)
    _dct.bits_into(b.reshape(256), median, words)
    return q


def hash_yuv420p_batch(frames: Sequence[Planes420], width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """PDQ of 8-bit 4:2:0 frames of ``width x height`` pixels: ``(words uint64[n, 4], quality int32[n])``.

    ``frames[i]`` is ``(y, u, v, full_range)``: ``y`` ``uint8[>=height, >=width]``, ``u`` and ``v``
    ``uint8[>=ceil(height/2), >=ceil(width/2)]`` (extra columns such as PyAV's line padding are
    ignored), ``full_range`` True for JPEG-range (``yuvj420p``) input. A tuple object repeated in
    consecutive rows is hashed once. Raises ValueError if a plane is smaller than the frame.
    Releases the GIL per frame: batches can run on several threads at once.
    """
    n = len(frames)
    words = np.empty((n, 4), dtype=np.uint64)
    quality = np.empty(n, dtype=np.int32)
    if n == 0:
        return words, quality
    s = make_scratch(height, width)
    ctx = np.empty(_blur.STATE_SIZE, dtype=np.int64)
    prev = None
    for i, planes in enumerate(frames):
        if planes is prev:
            words[i] = words[i - 1]
            quality[i] = quality[i - 1]
            continue
        prev = planes
        y, u, v, full_range = planes
        quality[i] = hash_yuv420p_into(y, u, v, width, height, yuv_tables(bool(full_range)),
                                       luma_tables(bool(full_range)), s.work, ctx, s.a64, s.tmp, s.b,
                                       s.median, words[i])
    return words, quality
