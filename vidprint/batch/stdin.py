"""Reading one video from standard input (``vidprint hash -``, ``vidprint scan -``), without temporary files.

A pipe cannot seek, and a container may keep its index at the end (an MP4 whose ``moov`` box follows
the media data, as many cameras and encoders write it): the decoder needs that index before the
first frame. So a non-seekable standard input is read into memory, up to ``max_bytes`` (default
:data:`DEFAULT_MAX_BYTES`, the CLI's ``--max-bytes``), and decoded from there, whatever its layout
(the same rule as :func:`vidprint.decode.container.open_container` for any non-seekable file object);
a larger input fails with a :class:`~vidprint.errors.DecodeError` that says so, instead of the
decoder's "corrupt or truncated". Standard input redirected from a regular file is seekable and is
read directly, lazily.

The SHA-256 of the input (its ``content_id``) is computed while it is read.
"""
from __future__ import annotations

import hashlib
import io
import sys
from typing import BinaryIO

from vidprint.errors import DecodeError

#: Largest input held in memory when standard input is a pipe (1 GiB); ``--max-bytes`` changes it.
DEFAULT_MAX_BYTES = 1 << 30
NAME = "<stdin>"
_CHUNK = 1 << 20
_BMFF_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"styp", b"sidx")


class StdinInput:
    """A video on standard input, ready for :func:`vidprint.fingerprint` (``.source``)."""

    def __init__(self, source, sha=None, buffered: bool = False):
        self.source = source
        self.name = NAME
        self.buffered = buffered  # True: the whole input was read from a pipe into memory
        self._sha = sha

    def content_id(self) -> str | None:
        """SHA-256 hex of the whole input (None for a seekable file: the fingerprint computes it)."""
        return None if self._sha is None else self._sha.hexdigest()


def open_stdin(max_bytes: int = DEFAULT_MAX_BYTES, stream: BinaryIO | None = None) -> StdinInput:
    """Prepare standard input (or ``stream``) for decoding; see the module docstring.

    Raises :class:`~vidprint.errors.DecodeError` for an empty input, or a non-seekable one larger than
    ``max_bytes``.
    """
    stream = stream if stream is not None else sys.stdin.buffer
    try:
        seekable = stream.seekable()
    except (AttributeError, ValueError, OSError):
        seekable = False
    if seekable:
        return StdinInput(stream)
    sha = hashlib.sha256()
    buf = io.BytesIO()
    while True:
        data = stream.read(min(_CHUNK, max_bytes + 1 - buf.tell()))
        if not data:
            break
        sha.update(data)
        buf.write(data)
        if buf.tell() > max_bytes:
            raise _too_large(max_bytes, _index_last(buf))
    if buf.tell() == 0:
        raise DecodeError(NAME, "empty input (0 bytes on standard input)")
    buf.seek(0)
    buf.name = NAME  # what error messages call it
    return StdinInput(buf, sha, buffered=True)


def _index_last(buf: io.BytesIO) -> bool:
    """True if the top-level MP4 boxes read so far put ``mdat`` before any ``moov`` (ISO/IEC 14496-12)."""
    data = buf.getbuffer()
    pos = 0
    while pos + 8 <= len(data):
        size, kind = int.from_bytes(data[pos:pos + 4], "big"), bytes(data[pos + 4:pos + 8])
        if kind not in _BMFF_BOXES:
            return False
        if kind in (b"moov", b"mdat"):
            return kind == b"mdat"
        if size == 1 and pos + 16 <= len(data):
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        if size < 8:
            return False
        pos += size
    return False


def _too_large(max_bytes: int, index_last: bool) -> DecodeError:
    why = ("this MP4 keeps its index (moov box) after the media data, so it cannot be decoded from a pipe "
           "without holding all of it in memory" if index_last else
           "a pipe cannot seek, so standard input is held in memory to be decoded")
    return DecodeError(NAME, f"{why}, and this input is larger than --max-bytes ({max_bytes:,} bytes): raise "
                             f"--max-bytes, or pass the video as a file")
