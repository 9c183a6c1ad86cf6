"""Decoded frame -> PDQ luminance plane, in vidprint's own code wherever the pixel format allows.

Hashes must not depend on the FFmpeg build PyAV ships (libswscale's SIMD and C paths, and its
versions, give different RGB pixels). For the natively handled formats the YUV planes, which the codec
standard fixes, are converted by Numba kernels that reproduce libswscale's plain C results
(:mod:`vidprint.decode._yuv2rgb` at native size, :mod:`vidprint.decode._swscale` when scaling),
fused with PDQ's luminance so that no RGB frame is ever stored. Any other format falls back to
libswscale (``frame.reformat(format="rgb24")``) and the result may then vary with the FFmpeg build;
:attr:`LumaConverter.native` says which path a stream takes.
"""
from __future__ import annotations

import numpy as np

from vidprint.decode import _swscale, _yuv2rgb
from vidprint.pdqf import luma_from_rgb

#: Pixel formats converted by vidprint's own kernels, with whether their YUV is full range.
NATIVE_FORMATS: dict[str, bool] = {"yuv420p": False, "yuvj420p": True}

_PYAV_INTERPOLATION = {"bicubic": "BICUBIC", "area": "AREA", "lanczos": "LANCZOS", "bilinear": "BILINEAR"}


def _plane(frame, i: int) -> np.ndarray:
    p = frame.planes[i]
    return np.frombuffer(p, dtype=np.uint8).reshape(p.height, p.line_size)


def _rotate_planes(planes, k: int):
    return tuple(np.ascontiguousarray(np.rot90(p, k)) for p in planes)


class LumaConverter:
    """Convert frames of one stream to ``float32[out_h, out_w]`` PDQ luminance.

    Parameters
    ----------
    size : (width, height) or None
        Output size in pixels; None keeps each frame's (rotated) native size.
    scaler : str
        "bicubic", "area", "lanczos" or "bilinear": libswscale's scaler of that name, reproduced.
    rotation : int
        Counter-clockwise degrees to rotate frames before scaling (a multiple of 90), as the
        ``ffmpeg`` CLI's auto-rotation does from the display matrix.
    """

    def __init__(self, size: tuple[int, int] | None, scaler: str, rotation: int = 0):
        if scaler not in _PYAV_INTERPOLATION:
            raise ValueError(f"unknown scaler {scaler!r}; choose from {sorted(_PYAV_INTERPOLATION)}")
        self.size = size
        self.scaler = scaler
        self.k = (int(round(rotation / 90.0)) % 4) if rotation else 0
        self._filters: dict[tuple[int, int], object] = {}
        self.native: bool | None = None  # set on the first frame

    def out_shape(self, frame) -> tuple[int, int]:
        if self.size is not None:
            return self.size[1], self.size[0]
        w, h = frame.width, frame.height
        return (w, h) if self.k % 2 else (h, w)

    def __call__(self, frame, out: np.ndarray) -> None:
        """Write the luminance of ``frame`` into ``out`` (``float32[out_h, out_w]``)."""
        fmt = frame.format.name
        full_range = NATIVE_FORMATS.get(fmt)
        self.native = full_range is not None
        if full_range is None:
            self._fallback(frame, out)
            return
        w, h = frame.width, frame.height
        y, u, v = _plane(frame, 0), _plane(frame, 1), _plane(frame, 2)
        if self.k:
            y, u, v = _rotate_planes((y, u, v), self.k)
            if self.k % 2:
                w, h = h, w
        tables = _yuv2rgb.yuv_tables(full_range)
        if self.size is None or self.size == (w, h):  # same size: swscale's unscaled converter
            _yuv2rgb.yuv420p_to_luma(y, u, v, w, h, tables, out)
        else:
            key = (w, h, full_range)
            filters = self._filters.get(key)
            if filters is None:
                filters = _swscale.scale_filters(w, h, self.size[0], self.size[1], self.scaler)
                self._filters[key] = filters
            _swscale.scale_yuv420p_to_luma(y, u, v, w, h, filters, tables, out)

    def _fallback(self, frame, out: np.ndarray) -> None:
        oh, ow = out.shape
        if self.k % 2:
            ow, oh = oh, ow
        rgb = frame.reformat(width=ow, height=oh, format="rgb24",
                             interpolation=_PYAV_INTERPOLATION[self.scaler]).to_ndarray()
        if self.k:
            rgb = np.rot90(rgb, self.k)
        out[...] = luma_from_rgb(np.ascontiguousarray(rgb))
