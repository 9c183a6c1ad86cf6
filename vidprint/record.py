"""The :class:`Fingerprint` record (what one video reduces to) and its one-file format, ``.vpfp``.

A fingerprint holds descriptors and hashes only, never pixels. It saves to one file and loads back
equal (``Fingerprint.load(path) == fp``).

``.vpfp`` layout: an uncompressed NumPy ``.npz`` archive (a ZIP of ``.npy`` arrays, readable by any
NumPy with ``allow_pickle=False``):

=====================  ===========================================================================
member                 content
=====================  ===========================================================================
``meta``               uint8: UTF-8 JSON: ``format`` ("vidprint.fingerprint"), ``version`` (1),
                       ``name`` (file name only, never a folder path), ``content_id``, ``info``
                       (stream facts), ``decoded_frames``, ``native_conversion``, ``decode_report``,
                       vPDQ metadata (``fps``, ``every_seconds``, ``size``, ``pruned``)
``tmk``                uint8: the reference ``.tmk`` bytes (absent if not computed)
``compact``            uint8: the compact ``.vptc`` bytes (absent if not computed)
``vpdq_words``         uint64[N, 4] PDQ hashes; ``vpdq_quality`` int32[N]; ``vpdq_frames`` int64[N];
                       ``vpdq_timestamps`` float64[N] seconds (absent if vPDQ was not computed)
``dihedral_<name>``    uint64[N, 4] per dihedral variant (only with ``dihedral=True``)
=====================  ===========================================================================

Every member's size is checked against the ZIP directory before it is read (a hostile file cannot
make the reader allocate without bound), and each descriptor is validated by its own reader.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from vidprint.decode import DecodeReport, VideoInfo
from vidprint.errors import HashFileError
from vidprint.fileio import Readable, Writable, read_bytes, write_bytes
from vidprint.tmk import CompactDescriptor, TMKDescriptor
from vidprint.vpdq import VPDQHash

FORMAT = "vidprint.fingerprint"
VERSION = 1
SUFFIX = ".vpfp"
#: Largest ``.vpfp`` accepted by :meth:`Fingerprint.load` (a 10-hour video hashed every frame at 30 fps
#: with its 8 dihedral variants is about 330 MB).
MAX_FILE_BYTES = 1 << 31


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """What :func:`vidprint.fingerprint` computed for one video (None where not asked for).

    Attributes:
        source: name of the input (a path as given, or ``<N bytes in memory>``); a label, not part of
            equality, and only its file name is saved.
        content_id: SHA-256 hex digest of the input's bytes (paths and bytes inputs; seekable file
            objects too), or None. The index uses it as the default id, so a file is stored once.
        info: what the container says about the video stream (:class:`vidprint.decode.VideoInfo`).
        tmk: the reference TMK+PDQF descriptor (Meta's ``.tmk``).
        compact: vidprint's compact TMK descriptor, from the same frame features.
        vpdq: per-frame PDQ hashes (:class:`vidprint.vpdq.VPDQHash`).
        decoded_frames: frames the decoder produced (all streams' sources agree).
        vpdq_dihedral: variant name -> ``uint64[N, 4]`` hashes of the 8 dihedral variants of every
            vPDQ frame, frames as in ``vpdq`` (only with ``dihedral=True``).
        native_conversion: False if the pixel format went through libswscale (hashes may then differ
            slightly between FFmpeg builds); None if nothing was converted.
        decode_report: what happened while decoding (rejected packets, declared vs decoded frames,
            ...), see :mod:`vidprint.decode`; None where not recorded.

    Equality (``==``) compares everything but ``source``; ``repr`` is one short line.
    """

    source: str
    info: VideoInfo
    tmk: TMKDescriptor | None
    compact: CompactDescriptor | None
    vpdq: VPDQHash | None
    decoded_frames: int
    vpdq_dihedral: dict[str, np.ndarray] | None = None
    native_conversion: bool | None = None
    content_id: str | None = None
    decode_report: DecodeReport | None = None

    def __post_init__(self) -> None:
        if self.vpdq_dihedral is not None:
            frozen = {}
            for name, words in self.vpdq_dihedral.items():
                arr = np.array(words, dtype=np.uint64, order="C", copy=True)
                arr.flags.writeable = False
                frozen[str(name)] = arr
            object.__setattr__(self, "vpdq_dihedral", frozen)

    # -- value semantics ---------------------------------------------------------------------------
    def _key(self) -> tuple:
        info = dataclasses.replace(self.info, source="")
        dihedral = None if self.vpdq_dihedral is None else tuple(
            (k, v.tobytes()) for k, v in sorted(self.vpdq_dihedral.items()))
        return (self.content_id, info, self.tmk, self.compact, self.vpdq, self.decoded_frames, dihedral,
                self.native_conversion, _report_dict(self.decode_report))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fingerprint):
            return NotImplemented
        return self is other or self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.content_id, self.tmk, self.compact, self.vpdq, self.decoded_frames))

    def __repr__(self) -> str:
        parts = [f"{self.decoded_frames} frames"]
        if self.info.duration_s is not None:
            parts.append(f"{self.info.duration_s:.2f} s")
        kinds = [k for k in ("tmk", "compact") if getattr(self, k) is not None]
        if self.vpdq is not None:
            kinds.append(f"vpdq[{len(self.vpdq)}]")
        if self.vpdq_dihedral is not None:
            kinds.append("dihedral")
        parts.append("+".join(kinds) or "empty")
        if self.content_id:
            parts.append(f"sha256 {self.content_id[:12]}")
        if self.decode_report is not None and self.decode_report.warnings:
            parts.append(f"{len(self.decode_report.warnings)} decode warning(s)")
        return f"Fingerprint({self.source!r}, {', '.join(parts)})"

    # -- one-file format ------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The ``.vpfp`` encoding (module docstring)."""
        arrays: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "name": os.path.basename(self.source) if _is_pathlike_name(self.source) else self.source,
            "content_id": self.content_id,
            "info": {k: v for k, v in dataclasses.asdict(self.info).items() if k != "source"},
            "decoded_frames": int(self.decoded_frames),
            "native_conversion": self.native_conversion,
            "decode_report": _report_dict(self.decode_report),
        }
        if self.tmk is not None:
            arrays["tmk"] = np.frombuffer(self.tmk.to_bytes(), dtype=np.uint8)
        if self.compact is not None:
            arrays["compact"] = np.frombuffer(self.compact.to_bytes(), dtype=np.uint8)
        if self.vpdq is not None:
            v = self.vpdq
            arrays.update(vpdq_words=v.words, vpdq_quality=v.quality, vpdq_frames=v.frame_numbers,
                          vpdq_timestamps=v.timestamps)
            meta["vpdq"] = {k: val for k, val in v.metadata().items() if k != "source"}
        for name, words in (self.vpdq_dihedral or {}).items():
            arrays[f"dihedral_{name}"] = words
        arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    def save(self, path: Writable) -> None:
        """Write the ``.vpfp`` encoding to a path (atomically) or a binary file object."""
        write_bytes(path, self.to_bytes())

    write = save

    @classmethod
    def from_bytes(cls, data: Readable, source: str | None = None) -> "Fingerprint":
        """Parse a ``.vpfp`` encoding from bytes, a path or a binary file object."""
        raw, name = read_bytes(data, max_bytes=MAX_FILE_BYTES, what="fingerprint (.vpfp) file", source=source)
        return _parse(raw, name)

    @classmethod
    def load(cls, src: Readable) -> "Fingerprint":
        """Read a fingerprint saved with :meth:`save` (path, bytes or binary file object)."""
        return cls.from_bytes(src)

    read = load


def _is_pathlike_name(name: str) -> bool:
    return not (name.startswith("<") and name.endswith(">"))


def _report_dict(report: DecodeReport | None) -> dict[str, Any] | None:
    # The report's source is the input's name (a path): never saved, not part of equality.
    if report is None:
        return None
    return {k: v for k, v in report.to_dict().items() if k != "source"}


def _report_from_dict(d: Any, name: str, source: str) -> DecodeReport | None:
    if d is None:
        return None
    fields = {f.name for f in dataclasses.fields(DecodeReport)} - {"source"}
    if not isinstance(d, dict) or not set(d) <= fields:
        raise HashFileError(source, "bad decode report in the metadata")
    try:
        return DecodeReport(source=name, **{**d, "warnings": tuple(str(w) for w in d.get("warnings", ()))})
    except TypeError as exc:
        raise HashFileError(source, f"bad decode report in the metadata ({exc})") from None


def _parse(raw: bytes, name: str) -> Fingerprint:
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        members = {i.filename: i for i in zf.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise HashFileError(name, f"not a vidprint fingerprint file ({exc})") from None
    total = sum(i.file_size for i in members.values())
    if total > MAX_FILE_BYTES:
        raise HashFileError(name, f"members claim {total:,} bytes, more than {MAX_FILE_BYTES:,}")

    def array(key: str, required: bool = True) -> np.ndarray | None:
        info = members.get(f"{key}.npy")
        if info is None:
            if required:
                raise HashFileError(name, f"member {key!r} is missing")
            return None
        try:
            with zf.open(info) as f:
                return np.lib.format.read_array(f, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise HashFileError(name, f"member {key!r} is damaged ({exc})") from None

    try:
        meta = json.loads(array("meta").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HashFileError(name, f"metadata is not JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise HashFileError(name, f"not a {FORMAT} file")
    if meta.get("version") != VERSION:
        raise HashFileError(name, f"unsupported fingerprint format version {meta.get('version')!r}")
    try:
        info = VideoInfo(source=meta.get("name") or name, **meta["info"])
        decoded = int(meta["decoded_frames"])
    except (KeyError, TypeError, ValueError) as exc:
        raise HashFileError(name, f"bad stream information in the metadata ({exc})") from None

    tmk_raw, compact_raw = array("tmk", False), array("compact", False)
    tmk = TMKDescriptor.from_bytes(tmk_raw.tobytes()) if tmk_raw is not None else None
    compact = CompactDescriptor.from_bytes(compact_raw.tobytes(), source=name) if compact_raw is not None else None
    vh = None
    words = array("vpdq_words", False)
    if words is not None:
        vmeta = meta.get("vpdq") or {}
        size = vmeta.get("size")
        try:
            vh = VPDQHash(words, array("vpdq_quality"), array("vpdq_frames"), array("vpdq_timestamps"),
                          fps=vmeta.get("fps"), every_seconds=vmeta.get("every_seconds"),
                          size=tuple(size) if size else None, pruned=vmeta.get("pruned"),
                          source=meta.get("name"))
        except (ValueError, TypeError) as exc:
            raise HashFileError(name, f"bad vPDQ arrays ({exc})") from None
        if not (np.isfinite(vh.timestamps).all() and ((vh.quality >= 0) & (vh.quality <= 100)).all()):
            raise HashFileError(name, "vPDQ timestamps must be finite and qualities within 0..100")
    dihedral = {k[len("dihedral_"):-4]: array(k[:-4]) for k in members if k.startswith("dihedral_")} or None
    if dihedral is not None and vh is not None and any(v.shape != vh.words.shape for v in dihedral.values()):
        raise HashFileError(name, "dihedral variants do not have one hash per vPDQ frame")
    content_id = meta.get("content_id")
    if content_id is not None and not (isinstance(content_id, str) and len(content_id) == 64):
        raise HashFileError(name, f"content_id must be a SHA-256 hex digest, got {content_id!r:.80}")
    if decoded < 0:
        raise HashFileError(name, f"bad decoded frame count {decoded!r}")
    return Fingerprint(source=info.source, info=info, tmk=tmk, compact=compact, vpdq=vh, decoded_frames=decoded,
                       vpdq_dihedral=dihedral, native_conversion=meta.get("native_conversion"),
                       content_id=content_id,
                       decode_report=_report_from_dict(meta.get("decode_report"), info.source, name))
