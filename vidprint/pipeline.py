"""The whole fingerprint of a video from one decoding pass: TMK+PDQF and vPDQ together.

:func:`fingerprint` is the main entry point (``vidprint.fingerprint``); :func:`hash_tmk`,
:func:`hash_vpdq` and :func:`hash_vpdq_dihedral` are shortcuts for one kind of descriptor.

decode (:mod:`vidprint.decode`) -> per-frame features (:mod:`vidprint.pdqf`) -> descriptors
(:mod:`vidprint.tmk`, :mod:`vidprint.vpdq`). Frames are hashed on worker threads (the Numba kernels
release the GIL) while the decoder goes on, with a bounded number of batches in flight, so memory
stays flat however long the video is.
"""
from __future__ import annotations

import copy
import hashlib
import io
import math
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np

from vidprint.decode import DecodeStats, FrameBatch, TMKSource, VPDQSource, read_frames
from vidprint.decode.container import Source, source_name
from vidprint.errors import InvalidArgumentError
from vidprint.pdqf import DIHEDRAL_NAMES, hash_luma_batch, hash_luma_dihedral_batch, hash_yuv420p_batch, pdqf_luma_batch
from vidprint.tmk import CompactAccumulator, CompactDescriptor, TMKAccumulator, TMKDescriptor
from vidprint.tmk.bars import content_features, detect_bars_plane
from vidprint.tmk.views import ViewAccumulator
from vidprint.record import Fingerprint
from vidprint.vpdq import VPDQHash

__all__ = ["Fingerprint", "Progress", "content_id", "fingerprint", "hash_tmk", "hash_vpdq", "hash_vpdq_dihedral"]


@dataclass(frozen=True)
class Progress:
    """Passed to ``fingerprint(..., progress=callback)`` after each batch of frames is hashed.

    Attributes:
        frames: frames of the video decoded so far (the decoder's numbering of the vPDQ source, or
            the 15 fps TMK clock when vPDQ is off).
        seconds: seconds of video hashed so far.
        total_seconds: the container's duration, or None when it does not say.
    """

    frames: int
    seconds: float
    total_seconds: float | None


ProgressCallback = Callable[[Progress], None]

#: Hashing results in flight per worker thread (bounded: memory stays flat while decoding goes on).
_IN_FLIGHT_PER_WORKER = 2


def _tmk_features(batch: FrameBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """PDQF of the 64x64 TMK frames, their times, the PDQF of their content areas (bars cut; the
    same rows where a frame has no bars, :func:`vidprint.tmk.bars.content_features`) and how many
    frames had bars."""
    luma = np.ascontiguousarray(batch.luma)
    features = pdqf_luma_batch(luma)
    content, bars = content_features(luma, features=features)
    return features, batch.time, content, int(bars.any(axis=1).sum())


def _vpdq_hashes(batch: FrameBatch):
    """PDQ of the vPDQ frames, and of their content areas (:func:`_content_hashes`)."""
    h, w = batch.shape
    planes = batch.planes420()  # native-size 4:2:0: hash straight from the YUV planes (no luma plane)
    if planes is not None:
        words, quality = hash_yuv420p_batch(planes, w, h)
        bars = [detect_bars_plane(p[0][:h, :w]) for p in planes]  # on the Y plane: no luma needed
    else:
        words, quality = hash_luma_batch(np.ascontiguousarray(batch.luma))
        bars = [detect_bars_plane(y) for y in batch.luma]
    return (words, quality, batch.index, batch.time) + _content_hashes(batch, bars, words, quality)


def _content_hashes(batch: FrameBatch, bars: list[tuple[int, int, int, int]], words: np.ndarray,
                    quality: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """PDQ of each frame's content area (flat letterbox / pillarbox bars cut,
    :func:`vidprint.tmk.bars.detect_bars_plane`): ``(words uint64[n, 4], quality int32[n], frames
    with bars)``; a frame without bars keeps its own hash. Only frames with bars are converted to
    luma (at native size, once per batch) and hashed again."""
    h, w = batch.shape
    cut = [k for k, (t, b, l, r) in enumerate(bars)
           if (t or b or l or r) and min(h - t - b, w - l - r) >= _MIN_CONTENT_PIXELS]
    if not cut:
        return words, quality, 0
    cwords, cquality = words.copy(), quality.copy()
    luma = batch.luma
    groups: dict[tuple[int, int, int, int], list[int]] = {}
    for k in cut:
        groups.setdefault(bars[k], []).append(k)
    for (t, b, l, r), rows in groups.items():
        cw, cq = hash_luma_batch(np.ascontiguousarray(luma[rows, t:h - b, l:w - r]))
        cwords[rows], cquality[rows] = cw, cq
    return cwords, cquality, len(cut)


#: A content area narrower than this (pixels) is not hashed on its own (the frame keeps its hash).
_MIN_CONTENT_PIXELS = 16


def _vpdq_dihedral_hashes(batch: FrameBatch):
    luma = np.ascontiguousarray(batch.luma)
    words, quality = hash_luma_dihedral_batch(luma)
    bars = [detect_bars_plane(y) for y in luma]
    return (words, quality, batch.index, batch.time) + _content_hashes(batch, bars, words[:, 0], quality)


def _with_views(tmk_work: Callable, vacc: ViewAccumulator) -> Callable:
    """``tmk_work`` plus the zoom views' PDQF of the same TMK frames, on the same worker thread:
    ``batch -> (tmk_work(batch), (luma, times, zoom features))`` (undone by :func:`_feed_views`)."""
    def work(batch: FrameBatch):
        luma = np.ascontiguousarray(batch.luma)
        return tmk_work(batch), (luma, batch.time, vacc.zoom_features(luma))
    return work


def _feed_views(vacc: ViewAccumulator | None, result):
    """Feed the view part of a :func:`_with_views` result to ``vacc`` (on the consuming thread, in
    frame order) and return the rest; ``result`` as is without views."""
    if vacc is None:
        return result
    result, (luma, times, zooms) = result
    vacc.update(luma, times, zoom_features=zooms)
    return result


class _Inline:
    """A stand-in for a one-thread executor: runs each call at once on the calling thread."""

    def __enter__(self) -> "_Inline":
        return self

    def __exit__(self, *exc) -> None:
        return None

    @staticmethod
    def submit(fn: Callable, *args) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 -- raised again by fut.result(), as a pool would
            fut.set_exception(exc)
        return fut


def fingerprint(
    src: Source,
    *,
    tmk: bool = True,
    vpdq: bool = True,
    every_seconds: float = 0.0,
    size: int | None = None,
    scaler: str = "area",
    dihedral: bool = False,
    name: str | None = None,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    strict: bool = False,
    max_bytes: int | None = None,
    views: bool = True,
) -> Fingerprint:
    """Decode ``src`` once and compute the TMK+PDQF descriptors and/or the vPDQ hashes.

    ``src`` is a path, ``bytes`` or a binary file object (nothing is written to disk). Returns a
    :class:`~vidprint.record.Fingerprint`; raises :class:`vidprint.DecodeError` naming the source and
    the reason when no frame can be hashed, and :class:`vidprint.errors.InvalidArgumentError` for an
    argument out of range.

    Parameters
    ----------
    tmk, vpdq : bool
        Which fingerprints to compute (``tmk`` gives both TMK profiles, reference and compact).
    every_seconds : float
        vPDQ sampling interval in seconds (0 = every frame, the reference default).
    size : int or None
        vPDQ frame size: None = native, else frames are squashed to ``size`` x ``size`` with ``scaler``.
    workers : int or None
        Threads for this video: ``workers`` hashing threads and a decoder limited to ``workers``
        threads (default: one hashing thread per CPU and FFmpeg's automatic decoder threads). A batch
        that hashes one file per CPU in parallel passes 1: files in parallel cost less CPU per frame
        than threads inside one file.
    dihedral : bool
        Also hash the 8 dihedral variants of every vPDQ frame (rotations and flips, from one DCT;
        docs/algorithms.md §1.9), for :func:`vidprint.vpdq.align` ``dihedral=``. The plain hashes then come from
        the dihedral entry point, which blurs even 64x64 frames.
    name : str or None
        Label used in error messages and ``Fingerprint.source`` (default: the path as given).
    progress : callable or None
        Called on the calling thread with a :class:`Progress` after each hashed batch (a few
        times per second of video), e.g. to drive a progress bar.
    strict : bool
        False (default): decode like FFmpeg's tools (skip rejected or empty packets, hash the frames a
        truncated file holds) and record every irregularity in ``Fingerprint.decode_report``.
        True: any irregularity is a :class:`vidprint.DecodeError` (see docs/decoding.md).
    max_bytes : int or None
        For a non-seekable input (a pipe) whose container needs to seek: buffer at most this many
        bytes in memory (default :data:`vidprint.decode.container.MAX_BUFFER_BYTES`), then fail clearly.
    views : bool
        With ``tmk``: also describe *views* of the same 64x64 TMK frames (``Fingerprint.compact_views``,
        :mod:`vidprint.tmk.views`): the centred 90% and 80% (a centred crop of this video matches
        them) and, for a video moving inside a static border (picture-in-picture), its active
        region. Measured cost and gain: docs/eval-views.md.
    """
    if not isinstance(views, bool):
        raise InvalidArgumentError("views", f"must be True or False, got {views!r}")
    _check_arguments(tmk, vpdq, every_seconds, size, scaler, workers, progress)
    if not isinstance(src, (str, os.PathLike, bytes, bytearray, memoryview)) and not hasattr(src, "read"):
        raise InvalidArgumentError("src", f"expected a path, bytes or a binary file object, got {type(src).__name__}")
    name = name or source_name(src)
    cid = content_id(src)
    sources: dict[str, TMKSource | VPDQSource] = {}
    if tmk:
        sources["tmk"] = TMKSource()
    if vpdq:
        sources["vpdq"] = VPDQSource(every_seconds=every_seconds, size=size, scaler=scaler)
    work: dict[str, Callable] = {"tmk": _tmk_features, "vpdq": _vpdq_dihedral_hashes if dihedral else _vpdq_hashes}
    vacc = ViewAccumulator(active=True) if tmk and views else None  # the views (vidprint.tmk.views)
    if vacc is not None:
        work["tmk"] = _with_views(work["tmk"], vacc)

    acc = TMKAccumulator() if tmk else None
    cacc = CompactAccumulator() if tmk else None
    # The content area (letterbox / pillarbox bars cut): its accumulator starts as a copy of the
    # compact one at the first batch with bars (until then every frame's content area was the whole
    # frame), so a video without bars costs one bar detection per frame and nothing else.
    content_acc: CompactAccumulator | None = None
    bar_frames = 0
    vparts: list[tuple] = []

    def consume(key: str, result) -> None:
        nonlocal bar_frames, content_acc
        if key == "tmk":
            result = _feed_views(vacc, result)
            features, times, content, n_bars = result
            acc.update(features)
            if n_bars and content_acc is None:
                content_acc = copy.deepcopy(cacc)
            cacc.update(features, times)
            if content_acc is not None:
                content_acc.update(content, times)
            bar_frames += n_bars
        else:
            vparts.append(result)

    stats = DecodeStats()
    decoder_threads = workers or 0  # 0: FFmpeg's choice
    workers = workers or os.cpu_count() or 1
    pending: deque[tuple[FrameBatch, Future]] = deque()
    done = Progress(0, 0.0, None)

    def finish_one() -> None:
        nonlocal done
        batch, fut = pending.popleft()
        consume(batch.source, fut.result())
        if progress is not None and len(batch):
            # frames count on the vPDQ source's decoder numbering, or the TMK clock without vPDQ
            counts = batch.source == "vpdq" or not vpdq
            frames = int(batch.index[-1]) + 1 if counts else done.frames
            info = stats.info.get(batch.source)
            done = Progress(max(done.frames, frames), max(done.seconds, float(batch.time[-1])),
                            info.duration_s if info is not None else None)
            progress(done)

    # One worker: hash on this thread, between decoder calls (the call then uses exactly one core,
    # which is what a batch running one file per core wants); more: a pool of hashing threads.
    executor = _Inline() if workers == 1 else ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vidprint-hash")
    with executor as pool:
        try:
            for batch in read_frames(src, sources, name=name, stats=stats, threads=decoder_threads, strict=strict,
                                     max_bytes=max_bytes):
                pending.append((batch, pool.submit(work[batch.source], batch)))
                while len(pending) > _IN_FLIGHT_PER_WORKER * workers:
                    finish_one()
            while pending:
                finish_one()
        finally:
            for _, fut in pending:
                fut.cancel()

    key0 = next(iter(sources))
    info = stats.info[key0]
    vh = variants = vcontent = None
    if vpdq:
        vinfo = stats.info["vpdq"]
        parts = list(zip(*vparts))  # >= 1 frame, or DecodeError
        words, quality, index, times = (np.concatenate(c) for c in parts[:4])
        if dihedral:
            variants = {n: np.ascontiguousarray(words[:, i]) for i, n in enumerate(DIHEDRAL_NAMES)}
            words = variants[DIHEDRAL_NAMES[0]]
        meta = dict(fps=vinfo.fps, every_seconds=every_seconds, size=(size, size) if size else None, source=name)
        vh = VPDQHash(words, quality, index, times, **meta)
        if sum(parts[6]):  # some frame had bars: the content-area hashes differ from the plain ones
            vcontent = VPDQHash(np.concatenate(parts[4]), np.concatenate(parts[5]), index, times, **meta)
    native = [v for v in stats.native_conversion.values() if v is not None]
    compact = cacc.finalize() if cacc is not None else None
    compact_content = bars_fraction = None
    if cacc is not None:
        # no frame had bars: the same features, the same descriptor (one object, see Fingerprint)
        compact_content = compact if content_acc is None else content_acc.finalize()
        bars_fraction = bar_frames / max(1, cacc.count)
    return Fingerprint(
        source=name,
        info=info,
        tmk=acc.finalize() if acc is not None else None,
        compact=compact,
        vpdq=vh,
        decoded_frames=max(stats.decoded.values()),
        vpdq_dihedral=variants,
        native_conversion=all(native) if native else None,
        content_id=cid,
        decode_report=stats.report(),  # after the pool closed: the conversion path is known by now
        compact_content=compact_content,
        bars_fraction=bars_fraction,
        compact_views=vacc.finalize() if vacc is not None else None,
        vpdq_content=vcontent,
    )


def _check_arguments(tmk, vpdq, every_seconds, size, scaler, workers, progress) -> None:
    if not (tmk or vpdq):
        raise InvalidArgumentError("tmk/vpdq", "nothing to compute: set tmk and/or vpdq")
    if not isinstance(every_seconds, (int, float)) or not math.isfinite(every_seconds) or every_seconds < 0 \
            or every_seconds > MAX_EVERY_SECONDS:
        raise InvalidArgumentError("every_seconds", f"must be a number of seconds in [0, {MAX_EVERY_SECONDS}], "
                                                    f"got {every_seconds!r}")
    if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer))
                             or not MIN_SIZE <= size <= MAX_SIZE):
        raise InvalidArgumentError("size", f"must be None (native) or a whole number of pixels in "
                                           f"[{MIN_SIZE}, {MAX_SIZE}], got {size!r}")
    if scaler not in SCALERS:
        raise InvalidArgumentError("scaler", f"must be one of {', '.join(SCALERS)}, got {scaler!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidArgumentError("workers", f"must be None or a whole number >= 1, got {workers!r}")
    if progress is not None and not callable(progress):
        raise InvalidArgumentError("progress", f"must be callable, got {type(progress).__name__}")


#: Argument ranges of :func:`fingerprint` (PDQ needs 5 pixels; larger frames than 4096 only cost time).
MIN_SIZE, MAX_SIZE = 5, 4096
MAX_EVERY_SECONDS = 3600.0
SCALERS = ("area", "bicubic", "bilinear", "lanczos")


def content_id(src: Source) -> str | None:
    """SHA-256 hex digest of the bytes of a path, a bytes object or a seekable binary file object
    (read in 1 MiB chunks, position restored); None for anything else (e.g. a pipe)."""
    h = hashlib.sha256()
    if isinstance(src, (bytes, bytearray, memoryview)):
        h.update(src)
        return h.hexdigest()
    if isinstance(src, (str, os.PathLike)):
        try:
            with open(src, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        except OSError:
            return None  # the decoder reports the file's problem with its own words
        return h.hexdigest()
    try:
        if not src.seekable():  # type: ignore[union-attr]
            return None
        pos = src.tell()  # type: ignore[union-attr]
        src.seek(0)  # type: ignore[union-attr]
        for chunk in iter(lambda: src.read(1 << 20), b""):  # type: ignore[union-attr]
            h.update(chunk)
        src.seek(pos)  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    return h.hexdigest()


def hash_tmk(src: Source, profile: str = "reference", *, name: str | None = None) -> TMKDescriptor | CompactDescriptor:
    """The TMK descriptor of ``src`` (a path, bytes or a binary file object).

    ``profile="reference"`` gives the reference TMK+PDQF, byte-compatible with Meta's ``.tmk`` files;
    ``profile="compact"`` vidprint's compact descriptor (128-byte level 1, ~15 KB level 2 on
    normalized time, see :mod:`vidprint.tmk.compact`). To compute vPDQ in the same decoding pass,
    use :func:`fingerprint`.
    """
    if profile not in ("reference", "compact"):
        raise ValueError(f"unknown TMK profile {profile!r}: 'reference' or 'compact'")
    fp = fingerprint(src, tmk=True, vpdq=False, name=name, views=False)
    return fp.tmk if profile == "reference" else fp.compact


def hash_vpdq(src: Source, every_seconds: float = 0.0, size: int | None = None, *, scaler: str = "area",
              name: str | None = None) -> VPDQHash:
    """Per-frame PDQ hashes of ``src`` (a path, bytes or a binary file object).

    ``every_seconds``: one frame every S seconds by the reference's ``n % int(S * fps)`` rule (0 =
    every frame). ``size``: None hashes frames at native size (bit-exact with the reference's plain
    C conversion); N squashes them to N x N with ``scaler`` ("area" as the current reference,
    "lanczos" as its older ``-128x128`` sample files). To compute TMK in the same decoding pass,
    use :func:`fingerprint`.
    """
    return fingerprint(src, tmk=False, vpdq=True, every_seconds=every_seconds, size=size, scaler=scaler,
                       name=name).vpdq


def hash_vpdq_dihedral(src: Source, every_seconds: float = 0.0, size: int | None = None, *,
                       scaler: str = "area", name: str | None = None) -> tuple[VPDQHash, dict[str, np.ndarray]]:
    """:func:`hash_vpdq` plus the 8 dihedral variants of every frame's hash (docs/algorithms.md, PDQ).

    Returns ``(hashes, variants)`` with ``variants[name]`` a ``uint64[N, 4]`` array in the frame order
    of ``hashes``, names as :data:`vidprint.pdqf.DIHEDRAL_NAMES`; pass ``variants`` to
    :func:`vidprint.vpdq.align` as ``dihedral=`` to find flipped or rotated copies.
    """
    fp = fingerprint(src, tmk=False, vpdq=True, every_seconds=every_seconds, size=size, scaler=scaler,
                     dihedral=True, name=name)
    return fp.vpdq, fp.vpdq_dihedral
