"""Deterministic near-duplicate video transforms (PyAV decode/encode + numpy, no ffmpeg binary).

Every transform takes a video (a path or the encoded bytes) and returns the transformed video as
MP4/H.264 bytes, encoded with :func:`vidprint.synth.write_video`. Frames are streamed from the
decoder to the encoder, so memory does not grow with the video length. Frame presentation times
are kept (re-based to start at 0) unless the transform changes them, and are written explicitly,
so variable frame rates survive.

Available (see :data:`TRANSFORMS` and :func:`apply`):

``reencode(src, crf=35)``            lower quality H.264 re-encode
``resize(src, factor=0.5)``          spatial downscale (bicubic)
``grey(src)``                        BT.601 luma copied to R, G, B
``sepia(src)``                       the classic sepia matrix
``logo(src, fraction=0.2)``          an opaque checkered box in the top-right corner
``letterbox(src, fraction=0.125)``   black bars added above and below (frame gets taller)
``frame_rate(src, fps=25.0)``        time resampling to a new constant rate (drop/duplicate)
``speed(src, factor=1.25)``          playback speed change: every timestamp divided by ``factor``
``trim(src, start=0.05, end=0.05)``  cut fractions of the duration at the start and the end
"""
from __future__ import annotations

import io
import os
from typing import Callable, Iterable, Iterator, Union

import av
import numpy as np

from vidprint.synth import write_video

Video = Union[str, os.PathLike, bytes, bytearray]
FrameIter = Iterator[tuple[np.ndarray, float]]


def _open(src: Video):
    if isinstance(src, (bytes, bytearray)):
        return av.open(io.BytesIO(bytes(src)))
    return av.open(os.fspath(src))


def probe(src: Video) -> tuple[float, float]:
    """``(duration_s, fps)`` of the first video stream, by demuxing only (no decoding).

    The duration is the end of the last packet (pts + duration) minus the first pts, seconds;
    fps is the stream's average rate (30 if unknown).
    """
    with _open(src) as c:
        st = c.streams.video[0]
        tb = float(st.time_base) if st.time_base else 1.0
        lo, hi = None, None
        for pkt in c.demux(st):
            if pkt.pts is None:
                continue
            t0 = pkt.pts * tb
            t1 = t0 + (pkt.duration or 0) * tb
            lo = t0 if lo is None else min(lo, t0)
            hi = t1 if hi is None else max(hi, t1)
        fps = float(st.average_rate) if st.average_rate else 30.0
    if lo is None:
        return 0.0, fps
    return float(hi - lo), fps


def decode_rgb(src: Video) -> FrameIter:
    """Yield ``(rgb uint8[h, w, 3], time_s)`` for each decoded frame of the first video stream.

    Times are presentation times re-based so the first frame is at 0 (frame index / average rate
    when the decoder gives none). Odd widths/heights are cropped by one pixel (yuv420p needs even).
    """
    with _open(src) as c:
        st = c.streams.video[0]
        fps = float(st.average_rate) if st.average_rate else 30.0
        t0 = None
        for i, frame in enumerate(c.decode(st)):
            t = frame.time if frame.time is not None else i / fps
            t0 = t if t0 is None else t0
            rgb = frame.to_ndarray(format="rgb24")
            h, w = rgb.shape[:2]
            yield np.ascontiguousarray(rgb[: h - h % 2, : w - w % 2]), float(t - t0)


class _Lazy:
    """The minimal sequence interface :func:`write_video` uses: ``[0]`` and iteration.

    Times of the frames yielded so far are appended to ``times``, which ``write_video`` indexes
    after receiving each frame.
    """

    def __init__(self, frames: FrameIter):
        self._it = iter(frames)
        self._first = next(self._it, None)
        if self._first is None:
            raise ValueError("the transform produced no frames")
        self.times: list[float] = []

    def __getitem__(self, i: int) -> np.ndarray:
        if i != 0:
            raise IndexError(i)
        return self._first[0]

    def __iter__(self) -> Iterator[np.ndarray]:
        rgb, t = self._first
        self.times.append(t)
        yield rgb
        for rgb, t in self._it:
            self.times.append(t)
            yield rgb


def _encode(frames: FrameIter, fps: float, crf: int = 18) -> bytes:
    lazy = _Lazy(frames)
    buf = io.BytesIO()
    write_video(buf, lazy, fps, times=lazy.times, crf=crf)
    return buf.getvalue()


def _map(src: Video, fn: Callable[[np.ndarray], np.ndarray], crf: int = 18) -> bytes:
    _, fps = probe(src)
    return _encode(((fn(rgb), t) for rgb, t in decode_rgb(src)), fps, crf)


# ------------------------------------------------------------------------------------------------
# Per-frame transforms


def reencode(src: Video, crf: int = 35) -> bytes:
    """Re-encode at a lower quality (x264 ``crf``; the default writer uses 18)."""
    return _map(src, lambda rgb: rgb, crf=crf)


def resize(src: Video, factor: float = 0.5) -> bytes:
    """Scale both dimensions by ``factor`` (bicubic, libswscale), rounded down to even sizes."""

    def fn(rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        nw = max(2, int(w * factor) // 2 * 2)
        nh = max(2, int(h * factor) // 2 * 2)
        f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        return f.reformat(width=nw, height=nh, interpolation="BICUBIC").to_ndarray(format="rgb24")

    return _map(src, fn)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def grey(src: Video) -> bytes:
    """Greyscale: the BT.601 luma in all three channels."""

    def fn(rgb: np.ndarray) -> np.ndarray:
        y = np.clip(np.rint(_luma(rgb)), 0, 255).astype(np.uint8)
        return np.repeat(y[..., None], 3, axis=2)

    return _map(src, fn)


_SEPIA = np.array(
    [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], dtype=np.float32
)


def sepia(src: Video) -> bytes:
    """The usual sepia tone matrix (rows R', G', B'), clipped to 0..255."""
    return _map(src, lambda rgb: np.clip(rgb.astype(np.float32) @ _SEPIA.T, 0, 255).astype(np.uint8))


def logo(src: Video, fraction: float = 0.2) -> bytes:
    """An opaque box of ``fraction`` x ``fraction`` of the frame in the top-right corner.

    The box is a white frame around a 4x4 checkerboard of red and dark blue: a typical broadcaster
    logo's worth of hard edges.
    """

    def fn(rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        bh, bw = max(4, int(h * fraction)), max(4, int(w * fraction))
        yy, xx = np.mgrid[0:bh, 0:bw]
        check = ((yy * 4 // bh) + (xx * 4 // bw)) % 2 == 0
        box = np.where(check[..., None], np.uint8([220, 30, 30]), np.uint8([20, 20, 90]))
        edge = max(1, min(bh, bw) // 12)
        box[:edge], box[-edge:], box[:, :edge], box[:, -edge:] = 255, 255, 255, 255
        out = rgb.copy()
        m = max(0, min(h, w) // 40)
        out[m : m + bh, w - m - bw : w - m] = box
        return out

    return _map(src, fn)


def letterbox(src: Video, fraction: float = 0.125) -> bytes:
    """Add black bars of ``fraction`` of the height above and below (output is taller)."""

    def fn(rgb: np.ndarray) -> np.ndarray:
        h = rgb.shape[0]
        bar = max(2, int(h * fraction) // 2 * 2)
        return np.pad(rgb, ((bar, bar), (0, 0), (0, 0)))

    return _map(src, fn)


# ------------------------------------------------------------------------------------------------
# Temporal transforms


def frame_rate(src: Video, fps: float = 25.0) -> bytes:
    """Resample to a constant ``fps``: output frame ``i`` at ``i / fps`` shows the last source frame
    whose time is <= ``i / fps`` (frames are dropped or repeated, never blended)."""
    duration, _ = probe(src)

    def frames() -> FrameIter:
        it = decode_rgb(src)
        cur = next(it, None)
        nxt = next(it, None)
        i = 0
        while cur is not None:
            t = i / fps
            if t >= duration and i > 0:
                return
            while nxt is not None and nxt[1] <= t + 1e-9:
                cur, nxt = nxt, next(it, None)
            yield cur[0], t
            i += 1
            if nxt is None and t + 1.0 / fps >= duration:
                return

    return _encode(frames(), fps)


def speed(src: Video, factor: float = 1.25) -> bytes:
    """Play ``factor`` times faster: every timestamp is divided by ``factor``, no frame dropped."""
    if factor <= 0:
        raise ValueError(f"factor must be positive, got {factor}")
    _, fps = probe(src)
    return _encode(((rgb, t / factor) for rgb, t in decode_rgb(src)), fps * factor)


def trim(src: Video, start: float = 0.05, end: float = 0.05) -> bytes:
    """Cut ``start`` and ``end`` fractions of the duration (frames whose time falls outside
    ``[start * D, (1 - end) * D)`` are dropped; the first kept frame is re-based to time 0)."""
    if not (0 <= start and 0 <= end and start + end < 1):
        raise ValueError(f"bad trim fractions {start}, {end}")
    duration, fps = probe(src)
    lo, hi = start * duration, (1.0 - end) * duration

    def frames() -> FrameIter:
        t0 = None
        for rgb, t in decode_rgb(src):
            if lo - 1e-9 <= t < hi:
                t0 = t if t0 is None else t0
                yield rgb, t - t0

    return _encode(frames(), fps)


def identity(src: Video) -> bytes:
    """Decode and re-encode at the writer's default quality (crf 18): the baseline."""
    return _map(src, lambda rgb: rgb)


#: Name -> transform (a callable ``Video -> bytes``) used by the benchmarks.
TRANSFORMS: dict[str, Callable[[Video], bytes]] = {
    "reencode_crf35": reencode,
    "resize_0.5": resize,
    "grey": grey,
    "sepia": sepia,
    "logo": logo,
    "letterbox": letterbox,
    "fps_25": lambda s: frame_rate(s, 25.0),
    "speed_0.8": lambda s: speed(s, 0.8),
    "speed_1.25": lambda s: speed(s, 1.25),
    "trim_5_5": lambda s: trim(s, 0.05, 0.05),
    "trim_start_5": lambda s: trim(s, 0.05, 0.0),
}


def apply(name: str, src: Video) -> bytes:
    """Apply the transform registered under ``name`` in :data:`TRANSFORMS`."""
    try:
        fn = TRANSFORMS[name]
    except KeyError:
        raise ValueError(f"unknown transform {name!r}; known: {sorted(TRANSFORMS)}") from None
    return fn(src)


def apply_all(src: Video, names: Iterable[str] | None = None) -> dict[str, bytes]:
    """All (or the named) transforms of ``src``: name -> video bytes."""
    return {n: apply(n, src) for n in (names or TRANSFORMS)}
