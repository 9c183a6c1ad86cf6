"""One decoding pass over a video, fanned out to any number of frame sources.

>>> from vidprint.decode import read_frames, TMKSource, VPDQSource
>>> for batch in read_frames("clip.mp4", {"tmk": TMKSource(), "vpdq": VPDQSource()}):  # doctest: +SKIP
...     print(batch.source, batch.luma.shape, batch.index[:3])

Frames are decoded once, in presentation order; each source samples and converts them by its own
rules and hands out :class:`FrameBatch` objects of a bounded size, so memory stays flat however long
the video is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator, Mapping

import av
import numpy as np

from vidprint.decode.cfr import CFRResampler
from vidprint.decode.container import (
    Source,
    VideoInfo,
    open_container,
    select_video_stream,
    source_name,
    video_info,
)
from vidprint.decode.convert import LumaConverter
from vidprint.decode.sources import TMKSource, VPDQSource
from vidprint.errors import DecodeError
from vidprint.pdqf import hash_luma_batch

#: A batch holds at most 64 frames, this many output pixels (float32 luma: 4 bytes each), and
#: decoded frames of this many source pixels (YUV 4:2:0: 1.5 bytes each) until it is converted.
BATCH_PIXELS = 4_000_000
SOURCE_PIXELS = 16_000_000
MAX_BATCH_FRAMES = 64
#: Refuse frames larger than this many pixels (a 16K x 16K frame); a corrupt header can claim anything.
MAX_FRAME_PIXELS = 16384 * 16384


class FrameBatch:
    """Consecutive sampled frames of one source.

    Attributes
    ----------
    source : str
        The key the source was given in :func:`read_frames`.
    index : int64[n]
        TMK: position in the resampled stream (0, 1, 2, ...); vPDQ: the decoder's frame number.
    time : float64[n]
        Seconds: ``index / fps`` of the source's own clock (see each source's docstring).
    luma : float32[n, h, w]
        PDQ luminance (0..255) of each frame. Computed on first access, by vidprint's nogil kernels:
        touch it from a worker thread to convert batches in parallel while decoding goes on.
    """

    __slots__ = ("source", "index", "time", "_frames", "_shape", "_converter", "_luma")

    def __init__(self, source: str, index: np.ndarray, time: np.ndarray, frames: list,
                 shape: tuple[int, int], converter: LumaConverter):
        self.source = source
        self.index = index
        self.time = time
        self._frames = frames  # decoded frames, one per row (TMK repeats share one object)
        self._shape = shape
        self._converter = converter
        self._luma: np.ndarray | None = None

    @property
    def luma(self) -> np.ndarray:
        if self._luma is None:
            out = np.empty((len(self._frames), *self._shape), np.float32)
            prev = None
            for i, frame in enumerate(self._frames):
                if frame is prev:
                    out[i] = out[i - 1]
                else:
                    self._converter(frame, out[i])
                prev = frame
            self._luma = out
            self._frames = []  # release the decoder's buffers
        return self._luma

    def pdq_hashes(self) -> tuple[np.ndarray, np.ndarray]:
        """PDQ hashes of the batch, ``(uint64[n, 4], int32[n])``: ``hash_luma_batch(self.luma)``.

        If :attr:`luma` was not computed yet, native-size 4:2:0 frames are hashed straight from their
        YUV planes (same bits, no luma plane stored) and the decoded frames are released: :attr:`luma`
        is then no longer available. nogil kernels: call it from a worker thread.
        """
        if self._luma is not None:
            return hash_luma_batch(np.ascontiguousarray(self._luma))
        if not self._frames:
            raise RuntimeError("the frames of this batch were released by an earlier pdq_hashes()")
        res = self._converter.pdq_hashes(self._frames, self._shape)
        self._frames = []
        return res

    def __len__(self) -> int:
        return int(self.index.shape[0])


@dataclass
class DecodeStats:
    """Filled in while decoding: per source, the stream info and the frames decoded and emitted."""

    info: dict[str, VideoInfo] = field(default_factory=dict)
    decoded: dict[str, int] = field(default_factory=dict)
    emitted: dict[str, int] = field(default_factory=dict)
    converters: dict[str, LumaConverter] = field(default_factory=dict)

    @property
    def native_conversion(self) -> dict[str, bool | None]:
        """Per source: True if vidprint's own kernels converted its frames, False if libswscale did
        (a pixel format without a native path), None if nothing was converted yet."""
        return {k: c.native for k, c in self.converters.items()}


class _Sampler:
    """Per-source state: frame choice and batching (conversion happens in :attr:`FrameBatch.luma`)."""

    def __init__(self, key: str, spec, info: VideoInfo, start_s: float):
        self.key = key
        self.spec = spec
        self.info = info
        self.decoded = 0
        self.emitted = 0
        self.converter: LumaConverter | None = None
        self._frames: list = []
        self._idx: list[int] = []
        self._time: list[float] = []
        self._shape: tuple[int, int] | None = None
        self._rows = 0
        self._prev_frame = None  # previous decoded frame: the CFR rule may repeat it
        if isinstance(spec, TMKSource):
            self.cfr = CFRResampler(spec.fps, start_s, info.fps)
        else:
            if info.fps <= 0:
                raise DecodeError(info.source, "the video stream declares no frame rate")
            self.stride = spec.stride(info.fps)
            self.fps32 = np.float32(info.fps)

    def _emit(self, frame, index: int, time: float, out: list[FrameBatch]) -> None:
        """Append one output frame showing ``frame``."""
        if self.converter is None:
            rotation = _frame_rotation(frame) if self.spec.autorotate else 0
            size = (self.spec.size, self.spec.size) if self.spec.size else None
            self.converter = LumaConverter(size, self.spec.scaler, rotation)
        shape = self.converter.out_shape(frame)
        if shape != self._shape:
            if shape[0] * shape[1] > MAX_FRAME_PIXELS:
                raise DecodeError(self.info.source, f"frame of {frame.width}x{frame.height} is too large")
            self._flush(out)  # a size change mid-stream ends the batch early
            self._shape = shape
            self._rows = max(1, min(MAX_BATCH_FRAMES, BATCH_PIXELS // (shape[0] * shape[1]),
                                    SOURCE_PIXELS // max(1, frame.width * frame.height)))
        self._frames.append(frame)
        self._idx.append(index)
        self._time.append(time)
        self.emitted += 1
        if len(self._idx) == self._rows:
            self._flush(out)

    def _flush(self, out: list[FrameBatch]) -> None:
        if self._idx:
            out.append(FrameBatch(self.key, np.asarray(self._idx, dtype=np.int64),
                                  np.asarray(self._time, dtype=np.float64), self._frames, self._shape,
                                  self.converter))
            self._frames, self._idx, self._time = [], [], []

    def push(self, frame) -> list[FrameBatch]:
        n = self.decoded
        self.decoded += 1
        out: list[FrameBatch] = []
        if isinstance(self.spec, TMKSource):
            tb = frame.time_base
            pts_s = float(frame.pts * tb) if frame.pts is not None and tb else None
            dur = getattr(frame, "duration", None)
            dur_s = float(dur * tb) if dur and tb else None
            repeats, copies = self.cfr.push(pts_s, dur_s)
            fps = self.spec.fps
            if self._prev_frame is not None:
                for _ in range(repeats):
                    self._emit(self._prev_frame, self.emitted, self.emitted / fps, out)
            for _ in range(copies):
                self._emit(frame, self.emitted, self.emitted / fps, out)
            self._prev_frame = frame
        elif n % self.stride == 0:
            self._emit(frame, n, float(np.float32(n) / self.fps32), out)
        return out

    def finish(self) -> list[FrameBatch]:
        self._prev_frame = None
        out: list[FrameBatch] = []
        self._flush(out)
        return out


def _frame_rotation(frame) -> int:
    """Counter-clockwise rotation (degrees) the display matrix asks for; 0 if none."""
    try:
        rot = frame.rotation
    except AttributeError:
        return 0
    if not rot or not math.isfinite(rot):
        return 0
    return int(round(rot / 90.0)) * 90 % 360


def read_frames(
    src: Source,
    sources: Mapping[str, TMKSource | VPDQSource],
    *,
    name: str | None = None,
    stats: DecodeStats | None = None,
    threads: int = 0,
) -> Iterator[FrameBatch]:
    """Decode ``src`` once and yield :class:`FrameBatch` es for every source in ``sources``.

    Batches of one source come in frame order; batches of different sources interleave. Raises
    :class:`DecodeError` (naming the source) if there is no video stream, the data is corrupt,
    or a source gets no frame at all. ``threads`` is the decoder's thread count (0 = automatic).
    """
    if not sources:
        raise ValueError("read_frames needs at least one frame source")
    name = name or source_name(src)
    stats = stats if stats is not None else DecodeStats()
    container = open_container(src, name)
    try:
        start_s = (container.start_time or 0) / 1e6
        samplers: list[_Sampler] = []
        by_stream: dict[int, list[_Sampler]] = {}
        for key, spec in sources.items():
            stream = select_video_stream(container, spec.stream, name)
            info = video_info(container, stream, name)
            if info.width and info.height and info.width * info.height > MAX_FRAME_PIXELS:
                raise DecodeError(name, f"frame size {info.width}x{info.height} is too large")
            stats.info[key] = info
            s = _Sampler(key, spec, info, start_s)
            samplers.append(s)
            by_stream.setdefault(stream.index, []).append(s)
        streams = [container.streams[i] for i in by_stream]
        for st in streams:
            st.codec_context.thread_count = threads
            st.codec_context.thread_type = "AUTO"
        frame_no = 0
        packets = dict.fromkeys(by_stream, 0)
        try:
            for packet in container.demux(*streams):
                if packet.size:
                    packets[packet.stream.index] += 1
                for frame in packet.decode():
                    frame_no += 1
                    for s in by_stream[packet.stream.index]:
                        yield from s.push(frame)
        except av.error.FFmpegError as exc:
            raise DecodeError(name, f"corrupt or truncated video data after {frame_no} frames "
                                    f"({getattr(exc, 'strerror', None) or exc})") from exc
        for s in samplers:
            declared = s.info.declared_frames
            if declared and packets[s.info.stream_index] < declared:
                raise DecodeError(name, f"truncated: the container declares {declared} video frames, "
                                        f"only {packets[s.info.stream_index]} could be read")
            yield from s.finish()
            stats.decoded[s.key] = s.decoded
            stats.emitted[s.key] = s.emitted
            if s.converter is not None:
                stats.converters[s.key] = s.converter
            if s.decoded == 0:
                raise DecodeError(name, "no decodable video frames")
    finally:
        container.close()
