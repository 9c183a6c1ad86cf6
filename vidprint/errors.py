"""Exceptions raised by vidprint. Every error names its source and the reason."""
from __future__ import annotations


class VidprintError(Exception):
    """Base class of every error vidprint raises on purpose."""


class DecodeError(VidprintError):
    """A video could not be decoded: no video stream, corrupt or truncated data, zero frames."""

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class HashFileError(VidprintError):
    """A hash file (.tmk, vPDQ text) is malformed. ``line`` is 1-based when known."""

    def __init__(self, source: str, reason: str, line: int | None = None):
        self.source = source
        self.reason = reason
        self.line = line
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")
