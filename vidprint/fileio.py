"""Reading and writing hash files: one convention for every descriptor type.

Every ``read``/``from_bytes`` in vidprint accepts the same three kinds of input, and every
``write`` the same two kinds of target:

* a path (``str`` or ``os.PathLike``): always a file name, never parsed as content;
* ``bytes``/``bytearray``/``memoryview``: the file's content;
* a binary file object (anything with ``read``; for writing, ``write``).

A missing or unreadable file raises :class:`vidprint.errors.HashFileError` naming the path, as does
any malformed content; inputs are read with a size cap so that a hostile file cannot make the reader
allocate without bound. Paths are written atomically (:func:`vidprint.atomic.atomic_write`).
"""
from __future__ import annotations

import os
from typing import BinaryIO, Union

from vidprint.atomic import atomic_write
from vidprint.errors import HashFileError, InvalidArgumentError

Readable = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO]
Writable = Union[str, "os.PathLike[str]", BinaryIO]

_CHUNK = 1 << 20


def source_name(src: object) -> str:
    """A human-readable name for an input, used in every error message (paths as given)."""
    if isinstance(src, (str, os.PathLike)):
        return os.fspath(src)  # type: ignore[return-value]
    if isinstance(src, (bytes, bytearray, memoryview)):
        return f"<{len(src)} bytes in memory>"
    name = getattr(src, "name", None)
    if isinstance(name, (str, os.PathLike)):
        return os.fspath(name)  # type: ignore[return-value]
    return f"<{type(src).__name__}>"


def read_bytes(src: Readable, *, max_bytes: int, what: str, source: str | None = None) -> tuple[bytes, str]:
    """The content of ``src`` and its name; at most ``max_bytes`` bytes are accepted.

    Raises :class:`HashFileError` for a missing, unreadable or too large file, and
    :class:`InvalidArgumentError` for an input of another type.
    """
    name = source or source_name(src)
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    elif isinstance(src, (str, os.PathLike)):
        try:
            with open(src, "rb") as f:
                if os.fstat(f.fileno()).st_size > max_bytes:
                    raise HashFileError(name, f"larger than the {max_bytes:,} bytes a {what} can be")
                data = _read_capped(f, max_bytes, name, what)
        except HashFileError:
            raise
        except IsADirectoryError:
            raise HashFileError(name, f"is a directory, not a {what}") from None
        except FileNotFoundError:
            raise HashFileError(name, "no such file") from None
        except OSError as exc:
            raise HashFileError(name, f"cannot read: {exc.strerror or exc}") from None
    elif hasattr(src, "read"):
        data = _read_capped(src, max_bytes, name, what)  # type: ignore[arg-type]
    else:
        raise InvalidArgumentError(name, f"cannot read a {what} from a {type(src).__name__}: give a path, "
                                         "bytes or a binary file object")
    if len(data) > max_bytes:
        raise HashFileError(name, f"larger than the {max_bytes:,} bytes a {what} can be")
    return data, name


def _read_capped(f: BinaryIO, max_bytes: int, name: str, what: str) -> bytes:
    parts, total = [], 0
    while total <= max_bytes:
        chunk = f.read(min(_CHUNK, max_bytes + 1 - total))
        if isinstance(chunk, str):
            raise InvalidArgumentError(name, f"a {what} is read from a binary file object, got a text one")
        if not chunk:
            break
        parts.append(bytes(chunk))
        total += len(chunk)
    return b"".join(parts)


def write_bytes(target: Writable, data: bytes) -> None:
    """Write ``data`` to a path (atomically) or to a binary file object."""
    if isinstance(target, (str, os.PathLike)):
        atomic_write(target, data)
    elif hasattr(target, "write"):
        target.write(data)  # type: ignore[union-attr]
    else:
        raise InvalidArgumentError(source_name(target), f"cannot write to a {type(target).__name__}: give a "
                                                        "path or a binary file object")


class EncodedValue:
    """Value semantics for a frozen type with a canonical ``to_bytes()`` encoding: ``==`` compares
    the encodings (through their SHA-256, computed once per instance) and ``hash`` agrees with it."""

    __slots__ = ()

    def to_bytes(self) -> bytes:  # pragma: no cover - provided by the concrete type
        raise NotImplementedError

    def _value_key(self) -> bytes:
        key = self.__dict__.get("_digest")
        if key is None:
            import hashlib

            key = hashlib.sha256(self.to_bytes()).digest()
            object.__setattr__(self, "_digest", key)  # frozen dataclasses: a cache, not state
        return key

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self is other or self._value_key() == other._value_key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._value_key())
