"""Decoded frame -> PDQ luminance plane, in vidprint's own code wherever the pixel format allows.

Hashes must not depend on the FFmpeg build PyAV ships (libswscale's SIMD and C paths, and its
versions, give different RGB pixels). For the natively handled formats the YUV planes, which the codec
standard fixes, are converted by Numba kernels that reproduce libswscale's plain C results
(:mod:`vidprint.decode._yuv2rgb` at native size, :mod:`vidprint.decode._swscale` when scaling),
fused with PDQ's luminance (:mod:`vidprint.decode.luma`) so that no RGB frame is ever stored; unrotated
native-size 4:2:0 frames can also be handed to :func:`vidprint.pdqf.hash_yuv420p_batch` as planes
(:meth:`LumaConverter.planes420`), which fuses the same conversion into the hash. Any other format falls back to
libswscale (``frame.reformat(format="rgb24")``) and the result may then vary with the FFmpeg build;
:attr:`LumaConverter.native` says which path a stream takes.
"""
from __future__ import annotations

import threading

import numpy as np
from av.video.reformatter import VideoReformatter

from vidprint.decode import _swscale, _yuv2rgb
from vidprint.decode.luma import luma_from_rgb_into

#: Packed RGB formats: at native size libswscale only reorders their bytes, so this is exact too.
_RGB_ORDER = {"rgb24": (0, 1, 2), "bgr24": (2, 1, 0), "rgba": (0, 1, 2), "bgra": (2, 1, 0),
              "argb": (1, 2, 3), "abgr": (3, 2, 1)}

_PYAV_INTERPOLATION = {"bicubic": "BICUBIC", "area": "AREA", "lanczos": "LANCZOS", "bilinear": "BILINEAR"}


def native_path(pix_fmt: str, width: int, height: int, scaled: bool) -> str | None:
    """Which of vidprint's own conversions handles a frame, or None for the libswscale fallback.

    Native size: 8-bit planar 4:2:0 and 4:2:2 (``yuv420p``, ``yuvj420p``, ``yuva420p``, ``yuv422p``,
    ``yuvj422p``) with an even height, ``gray``, and packed RGB (``rgb24``, ``bgr24``, ``rgba``,
    ``bgra``, ``argb``, ``abgr``). Scaled: 8-bit 4:2:0 with an even output width.
    """
    layout = _yuv2rgb.format_layout(pix_fmt)
    if scaled:
        return "scale420" if layout is not None and layout[0] == "420" else None
    if layout is not None:
        return f"yuv{layout[0]}" if _yuv2rgb.table_path_applies(pix_fmt, height) else None
    if pix_fmt == "gray":
        return "gray"
    if pix_fmt in _RGB_ORDER:
        return "rgb"
    return None


def _plane(frame, i: int) -> np.ndarray:
    p = frame.planes[i]
    return np.frombuffer(p, dtype=np.uint8).reshape(p.height, p.line_size)


def _rotate_planes(frame, planes, k: int):
    """Rotate 8-bit planes ``k`` quarter turns counter-clockwise (row padding cut off first)."""
    return tuple(np.ascontiguousarray(np.rot90(p[:, : frame.planes[i].width], k)) for i, p in enumerate(planes))


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
        self._local = threading.local()  # per-thread libswscale context of the fallback
        self.native: bool | None = None  # set on the first frame

    def out_shape(self, frame) -> tuple[int, int]:
        if self.size is not None:
            return self.size[1], self.size[0]
        w, h = frame.width, frame.height
        return (w, h) if self.k % 2 else (h, w)

    def __call__(self, frame, out: np.ndarray) -> None:
        """Write the luminance of ``frame`` into ``out`` (``float32[out_h, out_w]``)."""
        fmt = frame.format.name
        w, h = frame.width, frame.height
        if self.k % 2:
            w, h = h, w
        scaled = self.size is not None and self.size != (w, h)  # same size: swscale's unscaled path
        path = native_path(fmt, w, h, scaled)
        if path == "scale420":
            path = self._scale420(fmt, w, h, frame, out)
        elif path is not None:
            planes = [_plane(frame, i) for i in range(len(frame.planes))]
            if self.k and path != "rgb":
                planes = _rotate_planes(frame, planes, self.k)
            if path in ("yuv420", "yuv422"):
                tables = _yuv2rgb.yuv_tables(_yuv2rgb.format_layout(fmt)[1])
                if self.k and path == "yuv422":  # rotated 4:2:2 is 4:4:0: not a swscale table path
                    path = None
                elif path == "yuv420":
                    _yuv2rgb.yuv420p_to_luma(planes[0], planes[1], planes[2], w, h, tables, out)
                else:
                    _yuv2rgb.yuv422p_to_luma(planes[0], planes[1], planes[2], w, h, tables, out)
            elif path == "gray":
                _yuv2rgb.gray8_to_luma(planes[0], w, h, out)
            else:
                packed = planes[0][:, : frame.width * (3 if fmt in ("rgb24", "bgr24") else 4)]
                pix = packed.reshape(frame.height, frame.width, -1)[:, :, list(_RGB_ORDER[fmt])]
                if self.k:
                    pix = np.rot90(pix, self.k)
                luma_from_rgb_into(np.ascontiguousarray(pix), out, False)
        self.native = path is not None
        if path is None:
            self._fallback(frame, out)

    def planes420(self, frame, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool] | None:
        """``(y, u, v, full_range)`` of ``frame`` if :meth:`__call__` would convert it with the native
        4:2:0 table path at output size ``shape`` (unrotated, not scaled), else None.

        The planes are views of the frame's buffers (rows keep PyAV's padding): converting them with
        :func:`vidprint.decode.kernels.luma420_rows` gives exactly the luma :meth:`__call__` writes.
        """
        h, w = shape
        fmt = frame.format.name
        if self.k or frame.width != w or frame.height != h or native_path(fmt, w, h, False) != "yuv420":
            return None
        self.native = True
        return _plane(frame, 0), _plane(frame, 1), _plane(frame, 2), _yuv2rgb.format_layout(fmt)[1]

    def _scale420(self, fmt: str, w: int, h: int, frame, out: np.ndarray) -> str | None:
        full_range = _yuv2rgb.format_layout(fmt)[1]
        key = (w, h, full_range)
        filters = self._filters.get(key, False)
        if filters is False:
            try:
                filters = _swscale.scale_filters(w, h, self.size[0], self.size[1], self.scaler,
                                                 full_range=full_range)
            except ValueError:  # a geometry libswscale handles by another code path
                filters = None
            self._filters[key] = filters
        if filters is None:
            return None
        y, u, v = (_plane(frame, i) for i in range(3))
        if self.k:
            y, u, v = _rotate_planes(frame, (y, u, v), self.k)
        _swscale.scale_yuv420p_to_luma(y, u, v, w, h, filters, out)
        return "scale420"

    def _fallback(self, frame, out: np.ndarray) -> None:
        oh, ow = out.shape
        if self.k % 2:
            ow, oh = oh, ow
        rgb = _swscale_rgb24(frame, ow, oh, _PYAV_INTERPOLATION[self.scaler], self._local)
        if self.k:
            rgb = np.rot90(rgb, self.k)
        luma_from_rgb_into(np.ascontiguousarray(rgb), out, False)


#: Stripes of locks over frame identities, see :func:`_swscale_rgb24`.
_FRAME_LOCKS = tuple(threading.Lock() for _ in range(64))


def _swscale_rgb24(frame, width: int, height: int, interpolation: str, local: threading.local) -> np.ndarray:
    """``frame`` scaled to ``uint8[height, width, 3]`` RGB by libswscale, safe on any thread.

    ``frame.reformat()`` is not: it keeps ONE reformatter (one ``SwsContext``) per frame object, and
    the TMK and vPDQ sources hold the same frame object, converted at different sizes on different
    worker threads. Two threads then reconfigure and run one context at once (different fingerprints
    from run to run, hangs, segfaults). Here every thread has its own reformatter (``local``);
    libswscale runs single-threaded inside it (the pipeline's workers already convert in parallel, and
    no slice-thread pool is started per context); and a lock per frame object keeps PyAV's temporary
    edits of the source frame's colour tags (``reformat`` clears and restores its transfer and
    primaries around the conversion) from interleaving between two threads converting one frame.
    """
    global _THREADS_ARG
    ref = getattr(local, "reformatter", None)
    if ref is None:
        ref = local.reformatter = VideoReformatter()
    args = dict(width=width, height=height, format="rgb24", interpolation=interpolation)
    with _FRAME_LOCKS[(id(frame) >> 4) % len(_FRAME_LOCKS)]:
        if _THREADS_ARG:
            try:
                return ref.reformat(frame, threads=1, **args).to_ndarray()
            except TypeError as exc:  # PyAV < 14 has no ``threads`` (and scales single-threaded)
                if "threads" not in str(exc):
                    raise
                _THREADS_ARG = False
        return ref.reformat(frame, **args).to_ndarray()


_THREADS_ARG = True  # whether this PyAV's VideoReformatter.reformat takes ``threads``
