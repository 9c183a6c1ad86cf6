"""vPDQ text files (reference format, docs/algorithms.md §5.2), metadata sidecars and the
python-threatexchange JSON signal string.

Reference text format: one line per hashed frame, ascending frame order, no header::

    <frame_number>,<quality>,<64 lowercase hex digits>,<timestamp seconds, %.3f>\\n

Reading then writing a reference file reproduces it byte for byte.

Metadata decision (``fps``, ``every_seconds``, ``size``, ``pruned``; never the source path, since hash
files are shared and a path says who had what): the text file stays
strictly in the reference format, and the metadata goes to a JSON **sidecar** ``PATH.json`` next to
``PATH`` (``chair.txt`` -> ``chair.txt.json``). Rationale: the reference C++ loader rejects lines with
fewer than 4 fields (so comment/header lines break it) and other readers (python scripts that unpack
exactly 4 fields) break on extra fields, so nothing can be added inside the ``.txt`` safely. The sidecar
records ``frames`` and the SHA-256 of the text it describes; :func:`read` ignores (with a warning) a
sidecar that does not describe the text next to it, e.g. after another tool rewrote the ``.txt``.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from vidprint.atomic import atomic_write
from vidprint.errors import HashFileError, InvalidArgumentError
from vidprint.fileio import Readable, read_bytes
from vidprint.pdqf.hash import hexes_to_words, words_to_hexes
from vidprint.vpdq.features import VPDQHash

_HEX = frozenset("0123456789abcdefABCDEF")
_DIGITS = frozenset("0123456789")
SIDECAR_SUFFIX = ".json"
SIDECAR_FORMAT = "vidprint.vpdq.meta"
SIDECAR_VERSION = 1
_META_KEYS = ("fps", "every_seconds", "size", "pruned", "source")
#: Largest frame number (and quality field) a vPDQ file may hold: frame numbers are stored as int64.
MAX_FRAME_NUMBER = 2**63 - 1


def _parse_int(text: str, what: str, source: str, line: int) -> int:
    body = text[1:] if text[:1] in "+-" else text
    if not body or not _DIGITS.issuperset(body):
        raise HashFileError(source, f"{what} is not an integer: {text!r:.40}", line=line)
    if len(body) > 19:  # int64 holds 18 digits and more; refuse before int() of a huge string
        raise HashFileError(source, f"{what} {text!r:.40} is too large (at most {MAX_FRAME_NUMBER})", line=line)
    value = int(text)
    if value < 0:
        raise HashFileError(source, f"negative {what}: {value}", line=line)
    if value > MAX_FRAME_NUMBER:
        raise HashFileError(source, f"{what} {value} is too large (at most {MAX_FRAME_NUMBER})", line=line)
    return value


def parse_text(text: str, source: str = "<text>") -> VPDQHash:
    """Parse reference vPDQ text. Raises :class:`HashFileError` naming ``source`` and the 1-based line.

    Accepted: exactly 4 comma-separated fields per line, ``\\n`` or ``\\r\\n`` line ends, an optional
    final newline. Rejected: an empty text, empty lines, other field counts (stricter than the
    reference loader, which ignores extra fields), a hash that is not 64 hex digits, a non-integer or
    negative frame number, a quality outside 0..100, a timestamp that is not a finite number >= 0.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise HashFileError(source, "empty hash file (no frames)")
    n = len(lines)
    frames = np.empty(n, dtype=np.int64)
    quality = np.empty(n, dtype=np.int32)
    stamps = np.empty(n, dtype=np.float64)
    hexes: list[str] = [""] * n
    for k, line in enumerate(lines):
        ln = k + 1
        if line.endswith("\r"):
            line = line[:-1]
        fields = line.split(",")
        if len(fields) != 4:
            what = "empty line" if not line.strip() else f"{len(fields)} field(s)"
            raise HashFileError(source, f"{what}; expected 4 fields frame,quality,hex,timestamp", line=ln)
        f_fn, f_q, f_hex, f_ts = fields
        frames[k] = _parse_int(f_fn, "frame number", source, ln)
        q = _parse_int(f_q, "quality", source, ln) if not f_q.startswith("-") else None
        if q is None or q > 100:
            raise HashFileError(source, f"quality {f_q!r:.20} outside 0..100", line=ln)
        quality[k] = q
        if len(f_hex) != 64 or not _HEX.issuperset(f_hex):
            raise HashFileError(source, f"PDQ hash must be 64 hex digits, got {f_hex!r:.80}", line=ln)
        hexes[k] = f_hex
        try:
            ts = float(f_ts)
        except ValueError:
            raise HashFileError(source, f"timestamp is not a number: {f_ts!r:.40}", line=ln) from None
        if not math.isfinite(ts) or ts < 0:
            raise HashFileError(source, f"timestamp must be finite and >= 0, got {f_ts!r:.40}", line=ln)
        stamps[k] = ts
    return VPDQHash(hexes_to_words(hexes), quality, frames, stamps)


def to_text(vh: VPDQHash) -> str:
    """Reference text of ``vh``: ``frame,quality,hex,%.3f`` lines, each ending with ``\\n``."""
    hexes = words_to_hexes(vh.words)
    return "".join(
        f"{int(fn)},{int(q)},{h},{float(ts) + 0.0:.3f}\n"
        for fn, q, h, ts in zip(vh.frame_numbers, vh.quality, hexes, vh.timestamps)
    )


def sidecar_path(path: str | os.PathLike) -> Path:
    """``PATH`` -> ``PATH.json``, where :func:`write` puts the metadata."""
    p = Path(path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def _shared_metadata(vh: VPDQHash) -> dict[str, Any]:
    # The source name is never written: hash files are shared, and a path says who had what.
    return {k: v for k, v in vh.metadata().items() if k != "source"}


def _has_metadata(vh: VPDQHash) -> bool:
    return any(v is not None for v in _shared_metadata(vh).values())


def _sidecar_dict(vh: VPDQHash, text: str) -> dict[str, Any]:
    return {
        "format": SIDECAR_FORMAT,
        "version": SIDECAR_VERSION,
        "frames": len(vh),
        "text_sha256": hashlib.sha256(text.encode("ascii")).hexdigest(),
        **_shared_metadata(vh),
    }


def write(vh: VPDQHash, path: str | os.PathLike, sidecar: bool | None = None) -> None:
    """Write ``vh`` as reference text to ``path``.

    ``sidecar``: True always writes ``PATH.json`` with the metadata, False never does, None (default)
    writes it iff some metadata field is set. When no sidecar is written, an existing ``PATH.json``
    (which would describe the old content) is removed. An empty ``vh`` cannot be written (the
    reference loader rejects empty files).
    """
    if len(vh) == 0:
        raise InvalidArgumentError("vh", "cannot write a vPDQ file with no frames: the reference loader rejects empty files")
    text = to_text(vh)
    path = Path(path)
    atomic_write(path, text)  # a killed writer leaves the old file or the whole new one
    side = sidecar_path(path)
    if sidecar or (sidecar is None and _has_metadata(vh)):
        atomic_write(side, json.dumps(_sidecar_dict(vh, text), indent=1, sort_keys=True) + "\n")
    elif side.exists():
        side.unlink()


def _load_sidecar(side: Path, text: str) -> dict[str, Any] | None:
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise HashFileError(str(side), f"unreadable metadata sidecar: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != SIDECAR_FORMAT:
        raise HashFileError(str(side), f"not a {SIDECAR_FORMAT} sidecar")
    if meta.get("version") != SIDECAR_VERSION:
        raise HashFileError(str(side), f"unsupported sidecar version {meta.get('version')!r}")
    if meta.get("text_sha256") != hashlib.sha256(text.encode("utf-8")).hexdigest():
        warnings.warn(f"{side}: sidecar describes a different text; metadata ignored", stacklevel=3)
        return None
    out = {k: meta.get(k) for k in _META_KEYS}
    size = out["size"]
    if size is not None:
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size)):
            raise HashFileError(str(side), f"size must be [width, height], got {size!r}")
        out["size"] = (size[0], size[1])
    for k in ("fps", "every_seconds"):
        if out[k] is not None and not isinstance(out[k], (int, float)):
            raise HashFileError(str(side), f"{k} must be a number, got {out[k]!r}")
    if out["pruned"] is not None and not isinstance(out["pruned"], dict):
        raise HashFileError(str(side), f"pruned must be an object, got {out['pruned']!r}")
    return out


#: Largest vPDQ text accepted (about 12 million frames: 110 hours at 30 fps hashed every frame).
MAX_TEXT_BYTES = 1 << 30


def read_content(src: Readable, source: str | None = None) -> VPDQHash:
    """Parse reference vPDQ text from bytes, a path or a binary file object (no sidecar applied).

    Raises :class:`HashFileError` naming the source (and line) for a missing, oversized, non-ASCII
    or malformed input.
    """
    return _read_text(src, source)[0]


def _read_text(src: Readable, source: str | None) -> tuple[VPDQHash, str]:
    raw, name = read_bytes(src, max_bytes=MAX_TEXT_BYTES, what="vPDQ text file", source=source)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as e:
        raise HashFileError(name, f"not ASCII text (byte {e.start})") from None
    return parse_text(text, name), text


def read(src: Readable, source: str | None = None) -> VPDQHash:
    """Read a vPDQ text file: a path (``str`` or ``os.PathLike``, always a file name: to parse text
    held in a string use :func:`parse_text`), bytes, or a binary file object.

    With a path, the metadata sidecar ``PATH.json`` is applied if present. Raises
    :class:`HashFileError` (naming the path, or ``source``) for a missing file or malformed input.
    """
    vh, text = _read_text(src, source)
    if not isinstance(src, (str, os.PathLike)):
        return vh
    side = sidecar_path(src)
    if side.is_file():
        meta = _load_sidecar(side, text)
        if meta is not None:
            vh = VPDQHash(vh.words, vh.quality, vh.frame_numbers, vh.timestamps, **meta)
    return vh


# -- python-threatexchange signal string --------------------------------------------------------

def to_signal_str(vh: VPDQHash, indent: int | None = None) -> str:
    """python-threatexchange ``VPDQSignal`` string: a JSON array of ``"hex,quality,timestamp"``
    strings, the timestamp formatted with Python format spec ``.3`` (3 **significant** digits, as
    python-threatexchange does: 18.733 -> ``18.7``). Frame numbers are not represented."""
    hexes = words_to_hexes(vh.words)
    items = [f"{h},{int(q)},{float(ts):.3}" for h, q, ts in zip(hexes, vh.quality, vh.timestamps)]
    return json.dumps(items, indent=indent)


def from_signal_str(signal: str, fps: float | None = None, source: str = "<signal>") -> VPDQHash:
    """Parse a python-threatexchange ``VPDQSignal`` JSON string (inverse of :func:`to_signal_str`).

    The string carries no frame numbers: they are ``round(timestamp * fps)`` if ``fps`` is given,
    otherwise the element index. Timestamps keep their 3-significant-digit precision. Errors raise
    :class:`HashFileError` with ``line`` = 1-based element index. An empty string or ``[]`` gives an
    empty :class:`VPDQHash`, as python-threatexchange returns an empty list.
    """
    try:
        items = json.loads(signal or "[]")
    except json.JSONDecodeError as e:
        raise HashFileError(source, f"not JSON: {e}") from None
    if not isinstance(items, list):
        raise HashFileError(source, "expected a JSON array of strings")
    n = len(items)
    hexes: list[str] = []
    quality = np.empty(n, dtype=np.int32)
    stamps = np.empty(n, dtype=np.float64)
    for k, item in enumerate(items):
        parts = item.split(",") if isinstance(item, str) else None
        if parts is None or len(parts) != 3:
            raise HashFileError(source, f"expected 'hex,quality,timestamp', got {item!r:.80}", line=k + 1)
        h, q, ts = parts
        if len(h) != 64 or not _HEX.issuperset(h):
            raise HashFileError(source, f"PDQ hash must be 64 hex digits, got {h!r:.80}", line=k + 1)
        try:
            qv, tv = int(q), float(ts)
        except ValueError:
            raise HashFileError(source, f"bad quality/timestamp in {item!r:.100}", line=k + 1) from None
        if not 0 <= qv <= 100 or not (math.isfinite(tv) and tv >= 0):
            raise HashFileError(source, f"quality/timestamp out of range in {item!r:.100}", line=k + 1)
        hexes.append(h)
        quality[k] = qv
        stamps[k] = tv
    frames = np.rint(stamps * fps).astype(np.int64) if fps else np.arange(n, dtype=np.int64)
    return VPDQHash(hexes_to_words(hexes), quality, frames, stamps, fps=fps)
