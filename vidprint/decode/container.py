"""Opening a video with PyAV: paths, bytes or file-like objects (no temporary files), stream choice.

Every failure becomes a :class:`vidprint.errors.DecodeError` naming the source and the reason.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from fractions import Fraction

import av

from vidprint.errors import DecodeError
from vidprint.fileio import Readable, source_name

#: What a video can be read from: a path, bytes, or a binary file object (the type every reader shares).
Source = Readable


#: The most bytes a non-seekable input (a pipe, a socket, stdin) is buffered in memory: 1 GiB. Such an
#: input is read into memory first, because a container may keep its index at the end (MP4 with the
#: ``moov`` atom last); a larger stream is refused with a clear error. Seekable files are never read
#: whole: the demuxer reads them as it goes.
MAX_BUFFER_BYTES = 1 << 30
_CHUNK = 1 << 20


def _seekable(f) -> bool:
    try:
        if not f.seekable():
            return False
        f.tell()
        return True
    except (AttributeError, OSError, ValueError):
        return False


def _buffer_stream(f, name: str, max_bytes: int) -> io.BytesIO:
    """Read a non-seekable binary stream into memory, at most ``max_bytes`` bytes."""
    parts, total = [], 0
    while True:
        try:
            chunk = f.read(min(_CHUNK, max_bytes + 1 - total))
        except (OSError, ValueError) as exc:
            raise DecodeError(name, f"cannot read: {exc}") from exc
        if isinstance(chunk, str):
            raise DecodeError(name, "a video is read from a binary file object, got a text one")
        if not chunk:
            break
        parts.append(bytes(chunk))
        total += len(chunk)
        if total > max_bytes:
            raise DecodeError(name, f"non-seekable input larger than {max_bytes:,} bytes: a stream that "
                                    "cannot seek is buffered in memory up to this limit; give a file path")
    if total == 0:
        raise DecodeError(name, "empty input (0 bytes)")
    return io.BytesIO(b"".join(parts))


def open_container(src: Source, name: str | None = None, *,
                   max_bytes: int = MAX_BUFFER_BYTES) -> "av.container.InputContainer":
    """Open ``src`` for demuxing. Bytes are wrapped in :class:`io.BytesIO`, never written to disk.

    A file object that cannot seek (a pipe, stdin) is first read into memory, at most ``max_bytes``
    bytes (:data:`MAX_BUFFER_BYTES`), since its index may come last; a seekable one is read lazily.
    """
    name = name or source_name(src)
    if not isinstance(src, (bytes, bytearray, memoryview, str, os.PathLike)) and hasattr(src, "read"):
        if not _seekable(src):
            src = _buffer_stream(src, name, max_bytes)
    if isinstance(src, (bytes, bytearray, memoryview)):
        if len(src) == 0:
            raise DecodeError(name, "empty input (0 bytes)")
        src = io.BytesIO(bytes(src))
    elif isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        if not os.path.exists(path):
            raise DecodeError(name, "no such file")
        if os.path.isdir(path):
            raise DecodeError(name, "is a directory, not a video file")
        if os.path.getsize(path) == 0:
            raise DecodeError(name, "empty file (0 bytes)")
        src = path
    try:
        return av.open(src, mode="r")
    except av.error.FFmpegError as exc:
        raise DecodeError(name, f"not a readable media file ({_ffmpeg_reason(exc)})") from exc
    except (OSError, ValueError, TypeError) as exc:
        raise DecodeError(name, f"cannot open: {exc}") from exc


def _ffmpeg_reason(exc: BaseException) -> str:
    msg = getattr(exc, "strerror", None) or str(exc)
    return str(msg).strip() or type(exc).__name__


def _is_attached_picture(stream) -> bool:
    disp = getattr(stream, "disposition", None)
    try:
        return bool(disp & av.stream.Disposition.attached_pic)  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        return False


def select_video_stream(container, policy: str, name: str):
    """Choose the video stream a frame source reads.

    ``"first"``: the first video stream (the vPDQ reference). ``"best"``: the one the ``ffmpeg`` CLI
    picks by default (the TMK reference): the largest picture, first on ties, cover art excluded.
    """
    videos = [s for s in container.streams if s.type == "video"]
    if not videos:
        kinds = ", ".join(sorted({s.type for s in container.streams})) or "none"
        raise DecodeError(name, f"no video stream (streams present: {kinds})")
    # A stream whose codec FFmpeg does not know (or a damaged header names none) has no decoder.
    decodable = [s for s in videos if getattr(s, "codec_context", None) is not None]
    if not decodable:
        raise DecodeError(name, "no decodable video stream (unknown or damaged codec header)")
    videos = decodable
    if policy == "first":
        return videos[0]
    if policy != "best":
        raise ValueError(f"unknown stream policy {policy!r}")
    candidates = [s for s in videos if not _is_attached_picture(s)] or videos
    return max(candidates, key=lambda s: (s.codec_context.width or 0) * (s.codec_context.height or 0))


def stream_fps(stream) -> float:
    """Nominal frame rate: ``avg_frame_rate``, else ``r_frame_rate`` (as the vPDQ reference); 0 if unknown."""
    for rate in (stream.average_rate, getattr(stream, "base_rate", None), getattr(stream, "guessed_rate", None)):
        if rate:
            return float(Fraction(rate))
    return 0.0


@dataclass(frozen=True)
class VideoInfo:
    """What a container says about its chosen video stream (before decoding)."""

    source: str
    stream_index: int
    width: int
    height: int
    fps: float  # nominal frames per second (avg_frame_rate); 0.0 if unknown
    pixel_format: str | None
    codec: str
    declared_frames: int  # from the container index; 0 if unknown
    duration_s: float | None
    start_s: float  # container start time in seconds


def video_info(container, stream, name: str) -> VideoInfo:
    cc = stream.codec_context
    duration = None
    if stream.duration is not None and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1e6
    return VideoInfo(
        source=name,
        stream_index=stream.index,
        width=int(cc.width or 0),
        height=int(cc.height or 0),
        fps=stream_fps(stream),
        pixel_format=cc.format.name if cc.format is not None else None,
        codec=cc.name,
        declared_frames=int(stream.frames or 0),
        duration_s=duration,
        start_s=(container.start_time or 0) / 1e6,
    )
