"""Reading one video from standard input (``vidprint hash -``, ``vidprint scan -``), without temporary files.

A pipe cannot seek. When its first bytes show a layout that needs no seeking (Matroska / WebM, MPEG-TS,
an MP4 with its index, the ``moov`` box, before the media data, ...:
:func:`vidprint.decode.container.streamable_layout`), it is decoded as it is read, in bounded memory
whatever its length. Otherwise (an MP4 whose ``moov`` box follows the media data, as many cameras and
encoders write it: the decoder needs that index before the first frame) it is read into memory, up to
``max_bytes`` (default :data:`DEFAULT_MAX_BYTES`, the CLI's ``--max-bytes``), and decoded from there; a
larger input fails with a :class:`~vidprint.errors.DecodeError` that says so, instead of the decoder's
"corrupt or truncated". Standard input redirected from a regular file is seekable and is read
directly, lazily.

The SHA-256 of the input (its ``content_id``) is computed while it is read; after a streamed decode,
:meth:`StdinInput.content_id` reads (and hashes) whatever the decoder left.
"""
from __future__ import annotations

import hashlib
import io
import sys
from typing import BinaryIO

from vidprint.errors import DecodeError

#: Largest input held in memory when standard input is a pipe that cannot be streamed (1 GiB);
#: ``--max-bytes`` changes it.
DEFAULT_MAX_BYTES = 1 << 30
NAME = "<stdin>"
_CHUNK = 1 << 20


class _Hashing:
    """Reads ``stream`` and hashes every byte read (a pipe's content id, computed on the way)."""

    def __init__(self, stream: BinaryIO, sha) -> None:
        self._stream = stream
        self._sha = sha

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if data:
            self._sha.update(data)
        return data


class StdinInput:
    """A video on standard input, ready for :func:`vidprint.fingerprint` (``.source``)."""

    def __init__(self, source, sha=None, buffered: bool = False, rest: _Hashing | None = None):
        self.source = source
        self.name = NAME
        self.buffered = buffered  # True: the whole input was read from a pipe into memory
        self._sha = sha
        self._rest = rest  # a streamed pipe: what the decoder may not have read yet

    def content_id(self) -> str | None:
        """SHA-256 hex of the whole input (None for a seekable file: the fingerprint computes it). For a
        streamed pipe, the rest of the pipe is read (and hashed) first."""
        if self._sha is None:
            return None
        if self._rest is not None:
            while self._rest.read(_CHUNK):
                pass
        return self._sha.hexdigest()


def open_stdin(max_bytes: int = DEFAULT_MAX_BYTES, stream: BinaryIO | None = None) -> StdinInput:
    """Prepare standard input (or ``stream``) for decoding; see the module docstring.

    Raises :class:`~vidprint.errors.DecodeError` for an empty input, or a non-seekable one that cannot
    be streamed and is larger than ``max_bytes``.
    """
    # here, not at import: the CLI reads DEFAULT_MAX_BYTES while building its parser, before NumPy loads
    from vidprint.decode.container import (LAYOUT_PREFIX_BYTES, StreamingSource, mp4_index_position, read_up_to,
                                           streamable_layout)

    stream = stream if stream is not None else sys.stdin.buffer
    try:
        seekable = stream.seekable()
    except (AttributeError, ValueError, OSError):
        seekable = False
    if seekable:
        return StdinInput(stream)
    sha = hashlib.sha256()
    hashed = _Hashing(stream, sha)
    prefix = read_up_to(hashed, NAME, LAYOUT_PREFIX_BYTES)
    if not prefix:
        raise DecodeError(NAME, "empty input (0 bytes on standard input)")
    if streamable_layout(prefix):
        return StdinInput(StreamingSource(prefix, hashed, NAME), sha, rest=hashed)
    data = prefix + read_up_to(hashed, NAME, max_bytes + 1 - len(prefix)) if len(prefix) <= max_bytes else prefix
    if len(data) > max_bytes:
        raise _too_large(max_bytes, mp4_index_position(data) == "last")
    buf = io.BytesIO(data)
    buf.name = NAME  # what error messages call it
    return StdinInput(buf, sha, buffered=True)


def _too_large(max_bytes: int, index_last: bool) -> DecodeError:
    why = ("this MP4 keeps its index (moov box) after the media data, so it cannot be decoded from a pipe "
           "without holding all of it in memory" if index_last else
           "a pipe cannot seek, so standard input is held in memory to be decoded")
    return DecodeError(NAME, f"{why}, and this input is larger than --max-bytes ({max_bytes:,} bytes): raise "
                             f"--max-bytes, or pass the video as a file")
