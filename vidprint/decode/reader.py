"""One decoding pass over a video, fanned out to any number of frame sources.

>>> from vidprint.decode import read_frames, TMKSource, VPDQSource
>>> for batch in read_frames("clip.mp4", {"tmk": TMKSource(), "vpdq": VPDQSource()}):  # doctest: +SKIP
...     print(batch.source, batch.luma.shape, batch.index[:3])

Frames are decoded once, in presentation order; each source samples and converts them by its own
rules and hands out :class:`FrameBatch` objects of a bounded size, so memory stays flat however long
the video is, and whatever its timestamps say.

Damaged input is decoded the way FFmpeg's own tools decode it (and so the reference hashers): a
packet the decoder rejects, or an empty packet, is skipped and counted, and decoding goes on; a
demuxer error ends the stream there. What happened is recorded in a
:class:`~vidprint.decode.report.DecodeReport` (``DecodeStats.report()``); ``strict=True`` turns any
irregularity into a :class:`DecodeError`. Only a video of which no frame decodes, or one that hits a
resource limit below, is refused outright. Policy and limits: ``docs/decoding.md``.
"""
from __future__ import annotations

import math
from fractions import Fraction
from dataclasses import dataclass, field
from typing import Generator, Iterator, Mapping

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
from vidprint.decode.report import DecodeReport
from vidprint.decode.sources import TMKSource, VPDQSource
from vidprint.errors import DecodeError

#: A batch holds at most 64 frames, this many output pixels (float32 luma: 4 bytes each), and
#: decoded frames of this many source pixels (YUV 4:2:0: 1.5 bytes each) until it is converted.
BATCH_PIXELS = 4_000_000
SOURCE_PIXELS = 16_000_000
MAX_BATCH_FRAMES = 64
#: Refuse frames larger than this many pixels (8192 x 8192: 8K UHD, 7680 x 4320, fits twice), checked
#: on the stream header before any frame is decoded and again on every decoded frame, and passed to
#: the decoder as FFmpeg's ``max_pixels``: a corrupt or hostile header can claim anything.
MAX_FRAME_PIXELS = 8192 * 8192
#: Refuse frames wider or taller than this many pixels.
MAX_FRAME_SIDE = 16384
#: At most this many consecutive 15 fps TMK output frames show one decoded frame (10 minutes): the
#: constant-frame-rate rule repeats a frame across a timestamp gap, and a hostile gap can be hours
#: or years long. Frames beyond the limit are not produced (the gap is shortened to the limit) and
#: are counted in ``DecodeReport.duplicates_capped``.
MAX_REPEATS = 15 * 600
#: Over the whole video, the TMK stream holds at most ``MAX_REPEATS + REPEATS_PER_FRAME * decoded``
#: output frames beyond the first showing of each decoded frame: a frame every 10 s (a slideshow) is
#: still resampled exactly, but a small file of sparse frames hours apart cannot make hashing take
#: time out of proportion to what it decodes (measured before this limit: a 20 KB file of 40 frames
#: 10 minutes apart gave 351,001 TMK frames, 29 s of hashing).
REPEATS_PER_FRAME = 150


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
    shape : (h, w)
        Output frame size in pixels.
    frames : tuple
        The decoded PyAV frames, one per row (TMK repeats share one object); empty once :attr:`luma`
        was computed (the decoder's buffers are then released).
    luma : float32[n, h, w]
        PDQ luminance (0..255) of each frame. Computed on first access, by vidprint's nogil kernels:
        touch it from a worker thread to convert batches in parallel while decoding goes on.

    :meth:`planes420` gives the YUV planes instead, for consumers that fuse the conversion into their
    own kernels (:func:`vidprint.pdqf.hash_yuv420p_batch`).
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

    @property
    def shape(self) -> tuple[int, int]:
        return self._shape

    @property
    def frames(self) -> tuple:
        return tuple(self._frames)

    def planes420(self) -> list[tuple] | None:
        """Per row, ``(y, u, v, full_range)``: the 8-bit 4:2:0 planes of the frame (views of the
        decoder's buffers, rows padded), if every frame of the batch is one that :attr:`luma` converts
        with the native 4:2:0 path at its own size (unrotated); else None, and so once :attr:`luma`
        was computed. Rows showing the same frame share one tuple object.

        Converted with :func:`vidprint.decode.kernels.luma420_rows` they give exactly :attr:`luma`.
        """
        if not self._frames:
            return None
        out: list[tuple] = []
        prev = planes = None
        for frame in self._frames:
            if frame is not prev:
                planes = self._converter.planes420(frame, self._shape)
                if planes is None:
                    return None
                prev = frame
            out.append(planes)
        return out

    def __len__(self) -> int:
        return int(self.index.shape[0])


@dataclass
class DecodeStats:
    """Filled in while decoding: per source, the stream info and the frames decoded and emitted, and
    the irregularities found (read them as a :class:`DecodeReport` with :meth:`report`)."""

    info: dict[str, VideoInfo] = field(default_factory=dict)
    decoded: dict[str, int] = field(default_factory=dict)
    emitted: dict[str, int] = field(default_factory=dict)
    converters: dict[str, LumaConverter] = field(default_factory=dict)
    source: str = ""
    packets_read: int = 0
    packets_rejected: int = 0
    packets_empty: int = 0
    frames_declared: int = 0
    frames_decoded: int = 0
    ended_early: bool = False
    duplicates_capped: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def native_conversion(self) -> dict[str, bool | None]:
        """Per source: True if vidprint's own kernels converted its frames, False if libswscale did
        (a pixel format without a native path), None if nothing was converted yet."""
        return {k: c.native for k, c in self.converters.items()}

    def report(self) -> DecodeReport:
        """What happened while decoding, as a frozen :class:`DecodeReport`.

        Call it after the batches were consumed: ``conversion`` is known once frames were converted
        (on the hashing threads).
        """
        native = [v for v in self.native_conversion.values() if v is not None]
        conversion = None if not native else ("native" if all(native) else "fallback")
        return DecodeReport(
            source=self.source,
            frames_declared=self.frames_declared,
            frames_decoded=self.frames_decoded,
            packets_read=self.packets_read,
            packets_rejected=self.packets_rejected,
            packets_empty=self.packets_empty,
            ended_early=self.ended_early,
            duplicates_capped=self.duplicates_capped,
            conversion=conversion,
            warnings=tuple(self.warnings),
        )


class _Sampler:
    """Per-source state: frame choice and batching (conversion happens in :attr:`FrameBatch.luma`)."""

    def __init__(self, key: str, spec, info: VideoInfo, start_s: float, last_until: tuple | None = None):
        self.key = key
        self.spec = spec
        self.info = info
        self.decoded = 0
        self.emitted = 0
        self.capped = 0  # TMK output frames not produced (MAX_REPEATS, REPEATS_PER_FRAME)
        self.extra = 0  # TMK output frames beyond the first showing of each decoded frame
        self.converter: LumaConverter | None = None
        self._frames: list = []
        self._idx: list[int] = []
        self._time: list[float] = []
        self._shape: tuple[int, int] | None = None
        self._key: tuple | None = None  # (output shape, source width, source height) of the batch
        self._rows = 0
        self._prev_frame = None  # previous decoded frame: the CFR rule may repeat it
        self._prev_shown = 0  # output frames showing it so far
        self._pending = None  # TMK: (frame, pts_s, duration_s) of the last frame, placed on the next one
        self._last_until = last_until  # (ticks, time base) or None, see _last_frame_until
        if isinstance(spec, TMKSource):
            self.cfr = CFRResampler(spec.fps, start_s, info.fps)
        else:
            if info.fps <= 0:
                raise DecodeError(info.source, "the video stream declares no frame rate")
            self.stride = spec.stride(info.fps)
            self.fps32 = np.float32(info.fps)

    def _emit(self, frame, index: int, time: float) -> Iterator[FrameBatch]:
        """Append one output frame showing ``frame``; yield the batch if that filled it."""
        if self.converter is None:
            rotation = _frame_rotation(frame) if self.spec.autorotate else 0
            size = (self.spec.size, self.spec.size) if self.spec.size else None
            self.converter = LumaConverter(size, self.spec.scaler, rotation)
        shape = self.converter.out_shape(frame)
        key = (shape, frame.width, frame.height)
        if key != self._key:
            _check_size(self.info.source, frame.width, frame.height, "decoded frame")
            _check_size(self.info.source, shape[1], shape[0], "output frame")
            yield from self._flush()  # a size change mid-stream ends the batch early
            self._shape, self._key = shape, key
            self._rows = max(1, min(MAX_BATCH_FRAMES, BATCH_PIXELS // (shape[0] * shape[1]),
                                    SOURCE_PIXELS // max(1, frame.width * frame.height)))
        self._frames.append(frame)
        self._idx.append(index)
        self._time.append(time)
        self.emitted += 1
        if len(self._idx) >= self._rows:
            yield from self._flush()

    def _flush(self) -> Iterator[FrameBatch]:
        if self._idx:
            batch = FrameBatch(self.key, np.asarray(self._idx, dtype=np.int64),
                               np.asarray(self._time, dtype=np.float64), self._frames, self._shape,
                               self.converter)
            self._frames, self._idx, self._time = [], [], []
            yield batch

    def push(self, frame, tb) -> Iterator[FrameBatch]:
        """Feed one decoded frame (``tb``: its time base); yield every batch it completes (never more
        than one is held)."""
        n = self.decoded
        self.decoded += 1
        if isinstance(self.spec, TMKSource):
            pts_s = _seconds(frame.pts, tb) if frame.pts is not None and tb else None
            dur = getattr(frame, "duration", None)
            dur_s = _seconds(dur, tb) if dur and tb else None
            # Held back one frame: the last frame's duration may depend on the stream's end.
            pending, self._pending = self._pending, (frame, pts_s, dur_s)
            if pending is not None:
                yield from self._place(*pending)
        elif n % self.stride == 0:
            yield from self._emit(frame, n, float(np.float32(n) / self.fps32))

    def _place(self, frame, pts_s: float | None, dur_s: float | None) -> Iterator[FrameBatch]:
        """TMK: emit ``frame`` (and repeats of the previous one) by the CFR rule, at most MAX_REPEATS each."""
        repeats, copies = self.cfr.push(pts_s, dur_s)
        fps = self.spec.fps
        # Output frames beyond the first showing of each decoded frame still allowed (REPEATS_PER_FRAME).
        budget = max(0, MAX_REPEATS + REPEATS_PER_FRAME * self.decoded - self.extra)
        if self._prev_frame is not None and repeats:
            keep = min(repeats, max(0, MAX_REPEATS - self._prev_shown), budget)
            self.capped += repeats - keep
            self.extra += keep
            budget -= keep
            for _ in range(keep):
                yield from self._emit(self._prev_frame, self.emitted, self.emitted / fps)
        keep = min(copies, MAX_REPEATS, 1 + budget)
        self.capped += copies - keep
        self.extra += max(0, keep - 1)
        for _ in range(keep):
            yield from self._emit(frame, self.emitted, self.emitted / fps)
        self._prev_frame, self._prev_shown = frame, keep

    def finish(self) -> Iterator[FrameBatch]:
        if self._pending is not None:
            frame, pts_s, dur_s = self._pending
            self._pending = None
            until = self._last_until
            if until is not None and frame.pts is not None and frame.time_base:
                # FFmpeg's MP4/MOV demuxer (as the reference saw it) gives the last packet the
                # duration up to the track's end, even when the track declares frames it lacks.
                # Exact time-base arithmetic: a rounding error here could add a frame.
                rest = until[0] * until[1] - frame.pts * frame.time_base
                if rest > (getattr(frame, "duration", None) or 0) * frame.time_base:
                    dur_s = float(rest)
            yield from self._place(frame, pts_s, dur_s)
        self._prev_frame = None
        yield from self._flush()


def _check_size(name: str, width: int, height: int, what: str) -> None:
    """Refuse a frame over the documented limits (:data:`MAX_FRAME_PIXELS`, :data:`MAX_FRAME_SIDE`)."""
    if width > MAX_FRAME_SIDE or height > MAX_FRAME_SIDE or width * height > MAX_FRAME_PIXELS:
        raise DecodeError(name, f"{what} of {width}x{height} pixels exceeds vidprint's limit "
                                f"({MAX_FRAME_PIXELS:,} pixels, {MAX_FRAME_SIDE} per side)")


def _last_frame_until(container, stream) -> tuple[int, Fraction] | None:
    """MP4/MOV only: the track's end ``(ticks, time_base)``, which FFmpeg's demuxer (4.x-5.x, as the
    reference saw it) makes the end of the last packet; None for other containers or no duration."""
    fmt = getattr(container.format, "name", "") or ""
    if "mov" not in fmt.split(",") and "mp4" not in fmt.split(","):
        return None
    if stream.duration is None or not stream.time_base or stream.duration <= 0:
        return None
    return int(stream.duration), Fraction(stream.time_base)


def _frame_rotation(frame) -> int:
    """Counter-clockwise rotation (degrees) the display matrix asks for; 0 if none."""
    try:
        rot = frame.rotation
    except AttributeError:
        return 0
    if not rot or not math.isfinite(rot):
        return 0
    return int(round(rot / 90.0)) * 90 % 360


def _reason(exc: BaseException) -> str:
    msg = getattr(exc, "strerror", None) or str(exc)
    return str(msg).strip() or type(exc).__name__


def _frame_end_s(frame, tb) -> float | None:
    """Presentation end of ``frame`` (time base ``tb``) in seconds (pts + duration), None without a
    timestamp."""
    if frame.pts is None or not tb:
        return None
    dur = getattr(frame, "duration", None) or 0
    return _seconds(frame.pts + dur, tb)


def _seconds(ticks: int, tb) -> float:
    """``float(ticks * tb)`` for a time base ``tb`` (a Fraction), without building a Fraction per
    frame: Python's int / int is correctly rounded, so the result is the same float."""
    return ticks * tb.numerator / tb.denominator


#: A stream whose last frame ends more than this fraction of the declared duration, and more than two
#: frame periods, before the declared end is reported as ended early (a file cut short: WebM and
#: Matroska keep the duration in their header and declare no frame count). On the 58 corpus videos
#: the largest such gap of an intact file was one frame (2% of a 1.7 s clip).
_SHORT_BY_FRACTION = 0.1
_SHORT_BY_FRAMES = 2.0


def read_frames(
    src: Source,
    sources: Mapping[str, TMKSource | VPDQSource],
    *,
    name: str | None = None,
    stats: DecodeStats | None = None,
    threads: int = 0,
    strict: bool = False,
    max_bytes: int | None = None,
) -> Iterator[FrameBatch]:
    """Decode ``src`` once and yield :class:`FrameBatch` es for every source in ``sources``.

    Batches of one source come in frame order; batches of different sources interleave. Rejected
    and empty packets are skipped and counted in ``stats`` (see :meth:`DecodeStats.report`); with
    ``strict=True`` any irregularity (a skipped packet, fewer frames than the container declares,
    a stream cut short, capped frame repeats) raises :class:`DecodeError` instead. Always raises
    :class:`DecodeError` (naming the source) if there is no video stream, no frame decodes, or a
    frame exceeds the size limits. ``threads`` is the decoder's thread count (0 = automatic).
    ``max_bytes``: the most a non-seekable stream is buffered in memory (see
    :func:`vidprint.decode.container.open_container`).
    """
    if not sources:
        raise ValueError("read_frames needs at least one frame source")
    name = name or source_name(src)
    stats = stats if stats is not None else DecodeStats()
    stats.source = name
    container = open_container(src, name) if max_bytes is None else open_container(src, name, max_bytes=max_bytes)
    try:
        start_s = (container.start_time or 0) / 1e6
        samplers: list[_Sampler] = []
        by_stream: dict[int, list[_Sampler]] = {}
        for key, spec in sources.items():
            stream = select_video_stream(container, spec.stream, name)
            info = video_info(container, stream, name)
            _check_size(name, info.width, info.height, "the stream header declares frames")
            stats.info[key] = info
            s = _Sampler(key, spec, info, start_s, _last_frame_until(container, stream))
            samplers.append(s)
            by_stream.setdefault(stream.index, []).append(s)
        streams = [container.streams[i] for i in by_stream]
        for st in streams:
            st.codec_context.thread_count = threads
            st.codec_context.thread_type = "AUTO"
            # The decoder refuses larger pictures itself (before allocating them), whatever the header said.
            st.codec_context.options = {**st.codec_context.options, "max_pixels": str(MAX_FRAME_PIXELS)}
        last_end = yield from _decode(container, streams, by_stream, stats, name, strict)
        for s in samplers:
            yield from s.finish()
        _check_end(samplers, stats, name, strict, last_end)
        for s in samplers:
            stats.decoded[s.key] = s.decoded
            stats.emitted[s.key] = s.emitted
            if s.converter is not None:
                stats.converters[s.key] = s.converter
    finally:
        container.close()


def _decode(container, streams, by_stream, stats: DecodeStats, name: str,
            strict: bool) -> Generator[FrameBatch, None, dict[int, float]]:
    """Demux and decode, skipping what FFmpeg's tools skip; fills the packet counters of ``stats``.

    Returns (as the generator's value) the end time in seconds of the last frame of each stream.
    """
    first_error: str | None = None
    last_end: dict[int, float] = {}

    def frames_of(st_index: int, frames) -> Iterator[FrameBatch]:
        samplers = by_stream[st_index]
        for frame in frames:
            stats.frames_decoded += 1
            tb = frame.time_base  # PyAV builds a new Fraction on each access: once per frame
            end = _frame_end_s(frame, tb)
            if end is not None:
                last_end[st_index] = max(end, last_end.get(st_index, end))
            for s in samplers:
                yield from s.push(frame, tb)

    def rejected(exc: BaseException, where: str) -> None:
        nonlocal first_error
        if isinstance(exc, av.error.MemoryError):
            raise DecodeError(name, f"out of memory while decoding ({_reason(exc)})") from exc
        stats.packets_rejected += 1
        first_error = first_error or f"{where}: {_reason(exc)}"
        if strict:
            raise DecodeError(name, f"corrupt video data after {stats.frames_decoded} frames: the decoder "
                                    f"rejected a packet ({_reason(exc)})") from exc

    demux_error: BaseException | None = None
    try:
        for packet in container.demux(*streams):
            if packet.size == 0:
                # PyAV ends the demuxing with one empty packet per stream (pts None) to flush the
                # decoders; the flush is done below. Other empty packets are data (Theora: repeat
                # the previous frame) that libavcodec refuses: FFmpeg's tools skip them.
                if packet.pts is not None or packet.dts is not None:
                    stats.packets_empty += 1
                    if strict:
                        raise DecodeError(name, f"empty packet after {stats.frames_decoded} frames "
                                                "(the decoder refuses it; non-strict decoding skips it)")
                continue
            stats.packets_read += 1
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                rejected(exc, f"packet {stats.packets_read}")
                continue
            yield from frames_of(packet.stream.index, frames)
    except av.error.FFmpegError as exc:  # the demuxer itself failed: the stream ends here
        demux_error = exc
    for st in streams:  # drain the decoders (frames held back by reordering or threading)
        try:
            frames = st.codec_context.decode(None)
        except av.error.FFmpegError as exc:
            rejected(exc, "end of stream")
            continue
        for frame in frames:
            if frame.time_base is None:  # PyAV sets it only on frames decoded from a packet
                frame.time_base = st.time_base
        yield from frames_of(st.index, frames)

    if demux_error is not None:
        stats.ended_early = True
        msg = (f"reading stopped at damaged data after {stats.frames_decoded} frames "
               f"({_reason(demux_error)})")
        if strict:
            raise DecodeError(name, msg) from demux_error
        stats.warnings.append(msg)
    if stats.packets_empty:
        stats.warnings.append(f"{stats.packets_empty} empty packet(s) skipped")
    if stats.packets_rejected:
        stats.warnings.append(f"{stats.packets_rejected} packet(s) rejected by the decoder and skipped "
                              f"(first: {first_error})")
    if stats.frames_decoded == 0:
        detail = "; ".join(stats.warnings)
        raise DecodeError(name, "no decodable video frames" + (f" ({detail})" if detail else ""))
    return last_end


def _check_end(samplers: list[_Sampler], stats: DecodeStats, name: str, strict: bool,
               last_ends: dict[int, float]) -> None:
    """Compare what was decoded with what the container declares; record (or, strict, raise) it."""
    msgs = []
    info = samplers[0].info
    declared = max(s.info.declared_frames for s in samplers)
    stats.frames_declared = declared
    decoded = max(s.decoded for s in samplers)
    stats.frames_decoded = decoded  # of the chosen stream(s), not a sum over two streams
    for s in samplers:
        if s.emitted == 0:  # e.g. the TMK and vPDQ sources read different streams, one of them empty
            raise DecodeError(name, f"no decodable video frames for the {s.key!r} frame source "
                                    f"({s.decoded} decoded, none inside the stream's time range)")
    if declared and decoded < declared:
        stats.ended_early = True
        msgs.append(f"truncated: the container declares {declared} video frames, only {decoded} "
                    "could be decoded; the frames decoded were hashed")
    last_end = last_ends.get(info.stream_index)
    dur = info.duration_s
    if not (declared and decoded < declared) and last_end is not None and dur and math.isfinite(dur):
        short = (dur + info.start_s) - last_end
        if short > _SHORT_BY_FRACTION * dur and short > _SHORT_BY_FRAMES / (info.fps or 10.0):
            stats.ended_early = True
            msgs.append(f"the video ends at {last_end - info.start_s:.2f} s but the container declares "
                        f"{dur:.2f} s: the file may be cut short")
    capped = sum(s.capped for s in samplers)
    if capped:
        stats.duplicates_capped = capped
        msgs.append(f"a timestamp gap would repeat frames beyond vidprint's limits at 15 fps (at most "
                    f"{MAX_REPEATS} repeats of one frame, {REPEATS_PER_FRAME} per decoded frame on average); "
                    f"{capped} repeated frame(s) left out")
    if msgs and strict:
        raise DecodeError(name, msgs[0])
    stats.warnings.extend(msgs)
