"""The matching policy: one verdict for a pair, with every score and threshold behind it.

:func:`compare` answers "are these the same video, or is the first a part of the second?" for two
fingerprints, descriptors or hash files, by the documented policy:

* **Whole video (TMK)**: the compact profile where both sides have it (level 1 >= 0.4 as a loose
  prefilter, then level 2 >= 0.6), else the reference profile (0.7 / 0.7, Meta's defaults), in both
  orientations of the first side (as is and mirrored left-right, the mirrored descriptor computed
  from the stored one: :mod:`vidprint.tmk.mirror`); the evidence says which matched. A score
  outside its documented range (NaN, or beyond the range the format can produce, as a damaged or
  forged hash-list entry can give) never matches; the evidence says why.
* **Clip (vPDQ)**: :func:`vidprint.vpdq.align` of the first side's frame hashes inside the second's
  (Hamming distance <= 31, quality >= 50 on both sides, alignment thresholds below); a match is at
  least one aligned segment. The bag-of-frames percentages of :func:`vidprint.vpdq.match` are
  reported alongside as evidence, not used for the verdict.

The index (:mod:`vidprint.index`) confirms its candidates with :func:`whole_evidence` and
:func:`clip_evidence`, so a pair gets the same verdict from :func:`compare` and from an index query.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from vidprint import tmk as _tmk
from vidprint import vpdq as _vpdq
from vidprint.errors import InvalidArgumentError
from vidprint.record import Fingerprint
from vidprint.tmk import CompactDescriptor, TMKDescriptor
from vidprint.tmk.mirror import mirror_compact, mirror_tmk
from vidprint.tmk.score import score_problem
from vidprint.vpdq import Segment, VPDQHash


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds, all inclusive lower bounds (distance: inclusive upper bound).

    Defaults: compact TMK 0.4 / 0.6 (vidprint, see the README's measured table), reference TMK
    0.7 / 0.7 (Meta's ``tmk_default_thresholds.h``), PDQ distance 31 bits and quality 50 (PDQ
    README), and :func:`vidprint.vpdq.align`'s segment acceptance thresholds.
    """

    compact_level1: float = _tmk.COMPACT_LEVEL1_THRESHOLD
    compact_level2: float = _tmk.COMPACT_LEVEL2_THRESHOLD
    reference_level1: float = _tmk.LEVEL1_THRESHOLD
    reference_level2: float = _tmk.LEVEL2_THRESHOLD
    vpdq_distance: int = _vpdq.DISTANCE_THRESHOLD
    vpdq_quality: int = _vpdq.QUALITY_THRESHOLD
    align_min_frames: int = 5
    align_min_score: float = 0.3
    align_min_density: float = 0.2
    align_min_specificity: float = 0.2
    #: Whole video: also score the first side mirrored left-right (from its own descriptor, no
    #: second decode) and say which orientation matched. Measured cost: docs/evaluation.md.
    mirror: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


DEFAULT_THRESHOLDS = Thresholds()



@dataclass(frozen=True)
class WholeEvidence:
    """Whole-video (TMK) evidence for a pair.

    ``profile``: "compact" or "reference"; ``level1``/``level2``: the scores; ``threshold_level1``/
    ``threshold_level2``: what they were held to; ``matched``: both met (and in range);
    ``transform``: the orientation of the first side these scores are for ("identity", or "flipx":
    mirrored left-right); ``note``: why a score was refused, if it was.
    """

    profile: str
    level1: float
    level2: float
    threshold_level1: float
    threshold_level2: float
    matched: bool
    transform: str = "identity"
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _finite_dict(dataclasses.asdict(self))


@dataclass(frozen=True)
class ClipEvidence:
    """Clip (vPDQ) evidence: where the first side's frames sit in the second's.

    ``query_pct``/``compared_pct``: bag-of-frames percentages (0..100) of quality-filtered unique
    frames with a partner within ``distance`` bits; ``segments``: aligned stretches with their
    timestamps, speed and score (:class:`vidprint.vpdq.Segment`); ``matched``: at least one segment.
    """

    query_pct: float
    compared_pct: float
    segments: tuple[Segment, ...]
    matched: bool
    distance: int
    quality: int

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in dataclasses.asdict(self).items() if k != "segments"}
        d["segments"] = [_finite_dict(dataclasses.asdict(s)) for s in self.segments]
        return _finite_dict(d)


@dataclass(frozen=True)
class Comparison:
    """The verdict on a pair, with everything behind it.

    ``matched``: the pair is the same video (whole) or the first is part of the second (clip).
    ``kind``: "whole", "clip", "both" or None; ``whole``/``clip``: the evidence (None where one
    side lacks that kind of fingerprint); ``decided_by``: one sentence naming the deciding score and
    threshold; ``thresholds``: the thresholds used.
    """

    matched: bool
    kind: str | None
    whole: WholeEvidence | None
    clip: ClipEvidence | None
    decided_by: str
    thresholds: Thresholds

    def __bool__(self) -> bool:
        return self.matched

    def to_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "kind": self.kind,
            "decided_by": self.decided_by,
            "whole": self.whole.to_dict() if self.whole else None,
            "clip": self.clip.to_dict() if self.clip else None,
            "thresholds": self.thresholds.to_dict(),
        }


def _finite_dict(d: dict[str, Any]) -> dict[str, Any]:
    # JSON has no NaN: a non-finite score is reported as None (the note says why).
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def whole_evidence(a: Fingerprint | Any, b: Fingerprint | Any,
                   thresholds: Thresholds = DEFAULT_THRESHOLDS) -> WholeEvidence | None:
    """TMK evidence for ``a`` vs ``b`` (fingerprints or descriptors), or None if they share no profile.

    The compact profile is used where both have it, else the reference profile. With
    ``thresholds.mirror``, ``a`` is also scored mirrored left-right (``transform="flipx"``); a
    matching orientation wins over one that does not, then the higher level 2.
    """
    (ca, ra), (cb, rb) = _tmk_parts(a), _tmk_parts(b)
    if ca is not None and cb is not None:
        pair, score, mirror = (ca, cb), _tmk.compact_score, mirror_compact
        profile, t1, t2 = "compact", thresholds.compact_level1, thresholds.compact_level2
    elif ra is not None and rb is not None:
        pair, score, mirror = (ra, rb), _tmk.score, mirror_tmk
        profile, t1, t2 = "reference", thresholds.reference_level1, thresholds.reference_level2
    else:
        return None
    best = None
    for transform in ("identity", "flipx") if thresholds.mirror else ("identity",):
        first = pair[0] if transform == "identity" else mirror(pair[0], "flipx")
        s = score(first, pair[1])
        l1, l2 = float(s.level1), float(s.level2)
        note = score_problem(l1, l2)  # the range check tmk.is_match applies, for both profiles
        ev = WholeEvidence(profile, l1, l2, t1, t2, note is None and l1 >= t1 and l2 >= t2, transform, note)
        if best is None or (ev.matched, _finite_or(ev.level2)) > (best.matched, _finite_or(best.level2)):
            best = ev
    return best


def _finite_or(x: float, default: float = -math.inf) -> float:
    return x if math.isfinite(x) else default


def clip_evidence(query: VPDQHash, compared: VPDQHash, thresholds: Thresholds = DEFAULT_THRESHOLDS, *,
                  dihedral: Mapping[str, np.ndarray] | None = None) -> ClipEvidence:
    """vPDQ evidence that ``query`` (or one of its ``dihedral`` variants) appears inside ``compared``."""
    m = _vpdq.match(query, compared, thresholds.vpdq_distance, thresholds.vpdq_quality)
    segments = tuple(_vpdq.align(
        query, compared, thresholds.vpdq_distance, thresholds.vpdq_quality,
        min_frames=thresholds.align_min_frames, min_score=thresholds.align_min_score,
        min_density=thresholds.align_min_density, min_specificity=thresholds.align_min_specificity,
        dihedral=dihedral))
    return ClipEvidence(float(m.query_pct), float(m.compared_pct), segments, bool(segments),
                        thresholds.vpdq_distance, thresholds.vpdq_quality)


def compare(a: Any, b: Any, thresholds: Thresholds | None = None) -> Comparison:
    """Is ``a`` the same video as ``b``, or a part of it? One verdict with all its evidence.

    ``a`` and ``b`` may each be a :class:`~vidprint.record.Fingerprint`, a
    :class:`~vidprint.tmk.TMKDescriptor`, a :class:`~vidprint.tmk.CompactDescriptor`, a
    :class:`~vidprint.vpdq.VPDQHash`, or a path to a hash file (``.vpfp``, ``.tmk``, ``.vptc``,
    vPDQ ``.txt``) or to a video (fingerprinted first). Each kind of evidence is computed where both
    sides have it; :class:`vidprint.errors.InvalidArgumentError` if they share none.
    """
    t = thresholds or DEFAULT_THRESHOLDS
    if not isinstance(t, Thresholds):
        raise InvalidArgumentError("thresholds", f"expected a Thresholds, got {type(t).__name__}")
    a, b = _as_comparable(a, "a"), _as_comparable(b, "b")
    whole = whole_evidence(a, b, t)
    va, vb = _vpdq_part(a), _vpdq_part(b)
    clip = None
    if va is not None and vb is not None:
        dihedral = a.vpdq_dihedral if isinstance(a, Fingerprint) else None
        clip = clip_evidence(va, vb, t, dihedral=dihedral)
    if whole is None and clip is None:
        raise InvalidArgumentError("a, b", "nothing comparable: the two sides share no kind of fingerprint "
                                           "(TMK reference, TMK compact or vPDQ)")
    kinds = [k for k, e in (("whole", whole), ("clip", clip)) if e is not None and e.matched]
    kind = "both" if len(kinds) == 2 else (kinds[0] if kinds else None)
    return Comparison(bool(kinds), kind, whole, clip, explain(whole, clip), t)


def explain(whole: WholeEvidence | None, clip: ClipEvidence | None) -> str:
    """One sentence per kind of evidence, naming the deciding scores and thresholds: the
    ``decided_by`` of :class:`Comparison` and of an index :class:`~vidprint.index.Match`."""
    parts = []
    if whole is not None:
        verdict = "match" if whole.matched else "no match"
        if whole.note:
            parts.append(f"{whole.profile} TMK refused: {whole.note}")
        else:
            parts.append(f"{whole.profile} TMK level 1 {whole.level1:.3f} (>= {whole.threshold_level1}) and "
                         f"level 2 {whole.level2:.3f} (>= {whole.threshold_level2}): {verdict}")
    if clip is not None:
        if clip.segments:
            s = max(clip.segments, key=lambda x: x.score)
            transform = "" if s.transform == "orig" else f", transform {s.transform}"
            parts.append(f"vPDQ alignment: {len(clip.segments)} segment(s), best query "
                         f"{s.query_start_s:.2f}-{s.query_end_s:.2f} s at {s.compared_start_s:.2f}-"
                         f"{s.compared_end_s:.2f} s (score {s.score:.2f}{transform}): match")
        else:
            parts.append(f"vPDQ alignment: no segment ({clip.query_pct:.1f}% of query frames within "
                         f"{clip.distance} bits): no match")
    return "; ".join(parts)


def _tmk_parts(x: Any) -> tuple[CompactDescriptor | None, TMKDescriptor | None]:
    if isinstance(x, Fingerprint):
        return x.compact, x.tmk
    if isinstance(x, CompactDescriptor):
        return x, None
    if isinstance(x, TMKDescriptor):
        return None, x
    return None, None


def _vpdq_part(x: Any) -> VPDQHash | None:
    if isinstance(x, Fingerprint):
        return x.vpdq
    return x if isinstance(x, VPDQHash) else None


def _as_comparable(x: Any, label: str) -> Any:
    if isinstance(x, (Fingerprint, TMKDescriptor, CompactDescriptor, VPDQHash)):
        return x
    if not isinstance(x, (str, os.PathLike)):
        raise InvalidArgumentError(label, f"expected a Fingerprint, a descriptor, a VPDQHash or a path, "
                                          f"got {type(x).__name__}")
    return load(x)


#: Hash-file suffixes :func:`load` recognises; any other path is decoded as a video.
HASH_SUFFIXES = {".vpfp": "fingerprint", ".tmk": "reference TMK", ".vptc": "compact TMK", ".txt": "vPDQ text"}


def load(path: str | os.PathLike) -> Fingerprint | TMKDescriptor | CompactDescriptor | VPDQHash:
    """Read a hash file by its suffix (``.vpfp``, ``.tmk``, ``.vptc``, ``.txt``), or fingerprint a video."""
    suffix = Path(path).suffix.lower()
    if suffix == ".vpfp":
        return Fingerprint.load(path)
    if suffix == ".tmk":
        return _tmk.read(path)
    if suffix == ".vptc":
        return CompactDescriptor.read(path)
    if suffix == ".txt":
        return _vpdq.read(path)
    from vidprint.pipeline import fingerprint

    return fingerprint(path)
