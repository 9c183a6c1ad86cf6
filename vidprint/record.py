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
                       vPDQ metadata (``fps``, ``every_seconds``, ``size``, ``pruned``),
                       ``content_area`` (``bars_fraction``, ``same_as_compact``) when computed,
                       ``compact_views`` (the names of the stored view descriptors) when computed
``tmk``                uint8: the reference ``.tmk`` bytes (absent if not computed)
``compact``            uint8: the compact ``.vptc`` bytes (absent if not computed)
``compact_content``    uint8: the content-area compact ``.vptc`` bytes (letterbox/pillarbox bars cut,
                       :mod:`vidprint.tmk.bars`); absent when it equals ``compact`` (no frame had bars:
                       meta ``content_area.same_as_compact``) or was not computed (no ``content_area``
                       in meta, as in files written before it existed: loads as None)
``compact_view_<name>``  uint8: the compact ``.vptc`` bytes of view ``<name>`` of the TMK frames
                       (``c95``/``c90``/``c80``: centred zoom views; ``active``: the active region;
                       :mod:`vidprint.tmk.views`); absent (no ``compact_views`` in meta) in files written
                       before views existed: loads as None
``vpdq_words``         uint64[N, 4] PDQ hashes; ``vpdq_quality`` int32[N]; ``vpdq_frames`` int64[N];
                       ``vpdq_timestamps`` float64[N] seconds (absent if vPDQ was not computed)
``dihedral_<name>``    uint64[N, 4] per dihedral variant (only with ``dihedral=True``)
``vpdq_content_words``  uint64[N, 4] and ``vpdq_content_quality`` int32[N]: PDQ of each vPDQ frame's
                       content area (letterbox / pillarbox bars cut; a frame without bars repeats its
                       own hash), same frames as ``vpdq_words``; absent when no frame had bars
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
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from vidprint.decode import DecodeReport, VideoInfo
from vidprint.errors import HashFileError, InvalidArgumentError
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
        compact_content: the compact descriptor of the frames' *content area* (flat letterbox /
            pillarbox bars cut per frame, :mod:`vidprint.tmk.bars`), from the same 64x64 TMK frames;
            the same object as ``compact`` when no frame had bars; None where not computed (files
            and index entries written before it existed, descriptor-only inputs).
        bars_fraction: fraction of the TMK frames (0..1) that had bars cut, None where not computed.
        compact_views: view name -> compact descriptor of that *view* of the TMK frames (a read-only
            mapping; :mod:`vidprint.tmk.views`): ``"c95"``/``"c90"``/``"c80"`` the centred 95% / 90% /
            80% (zoom views: a centred crop of the video matches them), ``"active"`` the active region (only
            for videos moving inside a static border, as a picture-in-picture copy); None where not
            computed (files and index entries written before views existed, descriptor-only inputs).
        vpdq: per-frame PDQ hashes (:class:`vidprint.vpdq.VPDQHash`).
        decoded_frames: frames the decoder produced (all streams' sources agree).
        vpdq_dihedral: variant name -> ``uint64[N, 4]`` hashes of the 8 dihedral variants of every
            vPDQ frame, frames as in ``vpdq`` (only with ``dihedral=True``).
        vpdq_content: PDQ hashes of the *content area* of each vPDQ frame (flat letterbox / pillarbox
            bars cut per frame, :func:`vidprint.tmk.bars.detect_bars_plane`; a frame without bars
            keeps its own hash), frames as in ``vpdq``; None when no frame had bars (or not computed).
            :func:`vidprint.matching.clip_evidence` aligns them too when this is the query side.
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
    compact_content: CompactDescriptor | None = None
    bars_fraction: float | None = None
    compact_views: Mapping[str, CompactDescriptor] | None = None
    vpdq_content: VPDQHash | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "compact_views", _frozen_views(self.compact_views))
        if self.vpdq_content is not None and (self.vpdq is None or len(self.vpdq_content) != len(self.vpdq)):
            raise InvalidArgumentError("vpdq_content", "content-area hashes need one hash per vPDQ frame")
        if self.compact_content is not None and self.compact is not None and self.compact_content is not self.compact \
                and self.compact_content == self.compact:
            object.__setattr__(self, "compact_content", self.compact)  # one object: "no bars" is visible
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
                self.native_conversion, _report_dict(self.decode_report), self.compact_content, self.bars_fraction,
                None if self.compact_views is None else tuple(sorted(self.compact_views.items())),
                self.vpdq_content)

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
        if self.compact_content is not None and self.compact_content is not self.compact:
            kinds.append(f"content-area[{self.bars_fraction or 0:.0%} bars]")
        if self.compact_views:
            kinds.append(f"views[{','.join(self.compact_views)}]")
        if self.vpdq is not None:
            kinds.append(f"vpdq[{len(self.vpdq)}]")
        if self.vpdq_content is not None:
            kinds.append("vpdq-content-area")
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
        if self.compact_content is not None:
            same = self.compact_content is self.compact
            meta["content_area"] = {"bars_fraction": self.bars_fraction, "same_as_compact": same}
            if not same:
                arrays["compact_content"] = np.frombuffer(self.compact_content.to_bytes(), dtype=np.uint8)
        if self.compact_views is not None:
            meta["compact_views"] = list(self.compact_views)
            for view, d in self.compact_views.items():
                arrays[f"compact_view_{view}"] = np.frombuffer(d.to_bytes(), dtype=np.uint8)
        if self.vpdq is not None:
            v = self.vpdq
            arrays.update(vpdq_words=v.words, vpdq_quality=v.quality, vpdq_frames=v.frame_numbers,
                          vpdq_timestamps=v.timestamps)
            meta["vpdq"] = {k: val for k, val in v.metadata().items() if k != "source"}
        for name, words in (self.vpdq_dihedral or {}).items():
            arrays[f"dihedral_{name}"] = words
        if self.vpdq_content is not None and self.vpdq is not None:
            arrays.update(vpdq_content_words=self.vpdq_content.words, vpdq_content_quality=self.vpdq_content.quality)
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
    compact_content, bars_fraction = _content_area(meta.get("content_area"), compact, array, name)
    compact_views = _views_from(meta.get("compact_views"), array, name)
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
    vcontent = None
    cwords = array("vpdq_content_words", False)
    if cwords is not None:
        if vh is None:
            raise HashFileError(name, "content-area vPDQ hashes without vPDQ hashes")
        try:
            vcontent = dataclasses.replace(vh, words=cwords, quality=array("vpdq_content_quality"))
        except (ValueError, TypeError) as exc:
            raise HashFileError(name, f"bad content-area vPDQ arrays ({exc})") from None
        if not ((vcontent.quality >= 0) & (vcontent.quality <= 100)).all():
            raise HashFileError(name, "content-area vPDQ qualities must be within 0..100")
    content_id = meta.get("content_id")
    if content_id is not None and not (isinstance(content_id, str) and len(content_id) == 64):
        raise HashFileError(name, f"content_id must be a SHA-256 hex digest, got {content_id!r:.80}")
    if decoded < 0:
        raise HashFileError(name, f"bad decoded frame count {decoded!r}")
    return Fingerprint(source=info.source, info=info, tmk=tmk, compact=compact, vpdq=vh, decoded_frames=decoded,
                       vpdq_dihedral=dihedral, native_conversion=meta.get("native_conversion"),
                       content_id=content_id,
                       decode_report=_report_from_dict(meta.get("decode_report"), info.source, name),
                       compact_content=compact_content, bars_fraction=bars_fraction, compact_views=compact_views,
                       vpdq_content=vcontent)


def _content_area(d: Any, compact: CompactDescriptor | None, array: Any,
                  name: str) -> tuple[CompactDescriptor | None, float | None]:
    """The content-area descriptor and bars fraction from the metadata's ``content_area`` (absent in
    files written before it existed: None, None)."""
    if d is None:
        return None, None
    if not isinstance(d, dict) or not isinstance(d.get("same_as_compact"), bool):
        raise HashFileError(name, "bad content_area in the metadata")
    frac = d.get("bars_fraction")
    if frac is not None and (isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 <= frac <= 1):
        raise HashFileError(name, f"bars_fraction must be a number in [0, 1], got {frac!r:.40}")
    if d["same_as_compact"]:
        if compact is None:
            raise HashFileError(name, "content_area says same_as_compact but there is no compact descriptor")
        return compact, None if frac is None else float(frac)
    raw = array("compact_content")
    return CompactDescriptor.from_bytes(raw.tobytes(), source=f"{name}:compact_content"), \
        None if frac is None else float(frac)


# -- views of the compact descriptor (vidprint.tmk.views) ------------------------------------------
#: A view name: lower-case letters, digits, "_" or "-" (it becomes a ``.vpfp`` member name).
_VIEW_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


def _is_view_name(v: Any) -> bool:
    return isinstance(v, str) and 0 < len(v) <= 32 and set(v) <= _VIEW_NAME_CHARS


def _frozen_views(views: Mapping[str, CompactDescriptor] | None) -> Mapping[str, CompactDescriptor] | None:
    """A read-only copy of ``compact_views`` (names checked, insertion order kept), or None."""
    if views is None:
        return None
    out = {}
    for view, d in dict(views).items():
        if not _is_view_name(view):
            raise ValueError(f"compact_views: bad view name {view!r:.40} (lower-case letters, digits, '_', '-')")
        if not isinstance(d, CompactDescriptor):
            raise TypeError(f"compact_views[{view!r}] must be a CompactDescriptor, got {type(d).__name__}")
        out[view] = d
    return _ReadOnlyViews(out)


class _ReadOnlyViews(Mapping):
    """A read-only ``name -> CompactDescriptor`` mapping that pickles (a batch sends fingerprints
    between processes; ``types.MappingProxyType`` does not pickle)."""

    __slots__ = ("_d",)

    def __init__(self, d: dict[str, CompactDescriptor]) -> None:
        self._d = dict(d)

    def __getitem__(self, key: str) -> CompactDescriptor:
        return self._d[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __repr__(self) -> str:
        return f"{{{', '.join(f'{k!r}: {v!r}' for k, v in self._d.items())}}}"

    def __getstate__(self) -> dict[str, CompactDescriptor]:
        return self._d

    def __setstate__(self, d: dict[str, CompactDescriptor]) -> None:
        self._d = dict(d)


def _views_from(names: Any, array: Any, name: str) -> Mapping[str, CompactDescriptor] | None:
    """The view descriptors listed by the metadata's ``compact_views`` (absent in files written
    before views existed: None)."""
    if names is None:
        return None
    if not isinstance(names, list) or not all(_is_view_name(v) for v in names) or len(set(names)) != len(names):
        raise HashFileError(name, "bad compact_views in the metadata (a list of distinct view names)")
    return {v: CompactDescriptor.from_bytes(array(f"compact_view_{v}").tobytes(), source=f"{name}:compact_view_{v}")
            for v in names}
