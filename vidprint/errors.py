"""Exceptions raised by vidprint: one hierarchy, every error names its source and the reason.

``VidprintError`` is the base of all of them; catching it catches every failure vidprint raises on
purpose. Errors that are also wrong arguments subclass :class:`ValueError` too, so generic code
that expects a ``ValueError`` keeps working.
"""
from __future__ import annotations


class VidprintError(Exception):
    """Base class of every error vidprint raises on purpose.

    ``source`` names what failed (a file path, ``<N bytes in memory>``, an index folder, an
    argument name) and ``reason`` says why, in words.
    """

    def __init__(self, source: str, reason: str):
        self.source = str(source)
        self.reason = str(reason)
        super().__init__(f"{self.source}: {self.reason}")

    def __reduce__(self):  # picklable across processes (batch workers, Dask)
        return (type(self), (self.source, self.reason))


class DecodeError(VidprintError):
    """A video could not be decoded: no video stream, corrupt data, zero frames, a resource limit."""


class HashFileError(VidprintError):
    """A hash file (.tmk, .vptc, vPDQ text, a saved fingerprint) is missing or malformed.

    ``line`` is 1-based when known.
    """

    def __init__(self, source: str, reason: str, line: int | None = None):
        self.line = line
        super().__init__(source, reason)
        if line is not None:
            self.args = (f"{self.source}:{line}: {self.reason}",)

    def __reduce__(self):
        return (type(self), (self.source, self.reason, self.line))


class IncompatibleDescriptorsError(VidprintError, ValueError):
    """Two descriptors cannot be scored against each other (different profiles, or the reference's
    "immiscible provenances": different fps, periods, coefficients or dimension)."""

    def __init__(self, reason: str, source: str = "descriptors"):
        super().__init__(source, reason)

    def __reduce__(self):
        return (type(self), (self.reason, self.source))


class InvalidArgumentError(VidprintError, ValueError):
    """An argument is out of range or of the wrong type; ``source`` names the argument."""


class IndexStoreError(VidprintError):
    """A fingerprint index cannot be opened, read or written: damaged, truncated, foreign, locked."""


class IndexLockedError(IndexStoreError):
    """Another process holds the index's writer lock; ``pid`` is the holder's process id when known."""

    def __init__(self, source: str, reason: str, pid: int | None = None):
        self.pid = pid
        super().__init__(source, reason)

    def __reduce__(self):
        return (type(self), (self.source, self.reason, self.pid))
