"""Deterministic near-duplicate video transforms (PyAV decode/encode + numpy, no ffmpeg binary).

Every transform takes a video (a path or the encoded bytes) and returns a :class:`Transformed`: the
new video's bytes (MP4/H.264 unless the transform is a codec change or GIF conversion) and, where the
output shows only part of the source, which source seconds it shows (``source_start_s`` /
``source_end_s``, for the clip-location error). Frames are streamed from the decoder to the encoder,
so memory does not grow with the video length. Frame presentation times are kept (re-based to start
at 0) unless the transform changes them, and are written explicitly, so variable frame rates survive.
Nothing is random by design: the same input gives the same output bytes with the MPEG-4 and GIF
encoders; libx264 (run single-threaded) was seen to give different bytes for the same frames in about
one run in ten here, cause not found yet, so a harness run caches every transformed file by content hash.

The registry :data:`TRANSFORMS` names each parameterised transform (``"crop_10"``, ``"speed_1.25"``);
:func:`apply` runs one by name. The building blocks:

``reencode(src, codec="libx264", quality=35)``  re-encode (x264 crf, or MPEG-4 part 2 qscale)
``resize(src, factor=0.5)``                     spatial scale (bicubic)
``crop(src, fraction=0.1)``                     remove ``fraction`` of width and height, centred
``letterbox(src, fraction=0.125)``              black bars above and below (frame gets taller)
``pillarbox(src, fraction=0.125)``              black bars left and right (frame gets wider)
``logo(src, fraction=0.1)``                     opaque checkered box, top-right corner
``pip(src, scale=0.5)``                         the video small on a fixed textured background
``grey(src)`` / ``sepia(src)``                  colour changes
``brightness_contrast(src, 30, 1.2)``           ``y = (x - 128) * contrast + 128 + brightness``
``hflip(src)``                                  mirror left-right
``frame_rate(src, fps=25)``                     resample to a new constant rate (drop/duplicate)
``speed(src, factor=1.25)``                     every timestamp divided by ``factor``
``trim(src, start=0.05, end=0.05)``             cut fractions of the duration at both ends
``clip(src, seconds=5)``                        ``seconds`` from the middle (offsets recorded)
``black_frames(src, start_s=1, end_s=1)``       black frames added at the start and the end
``slideshow(src, every_s=2)``                   one frame every ``every_s`` seconds, each held
``gif(src, fps=10, max_width=320)``             animated GIF (3-3-2 bit colour, no dithering)
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Iterable, Iterator, Mapping, Union

import av
import numpy as np

Video = Union[str, os.PathLike, bytes, bytearray]
FrameIter = Iterator[tuple[np.ndarray, float]]

_TB = Fraction(1, 90000)


@dataclass(frozen=True)
class Transformed:
    """A transform's output.

    Attributes:
        data: the encoded video.
        suffix: file suffix for ``data`` (".mp4" or ".gif").
        source_start_s, source_end_s: the source interval (seconds, from the source's first frame)
            that the output shows, when the output is a part of the source (clips, trims); None for
            transforms that keep the whole timeline.
    """

    data: bytes
    suffix: str = ".mp4"
    source_start_s: float | None = None
    source_end_s: float | None = None


@dataclass(frozen=True)
class Transform:
    """A named, parameterised transform.

    ``kind`` is "whole" when the output shows the whole source (possibly edited, or trimmed by a few
    per cent), "clip" when it shows a small part of it. Wherever the output records its source
    interval (clips and trims), the evaluation also scores the located start and end.
    """

    name: str
    fn: Callable[..., Transformed]
    params: Mapping[str, object] = field(default_factory=dict)
    kind: str = "whole"

    def __call__(self, src: Video) -> Transformed:
        return self.fn(src, **self.params)


# ------------------------------------------------------------------------------------------------
# Decoding and encoding


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


def _frames(c, st):
    """Decoded frames of ``st``; packets the decoder rejects are skipped (as :mod:`vidprint.decode`
    does), so a damaged-but-real file still gives its decodable frames."""
    for packet in c.demux(st):
        try:
            frames = packet.decode()
        except (av.error.InvalidDataError, av.error.ArgumentError):
            continue
        yield from frames
    try:
        yield from st.codec_context.decode(None)  # flush
    except (av.error.InvalidDataError, av.error.ArgumentError, av.error.EOFError):
        pass


def decode_rgb(src: Video) -> FrameIter:
    """Yield ``(rgb uint8[h, w, 3], time_s)`` for each decoded frame of the first video stream.

    Times are presentation times re-based so the first frame is at 0 (frame index / average rate
    when the decoder gives none). Odd widths/heights are cropped by one pixel (yuv420p needs even).
    Packets the decoder rejects are skipped.
    """
    with _open(src) as c:
        st = c.streams.video[0]
        fps = float(st.average_rate) if st.average_rate else 30.0
        t0 = None
        last = -np.inf
        for i, frame in enumerate(_frames(c, st)):
            t = frame.time if frame.time is not None else i / fps
            t0 = t if t0 is None else t0
            t = float(t - t0)
            if t <= last:  # duplicate or non-monotonic timestamps: keep the order, nudge forward
                t = last + 1e-3
            last = t
            rgb = frame.to_ndarray(format="rgb24")
            h, w = rgb.shape[:2]
            yield np.ascontiguousarray(rgb[: h - h % 2, : w - w % 2]), t


def _write(frames: FrameIter, fps: float, *, codec: str = "libx264", quality: int = 18,
           fmt: str = "mp4") -> bytes:
    """Encode ``(rgb, time_s)`` pairs; times become the presentation times (1/90000 s units).

    ``quality``: x264 crf, or the MPEG-4 / GIF-independent qscale for ``codec="mpeg4"``.
    """
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise ValueError("the transform produced no frames")
    buf = io.BytesIO()
    out = av.open(buf, mode="w", format=fmt)
    try:
        rate = Fraction(max(fps, 0.01)).limit_denominator(1001)
        st = out.add_stream(codec, rate=rate)
        st.height, st.width = first[0].shape[:2]
        if codec == "gif":
            st.pix_fmt, src_fmt = "rgb8", "rgb8"
        else:
            st.pix_fmt, src_fmt = "yuv420p", "yuv420p"
        if codec == "libx264":
            st.options = {"crf": str(quality), "preset": "veryfast", "threads": "1"}
        elif codec == "mpeg4":
            # a constant quantizer (PyAV's stream ignores global_quality; pinning qmin = qmax works)
            st.codec_context.qmin = st.codec_context.qmax = int(quality)
            st.options = {"threads": "1"}
        tb = Fraction(1, 30000) if codec == "mpeg4" else _TB  # MPEG-4 part 2: denominator < 2**16
        st.codec_context.time_base = tb
        st.codec_context.thread_count = 1  # multi-threaded x264 is not bit-reproducible
        last_pts = -1
        for rgb, t in _chain(first, it):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            if src_fmt:
                frame = frame.reformat(format=src_fmt)
            pts = max(int(round(t / tb)), last_pts + 1)
            frame.pts, frame.time_base, last_pts = pts, tb, pts
            for packet in st.encode(frame):
                out.mux(packet)
        for packet in st.encode():
            out.mux(packet)
    finally:
        out.close()
    return buf.getvalue()


def _chain(first, it):
    yield first
    yield from it


def _map(src: Video, fn: Callable[[np.ndarray], np.ndarray], **enc) -> Transformed:
    _, fps = probe(src)
    return Transformed(_write(((fn(rgb), t) for rgb, t in decode_rgb(src)), fps, **enc))


def _even(x: float) -> int:
    return max(2, int(x) // 2 * 2)


def _scale(rgb: np.ndarray, w: int, h: int) -> np.ndarray:
    f = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return f.reformat(width=w, height=h, interpolation="BICUBIC").to_ndarray(format="rgb24")


# ------------------------------------------------------------------------------------------------
# Per-frame transforms


def identity(src: Video) -> Transformed:
    """Decode and re-encode at high quality (x264 crf 18): the baseline."""
    return _map(src, lambda rgb: rgb)


def reencode(src: Video, codec: str = "libx264", quality: int = 35) -> Transformed:
    """Re-encode with ``codec`` ("libx264": ``quality`` = crf; "mpeg4": MPEG-4 part 2 at qscale 1..31, in MP4)."""
    if codec == "mpeg4":
        _, fps = probe(src)
        return Transformed(_write(decode_rgb(src), fps, codec="mpeg4", quality=quality))
    if codec != "libx264":
        raise ValueError(f"unsupported codec {codec!r}: 'libx264' or 'mpeg4'")
    return _map(src, lambda rgb: rgb, quality=quality)


def resize(src: Video, factor: float = 0.5) -> Transformed:
    """Scale both dimensions by ``factor`` (bicubic, libswscale), rounded down to even sizes."""

    def fn(rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        return _scale(rgb, _even(w * factor), _even(h * factor))

    return _map(src, fn)


def crop(src: Video, fraction: float = 0.1) -> Transformed:
    """Keep the centre: ``fraction`` of the width and of the height removed, half on each side."""
    if not 0 <= fraction < 1:
        raise ValueError(f"crop fraction must be in [0, 1), got {fraction}")

    def fn(rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        nh, nw = _even(h * (1 - fraction)), _even(w * (1 - fraction))
        y, x = (h - nh) // 2, (w - nw) // 2
        return rgb[y : y + nh, x : x + nw]

    return _map(src, fn)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def grey(src: Video) -> Transformed:
    """Greyscale: the BT.601 luma in all three channels."""

    def fn(rgb: np.ndarray) -> np.ndarray:
        y = np.clip(np.rint(_luma(rgb)), 0, 255).astype(np.uint8)
        return np.repeat(y[..., None], 3, axis=2)

    return _map(src, fn)


_SEPIA = np.array(
    [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], dtype=np.float32
)


def sepia(src: Video) -> Transformed:
    """The usual sepia tone matrix (rows R', G', B'), clipped to 0..255."""
    return _map(src, lambda rgb: np.clip(rgb.astype(np.float32) @ _SEPIA.T, 0, 255).astype(np.uint8))


def brightness_contrast(src: Video, brightness: float = 30.0, contrast: float = 1.2) -> Transformed:
    """Every channel ``x -> (x - 128) * contrast + 128 + brightness``, rounded and clipped."""

    def fn(rgb: np.ndarray) -> np.ndarray:
        y = (rgb.astype(np.float32) - 128.0) * contrast + 128.0 + brightness
        return np.clip(np.rint(y), 0, 255).astype(np.uint8)

    return _map(src, fn)


def hflip(src: Video) -> Transformed:
    """Mirror left-right."""
    return _map(src, lambda rgb: rgb[:, ::-1])


def _logo_box(bh: int, bw: int) -> np.ndarray:
    yy, xx = np.mgrid[0:bh, 0:bw]
    check = ((yy * 4 // bh) + (xx * 4 // bw)) % 2 == 0
    box = np.where(check[..., None], np.uint8([220, 30, 30]), np.uint8([20, 20, 90]))
    edge = max(1, min(bh, bw) // 12)
    box[:edge], box[-edge:], box[:, :edge], box[:, -edge:] = 255, 255, 255, 255
    return box


def logo(src: Video, fraction: float = 0.1) -> Transformed:
    """An opaque box of ``fraction`` x ``fraction`` of the frame in the top-right corner.

    The box is a white frame around a 4x4 checkerboard of red and dark blue: a typical broadcaster
    logo's worth of hard edges.
    """

    def fn(rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        bh, bw = max(4, int(h * fraction)), max(4, int(w * fraction))
        out = rgb.copy()
        m = max(0, min(h, w) // 40)
        out[m : m + bh, w - m - bw : w - m] = _logo_box(bh, bw)
        return out

    return _map(src, fn)


def letterbox(src: Video, fraction: float = 0.125) -> Transformed:
    """Add black bars of ``fraction`` of the height above and below (output is taller)."""

    def fn(rgb: np.ndarray) -> np.ndarray:
        bar = _even(rgb.shape[0] * fraction)
        return np.pad(rgb, ((bar, bar), (0, 0), (0, 0)))

    return _map(src, fn)


def pillarbox(src: Video, fraction: float = 0.125) -> Transformed:
    """Add black bars of ``fraction`` of the width left and right (output is wider)."""

    def fn(rgb: np.ndarray) -> np.ndarray:
        bar = _even(rgb.shape[1] * fraction)
        return np.pad(rgb, ((0, 0), (bar, bar), (0, 0)))

    return _map(src, fn)


def _background(h: int, w: int) -> np.ndarray:
    """A fixed, deterministic textured background (diagonal stripes and a vertical gradient)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 90 + 60 * np.sin((xx + yy) * (2 * np.pi / 37.0))
    g = 60 + 120 * yy / max(1, h - 1)
    b = 140 + 50 * np.cos(xx * (2 * np.pi / 53.0))
    return np.clip(np.stack([r, g, b], axis=2), 0, 255).astype(np.uint8)


def pip(src: Video, scale: float = 0.5, *, quality: int = 18) -> Transformed:
    """Picture in picture: the video scaled by ``scale``, centred on a fixed background of the
    original size. ``quality``: x264 crf (0 = lossless: the background stays exactly static)."""
    bg: dict[tuple[int, int], np.ndarray] = {}

    def fn(rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        if (h, w) not in bg:
            bg[(h, w)] = _background(h, w)
        out = bg[(h, w)].copy()
        sw, sh = _even(w * scale), _even(h * scale)
        y, x = (h - sh) // 2, (w - sw) // 2
        out[y : y + sh, x : x + sw] = _scale(rgb, sw, sh)
        return out

    return _map(src, fn, quality=quality)


# ------------------------------------------------------------------------------------------------
# Temporal transforms


def _resample(frames: FrameIter, fps: float, start_s: float, end_s: float) -> FrameIter:
    """Constant-rate resampling of ``frames`` over source ``[start_s, end_s)``: output frame ``i`` at
    ``i / fps`` shows the last source frame whose time is <= ``start_s + i / fps``."""
    cur = next(frames, None)
    nxt = next(frames, None)
    i = 0
    while cur is not None:
        t = start_s + i / fps
        if t >= end_s and i > 0:
            return
        while nxt is not None and nxt[1] <= t + 1e-9:
            cur, nxt = nxt, next(frames, None)
        yield cur[0], i / fps
        i += 1


def frame_rate(src: Video, fps: float = 25.0) -> Transformed:
    """Resample to a constant ``fps``: output frame ``i`` at ``i / fps`` shows the last source frame
    whose time is <= ``i / fps`` (frames are dropped or repeated, never blended)."""
    duration, _ = probe(src)
    return Transformed(_write(_resample(decode_rgb(src), fps, 0.0, duration), fps))


def speed(src: Video, factor: float = 1.25) -> Transformed:
    """Play ``factor`` times faster: every timestamp is divided by ``factor``, no frame dropped."""
    if factor <= 0:
        raise ValueError(f"factor must be positive, got {factor}")
    _, fps = probe(src)
    return Transformed(_write(((rgb, t / factor) for rgb, t in decode_rgb(src)), fps * factor))


def _segment(src: Video, lo: float, hi: float) -> Transformed:
    """The frames whose time is in ``[lo, hi)``, re-based so the first kept frame is at 0."""
    _, fps = probe(src)
    kept: list[float] = []

    def frames() -> FrameIter:
        for rgb, t in decode_rgb(src):
            if lo - 1e-9 <= t < hi:
                kept.append(t)
                yield rgb, t - kept[0]

    data = _write(frames(), fps)
    return Transformed(data, ".mp4", kept[0], hi)


def trim(src: Video, start: float = 0.05, end: float = 0.05) -> Transformed:
    """Cut ``start`` and ``end`` fractions of the duration (frames whose time falls outside
    ``[start * D, (1 - end) * D)`` are dropped; the first kept frame is re-based to time 0)."""
    if not (0 <= start and 0 <= end and start + end < 1):
        raise ValueError(f"bad trim fractions {start}, {end}")
    duration, _ = probe(src)
    return _segment(src, start * duration, (1.0 - end) * duration)


def clip(src: Video, seconds: float = 5.0, max_fraction: float = 0.5) -> Transformed:
    """``min(seconds, max_fraction * D)`` seconds from the middle of the source (duration ``D``).

    ``source_start_s`` / ``source_end_s`` of the result record where the clip came from.
    """
    duration, _ = probe(src)
    length = min(seconds, max_fraction * duration)
    lo = (duration - length) / 2.0
    return _segment(src, lo, lo + length)


def black_frames(src: Video, start_s: float = 1.0, end_s: float = 1.0) -> Transformed:
    """Black frames at the source's frame rate: ``start_s`` seconds before and ``end_s`` after."""
    duration, fps = probe(src)
    step = 1.0 / fps

    def frames() -> FrameIter:
        it = decode_rgb(src)
        first = next(it)
        black = np.zeros_like(first[0])
        n0 = int(round(start_s * fps))
        for i in range(n0):
            yield black, i * step
        off = n0 * step
        last = first
        yield first[0], first[1] + off
        for rgb, t in it:
            last = (rgb, t)
            yield rgb, t + off
        t_end = max(last[1] + step, duration) + off
        for i in range(int(round(end_s * fps))):
            yield black, t_end + i * step

    return Transformed(_write(frames(), fps))


def slideshow(src: Video, every_s: float = 2.0) -> Transformed:
    """One source frame every ``every_s`` seconds (the frame shown at that time), each held for
    ``every_s`` seconds: a 0.5 fps stream for the default."""
    duration, _ = probe(src)
    return Transformed(_write(_resample(decode_rgb(src), 1.0 / every_s, 0.0, duration), 1.0 / every_s))


def gif(src: Video, fps: float = 10.0, max_width: int = 320) -> Transformed:
    """Animated GIF at ``fps`` frames per second, at most ``max_width`` wide (aspect kept), colours
    reduced to FFmpeg's fixed 3-3-2 bit ``rgb8`` palette (no dithering)."""
    duration, _ = probe(src)

    def fn(rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        if w <= max_width:
            return rgb
        return _scale(rgb, _even(max_width), _even(h * max_width / w))

    frames = ((fn(rgb), t) for rgb, t in _resample(decode_rgb(src), fps, 0.0, duration))
    return Transformed(_write(frames, fps, codec="gif", fmt="gif"), ".gif")


# ------------------------------------------------------------------------------------------------
# Registry


def _t(name: str, fn: Callable[..., Transformed], kind: str = "whole", **params) -> Transform:
    return Transform(name, fn, dict(params), kind)


#: Name -> transform, in report order. Names encode the parameters (percentages as integers).
TRANSFORMS: dict[str, Transform] = {t.name: t for t in (
    _t("reencode_crf35", reencode, codec="libx264", quality=35),
    _t("reencode_mpeg4_q12", reencode, codec="mpeg4", quality=12),
    _t("resize_0.5", resize, factor=0.5),
    _t("crop_5", crop, fraction=0.05),
    _t("crop_10", crop, fraction=0.10),
    _t("crop_20", crop, fraction=0.20),
    _t("letterbox_12", letterbox, fraction=0.125),
    _t("pillarbox_12", pillarbox, fraction=0.125),
    _t("logo_10", logo, fraction=0.10),
    _t("logo_20", logo, fraction=0.20),
    _t("pip_50", pip, scale=0.5),
    _t("grey", grey),
    _t("sepia", sepia),
    _t("brightness_contrast", brightness_contrast, brightness=30.0, contrast=1.2),
    _t("hflip", hflip),
    _t("fps_25", frame_rate, fps=25.0),
    _t("speed_0.8", speed, factor=0.8),
    _t("speed_1.25", speed, factor=1.25),
    _t("trim_5_5", trim, start=0.05, end=0.05),
    _t("black_1_1", black_frames, start_s=1.0, end_s=1.0),
    _t("slideshow_2s", slideshow, every_s=2.0),
    _t("gif_10fps", gif, fps=10.0, max_width=320),
    _t("clip_5s", clip, "clip", seconds=5.0, max_fraction=0.5),
    _t("clip_60s", clip, "clip", seconds=60.0, max_fraction=0.5),
)}


def apply(name: str, src: Video) -> Transformed:
    """Apply the transform registered under ``name`` in :data:`TRANSFORMS`."""
    try:
        t = TRANSFORMS[name]
    except KeyError:
        raise ValueError(f"unknown transform {name!r}; known: {sorted(TRANSFORMS)}") from None
    return t(src)


def apply_all(src: Video, names: Iterable[str] | None = None) -> dict[str, Transformed]:
    """All (or the named) transforms of ``src``: name -> :class:`Transformed`."""
    return {n: apply(n, src) for n in (names or TRANSFORMS)}
