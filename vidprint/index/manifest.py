"""The manifest: the one small file that says which segments make up an index, and their checksums.

``MANIFEST.json`` is the only file ever replaced; it is written to a temporary file, fsynced, renamed
over the old one and the folder is fsynced, so after a crash it is either the old or the new one.
It carries its own sha256 (of its canonical JSON without the ``checksum`` field), so a torn or
bit-flipped manifest is refused instead of being half-believed.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidprint.errors import IndexStoreError

MANIFEST_NAME = "MANIFEST.json"
FORMAT = "vidprint-index"
VERSION = 1


@dataclass(frozen=True)
class SegmentRecord:
    """One committed segment file as the manifest records it."""

    file: str  # name inside the index folder
    seq: int  # generation of the commit that wrote it (tombstones with generation >= seq apply)
    bytes: int  # file size
    sha256: str  # of the whole file (checked by a full verification)
    entries: int
    frames: int  # vPDQ frame hashes
    datasets: dict[str, str] = field(default_factory=dict)  # dataset path -> sha256 of its raw bytes

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "seq": self.seq, "bytes": self.bytes, "sha256": self.sha256,
                "entries": self.entries, "frames": self.frames, "datasets": dict(self.datasets)}


@dataclass(frozen=True)
class Manifest:
    """A committed state of an index: its segments and tombstones (``id -> generation removed``)."""

    generation: int
    segments: tuple[SegmentRecord, ...]
    tombstones: dict[str, int]
    created_by: str = "vidprint"

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "created_by": self.created_by,
                "generation": self.generation,
                "segments": [s.to_json() for s in self.segments],
                "tombstones": dict(sorted(self.tombstones.items()))}


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def encode(m: Manifest) -> bytes:
    body = m.to_json()
    body["checksum"] = _digest(body)
    return (json.dumps(body, sort_keys=True, indent=1) + "\n").encode()


def decode(data: bytes, source: str) -> Manifest:
    """Parse and check a manifest; :class:`IndexStoreError` naming ``source`` when it is not one."""
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexStoreError(source, f"manifest is not valid JSON (damaged or truncated): {exc}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise IndexStoreError(source, f"not a vidprint index manifest (format {body.get('format') if isinstance(body, dict) else None!r})")
    if body.get("version") != VERSION:
        raise IndexStoreError(source, f"unsupported index version {body.get('version')!r} (this vidprint reads {VERSION})")
    checksum = body.pop("checksum", None)
    if checksum != _digest(body):
        raise IndexStoreError(source, "manifest checksum mismatch (the file was modified or damaged)")
    try:
        segs = tuple(
            SegmentRecord(str(s["file"]), int(s["seq"]), int(s["bytes"]), str(s["sha256"]), int(s["entries"]),
                          int(s["frames"]), {str(k): str(v) for k, v in s.get("datasets", {}).items()})
            for s in body["segments"])
        tomb = {str(k): int(v) for k, v in body["tombstones"].items()}
        m = Manifest(int(body["generation"]), segs, tomb, str(body.get("created_by", "")))
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexStoreError(source, f"manifest has a missing or malformed field: {exc!r}") from None
    for s in m.segments:
        if "/" in s.file or s.file.startswith("."):
            raise IndexStoreError(source, f"segment name {s.file!r} is not a plain file name")
    return m


def read(folder: Path) -> Manifest:
    path = folder / MANIFEST_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IndexStoreError(str(folder), f"not an index: {MANIFEST_NAME} is missing") from None
    except OSError as exc:
        raise IndexStoreError(str(path), f"cannot read the manifest: {exc.strerror}") from None
    return decode(data, str(path))


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write(folder: Path, m: Manifest) -> None:
    """Replace the manifest atomically and durably (write, fsync, rename, fsync the folder)."""
    raw = encode(m)
    fd, tmp = tempfile.mkstemp(prefix=f".{MANIFEST_NAME}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / MANIFEST_NAME)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(folder)
