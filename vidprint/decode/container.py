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
#: input is decoded as it is read when its first bytes show a layout that needs no seeking
#: (:func:`streamable_layout`); otherwise it is read into memory first, because its index may be at the
#: end (MP4 with the ``moov`` box last), and a larger stream is refused with a clear error. Seekable
#: files are never read whole: the demuxer reads them as it goes.
MAX_BUFFER_BYTES = 1 << 30
_CHUNK = 1 << 20
#: Bytes of a non-seekable input read to recognise its layout before deciding to stream it.
LAYOUT_PREFIX_BYTES = 1 << 16
_BMFF_TOP_LEVEL = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"styp", b"sidx",
                   b"pdin", b"prfl", b"meta")


def mp4_index_position(prefix: bytes) -> str | None:
    """Where an MP4 / MOV (ISO BMFF) keeps its index, from its first bytes: ``"first"`` when the top-level
    ``moov`` box comes before ``mdat``, ``"last"`` when ``mdat`` comes first, None when ``prefix`` does
    not say (not BMFF, or the boxes it holds end before either)."""
    pos = 0
    while pos + 8 <= len(prefix):
        size, kind = int.from_bytes(prefix[pos:pos + 4], "big"), bytes(prefix[pos + 4:pos + 8])
        if kind not in _BMFF_TOP_LEVEL:
            return None
        if kind in (b"moov", b"mdat"):
            return "first" if kind == b"moov" else "last"
        if size == 1:
            if pos + 16 > len(prefix):
                return None
            size = int.from_bytes(prefix[pos + 8:pos + 16], "big")
        if size < 8:
            return None
        pos += size
    return None


def streamable_layout(prefix: bytes) -> bool:
    """True when a container starting with ``prefix`` can be demuxed front to back without seeking:
    Matroska / WebM, MPEG transport stream, FLV, IVF, YUV4MPEG2, and MP4 / MOV with its index
    (``moov``) before the media data. Anything else (an MP4 with the index last, a format not listed)
    is False: a non-seekable input of that kind is held in memory to be decoded."""
    if prefix[:4] == b"\x1aE\xdf\xa3" or prefix[:3] == b"FLV" or prefix[:4] == b"DKIF" \
            or prefix[:9] == b"YUV4MPEG2":
        return True
    if len(prefix) > 376 and prefix[0] == 0x47 and prefix[188] == 0x47 and prefix[376] == 0x47:
        return True
    return mp4_index_position(prefix) == "first"


class StreamingSource:
    """A non-seekable input decoded as it is read: ``prefix`` (the bytes already read from ``rest`` to
    recognise its layout), then the rest of ``rest``. It has ``read`` and no ``seek``, so FFmpeg reads
    it front to back; memory does not grow with its length. :func:`open_container` makes one for a
    non-seekable input whose prefix passes :func:`streamable_layout`, and accepts one made by a caller
    (e.g. one that hashes what it reads)."""

    def __init__(self, prefix: bytes, rest, name: str | None = None) -> None:
        self._prefix = memoryview(bytes(prefix))
        self._pos = 0
        self._rest = rest
        self.name = name

    def read(self, size: int = -1) -> bytes:
        if self._pos < len(self._prefix):
            n = len(self._prefix) - self._pos if size is None or size < 0 else min(size, len(self._prefix) - self._pos)
            out = bytes(self._prefix[self._pos:self._pos + n])
            self._pos += n
            return out
        data = self._rest.read(-1 if size is None else size)
        if isinstance(data, str):
            raise ValueError("a video is read from a binary file object, got a text one")
        return bytes(data) if data else b""


def read_up_to(f, name: str, limit: int) -> bytes:
    """Up to ``limit`` bytes from a (non-seekable) binary stream, in chunks (fewer only at its end); a
    read error or a text stream is a :class:`DecodeError` naming ``name``."""
    parts, total = [], 0
    while total < limit:
        try:
            chunk = f.read(min(_CHUNK, limit - total))
        except (OSError, ValueError) as exc:
            raise DecodeError(name, f"cannot read: {exc}") from exc
        if isinstance(chunk, str):
            raise DecodeError(name, "a video is read from a binary file object, got a text one")
        if not chunk:
            break
        parts.append(bytes(chunk))
        total += len(chunk)
    return b"".join(parts)


def _seekable(f) -> bool:
    try:
        if not f.seekable():
            return False
        f.tell()
        return True
    except (AttributeError, OSError, ValueError):
        return False


def _buffer_stream(f, name: str, max_bytes: int, prefix: bytes = b"") -> io.BytesIO:
    """Read a non-seekable binary stream into memory (after the ``prefix`` already read from it), at
    most ``max_bytes`` bytes in all."""
    data = prefix + read_up_to(f, name, max_bytes + 1 - len(prefix)) if len(prefix) <= max_bytes else prefix
    if len(data) > max_bytes:
        raise DecodeError(name, f"non-seekable input larger than {max_bytes:,} bytes: a stream that "
                                "cannot seek is buffered in memory up to this limit; give a file path")
    if not data:
        raise DecodeError(name, "empty input (0 bytes)")
    return io.BytesIO(data)


def open_container(src: Source, name: str | None = None, *,
                   max_bytes: int = MAX_BUFFER_BYTES) -> "av.container.InputContainer":
    """Open ``src`` for demuxing. Bytes are wrapped in :class:`io.BytesIO`, never written to disk.

    A file object that cannot seek (a pipe, stdin) is decoded as it is read when its first
    :data:`LAYOUT_PREFIX_BYTES` show a layout that needs no seeking (:func:`streamable_layout`);
    otherwise it is first read into memory, at most ``max_bytes`` bytes (:data:`MAX_BUFFER_BYTES`),
    since its index may come last. A seekable one is read lazily. A :class:`StreamingSource` is decoded
    as it is.
    """
    name = name or source_name(src)
    if isinstance(src, StreamingSource):
        pass
    elif not isinstance(src, (bytes, bytearray, memoryview, str, os.PathLike)) and hasattr(src, "read"):
        if not _seekable(src):
            prefix = read_up_to(src, name, min(LAYOUT_PREFIX_BYTES, max_bytes + 1))
            if not prefix:
                raise DecodeError(name, "empty input (0 bytes)")
            src = StreamingSource(prefix, src, name) if streamable_layout(prefix) else \
                _buffer_stream(src, name, max_bytes, prefix)
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
