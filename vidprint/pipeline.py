"""The whole fingerprint of a video from one decoding pass: TMK+PDQF and vPDQ together.

:func:`fingerprint` is the main entry point (``vidprint.fingerprint``); :func:`hash_tmk`,
:func:`hash_vpdq` and :func:`hash_vpdq_dihedral` are shortcuts for one kind of descriptor.

decode (:mod:`vidprint.decode`) -> per-frame features (:mod:`vidprint.pdqf`) -> descriptors
(:mod:`vidprint.tmk`, :mod:`vidprint.vpdq`). Frames are hashed on worker threads (the Numba kernels
release the GIL) while the decoder goes on, with a bounded number of batches in flight, so memory
stays flat however long the video is.
"""
from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np

from vidprint.decode import DecodeStats, FrameBatch, TMKSource, VideoInfo, VPDQSource, read_frames
from vidprint.decode.container import Source, source_name
from vidprint.pdqf import DIHEDRAL_NAMES, hash_luma_dihedral_batch, pdqf_luma_batch
from vidprint.tmk import CompactAccumulator, CompactDescriptor, TMKAccumulator, TMKDescriptor
from vidprint.vpdq import VPDQHash


@dataclass(frozen=True)
class Fingerprint:
    """What :func:`fingerprint` computed for one video (None where not asked for)."""

    source: str
    info: VideoInfo
    tmk: TMKDescriptor | None  # reference profile (Meta's .tmk)
    compact: CompactDescriptor | None  # vidprint's compact profile, from the same frame features
    vpdq: VPDQHash | None
    decoded_frames: int
    vpdq_dihedral: dict[str, np.ndarray] | None  # variant name -> uint64[N, 4], frames as in ``vpdq``
    native_conversion: bool | None  # False: the pixel format went through libswscale (see decode.convert)


def _tmk_features(batch: FrameBatch) -> tuple[np.ndarray, np.ndarray]:
    return pdqf_luma_batch(np.ascontiguousarray(batch.luma)), batch.time


def _vpdq_hashes(batch: FrameBatch):
    words, quality = batch.pdq_hashes()  # from the YUV planes where possible (no luma plane)
    return words, quality, batch.index, batch.time


def _vpdq_dihedral_hashes(batch: FrameBatch):
    words, quality = hash_luma_dihedral_batch(np.ascontiguousarray(batch.luma))
    return words, quality, batch.index, batch.time


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
) -> Fingerprint:
    """Decode ``src`` once and compute the TMK+PDQF descriptor and/or the vPDQ hashes.

    Parameters
    ----------
    tmk, vpdq : bool
        Which fingerprints to compute (``tmk`` gives both TMK profiles, reference and compact).
    every_seconds : float
        vPDQ sampling interval in seconds (0 = every frame, the reference default).
    size : int or None
        vPDQ frame size: None = native, else frames are squashed to ``size`` x ``size`` with ``scaler``.
    workers : int or None
        Hashing threads (default: the number of CPUs).
    dihedral : bool
        Also hash the 8 dihedral variants of every vPDQ frame (rotations and flips, from one DCT;
        spec §1.9), for :func:`vidprint.vpdq.align` ``dihedral=``. The plain hashes then come from
        the dihedral entry point, which blurs even 64x64 frames.
    """
    if not (tmk or vpdq):
        raise ValueError("nothing to compute: set tmk and/or vpdq")
    name = name or source_name(src)
    sources: dict[str, TMKSource | VPDQSource] = {}
    if tmk:
        sources["tmk"] = TMKSource()
    if vpdq:
        sources["vpdq"] = VPDQSource(every_seconds=every_seconds, size=size, scaler=scaler)
    work: dict[str, Callable] = {"tmk": _tmk_features, "vpdq": _vpdq_dihedral_hashes if dihedral else _vpdq_hashes}

    acc = TMKAccumulator() if tmk else None
    cacc = CompactAccumulator() if tmk else None
    vparts: list[tuple] = []

    def consume(key: str, result) -> None:
        if key == "tmk":
            features, times = result
            acc.update(features)
            cacc.update(features, times)
        else:
            vparts.append(result)

    stats = DecodeStats()
    workers = workers or os.cpu_count() or 1
    pending: deque[tuple[str, Future]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vidprint-hash") as pool:
        try:
            for batch in read_frames(src, sources, name=name, stats=stats):
                pending.append((batch.source, pool.submit(work[batch.source], batch)))
                while len(pending) > 2 * workers:
                    key, fut = pending.popleft()
                    consume(key, fut.result())
            while pending:
                key, fut = pending.popleft()
                consume(key, fut.result())
        finally:
            for _, fut in pending:
                fut.cancel()

    key0 = next(iter(sources))
    info = stats.info[key0]
    vh = variants = None
    if vpdq:
        vinfo = stats.info["vpdq"]
        words, quality, index, times = (np.concatenate(c) for c in zip(*vparts))  # >= 1 frame, or DecodeError
        if dihedral:
            variants = {n: np.ascontiguousarray(words[:, i]) for i, n in enumerate(DIHEDRAL_NAMES)}
            words = variants[DIHEDRAL_NAMES[0]]
        vh = VPDQHash(words, quality, index, times, fps=vinfo.fps, every_seconds=every_seconds,
                      size=(size, size) if size else None, source=name)
    native = [v for v in stats.native_conversion.values() if v is not None]
    return Fingerprint(
        source=name,
        info=info,
        tmk=acc.finalize() if acc is not None else None,
        compact=cacc.finalize() if cacc is not None else None,
        vpdq=vh,
        decoded_frames=max(stats.decoded.values()),
        vpdq_dihedral=variants,
        native_conversion=all(native) if native else None,
    )


def hash_tmk(src: Source, profile: str = "reference", *, name: str | None = None) -> TMKDescriptor | CompactDescriptor:
    """The TMK descriptor of ``src`` (a path, bytes or a binary file object).

    ``profile="reference"`` gives the reference TMK+PDQF, byte-compatible with Meta's ``.tmk`` files;
    ``profile="compact"`` vidprint's compact descriptor (128-byte level 1, ~15 KB level 2 on
    normalized time, see :mod:`vidprint.tmk.compact`). To compute vPDQ in the same decoding pass,
    use :func:`fingerprint`.
    """
    if profile not in ("reference", "compact"):
        raise ValueError(f"unknown TMK profile {profile!r}: 'reference' or 'compact'")
    fp = fingerprint(src, tmk=True, vpdq=False, name=name)
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
