"""The matching policy: one verdict for a pair, with every score and threshold behind it.

:func:`compare` answers "are these the same video, or is the first a part of the second?" for two
fingerprints, descriptors or hash files, by the documented policy:

* **Whole video (TMK)**: the compact profile where both sides have it (level 1 >= 0.4 as a loose
  prefilter, then level 2 >= 0.6), else the reference profile (0.7 / 0.7, Meta's defaults), in both
  orientations of the first side (as is and mirrored left-right, the mirrored descriptor computed
  from the stored one: :mod:`vidprint.tmk.mirror`), and for the compact profile in two views: the
  whole frame and the *content area* (flat letterbox / pillarbox bars cut per frame,
  ``Fingerprint.compact_content``, :mod:`vidprint.tmk.bars`); the better of the views and
  orientations decides and the evidence says which matched. Where a side has no content-area
  descriptor (older files, descriptor-only inputs) only the whole frame is compared and the evidence
  says so. A score
  outside its documented range (NaN, or beyond the range the format can produce, as a damaged or
  forged hash-list entry can give) never matches; the evidence says why.
* **Views** (compact profile, ``Thresholds.views``; :mod:`vidprint.tmk.views`): the first side's
  whole frame is also scored against the second side's centred zoom views (``compact_views`` "c95",
  "c90", "c80": the first is a centred crop of the second) and the first side's active region against the
  second's whole frame (the first is a picture-in-picture copy of the second), in both orientations,
  with the same thresholds, and the two sides' centre 80% views against each other (a logo or caption
  near an edge left out of both); the better view decides and the evidence names it. The first side is
  the query (the suspected copy), as in an index query: a crop given second is not looked for.
* **Clip (vPDQ)**: :func:`vidprint.vpdq.align` of the first side's frame hashes inside the second's
  (Hamming distance <= 31, quality >= 50 on both sides, alignment thresholds below); a match is at
  least one aligned segment. Where a side has content-area hashes (``Fingerprint.vpdq_content``:
  each frame's letterbox / pillarbox bars cut before hashing) they are aligned too, under the same
  rules: the first side's against the second's frames, and, where the second side had bars, the
  first side's content areas (its frames where it had none) against the second's. A segment found
  through them names the transform "content" (``Thresholds.bars``). The bag-of-frames percentages of :func:`vidprint.vpdq.match` are reported
  alongside as evidence, not used for the verdict.

The index (:mod:`vidprint.index`) confirms its candidates with :func:`whole_evidence_many` (batched) and
:func:`clip_evidence`, so a pair gets the same verdict from :func:`compare` and from an index query.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from vidprint import tmk as _tmk
from vidprint import vpdq as _vpdq
from vidprint.errors import InvalidArgumentError
from vidprint.record import Fingerprint
from vidprint.tmk import CompactDescriptor, TMKDescriptor
from vidprint.tmk.mirror import mirror_compact, mirror_tmk
from vidprint.tmk.score import score_problem
from vidprint.tmk.views import ACTIVE_VIEW, CENTRE_VIEW, DEFAULT_ZOOMS, zoom_name
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
    align_specificity_margin: int = 8
    align_min_specific_s: float = 0.5
    #: Whole video: also score the first side mirrored left-right (from its own descriptor, no
    #: second decode) and say which orientation matched. Measured cost: docs/evaluation.md.
    mirror: bool = True
    #: Whole video, compact profile: also compare the content-area descriptors (letterbox and
    #: pillarbox bars cut) and take the better view; clip: also align the content-area frame hashes
    #: (``Fingerprint.vpdq_content``) of the side or sides that had bars. Measured gain and cost:
    #: docs/evaluation.md.
    bars: bool = True
    #: Whole video, compact profile: also compare *views* (:mod:`vidprint.tmk.views`): the first
    #: side's whole frame against the second side's centred zoom views (the first a centred crop of
    #: the second) and the first side's active region against the second's whole frame (the first a
    #: picture-in-picture copy of the second); the better view decides. Measured: docs/eval-views.md.
    views: bool = True
    #: Short evidence is weak evidence: two *different* videos of a few seconds of one scene (one
    #: signer in one room) share their background and the shape of their motion and score like
    #: copies. Where the shorter video lasts under ``short_evidence_s`` seconds, compact level 2 must
    #: reach ``short_compact_level2``; an aligned clip segment shorter than that counts only if its
    #: frames are on average within ``short_align_mean_distance`` bits. Calibrated on the corpus's
    #: look-alike set (docs/evaluation.md, "Look-alikes"); ``short_evidence_s=0`` turns it off.
    short_evidence_s: float = 5.0
    short_compact_level2: float = 0.9
    short_align_mean_distance: float = 16.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


DEFAULT_THRESHOLDS = Thresholds()

#: The ``Segment.transform`` of a clip segment found through the query's content-area hashes.
CONTENT_VARIANT = "content"



@dataclass(frozen=True)
class WholeEvidence:
    """Whole-video (TMK) evidence for a pair.

    ``profile``: "compact" or "reference"; ``level1``/``level2``: the scores; ``threshold_level1``/
    ``threshold_level2``: what they were held to; ``matched``: both met (and in range);
    ``transform``: the orientation of the first side these scores are for ("identity", or "flipx":
    mirrored left-right); ``note``: why a score was refused, if it was; ``view``: the descriptors
    these scores compare, "frame" (the whole frame) or "content-area" (both sides' content-area
    descriptors, letterbox / pillarbox bars cut); ``view_note``: why the content area was not
    compared when ``Thresholds.bars`` asked for it (a side without a content-area descriptor).
    With ``Thresholds.views``, ``view`` may also be "zoom-c95" / "zoom-c90" / "zoom-c80" (the first
    side's whole frame against the second side's centred 95% / 90% / 80% view), "active-region" (the
    first side's active region against the second side's whole frame) or "centre-c80" (both sides'
    centred 80% views: edges, where logos sit, left out), and ``view_note`` says why views were not
    compared (a side without view descriptors). ``short``: the shorter video lasts under
    ``Thresholds.short_evidence_s``, so level 2 was held to ``Thresholds.short_compact_level2``.
    """

    profile: str
    level1: float
    level2: float
    threshold_level1: float
    threshold_level2: float
    matched: bool
    transform: str = "identity"
    note: str | None = None
    view: str = "frame"
    view_note: str | None = None
    short: bool = False

    def to_dict(self) -> dict[str, Any]:
        return _finite_dict(dataclasses.asdict(self))


@dataclass(frozen=True)
class ClipEvidence:
    """Clip (vPDQ) evidence: where the first side's frames sit in the second's.

    ``query_pct``/``compared_pct``: bag-of-frames percentages (0..100) of quality-filtered unique
    frames with a partner within ``distance`` bits; ``segments``: aligned stretches with their
    timestamps, speed and score (:class:`vidprint.vpdq.Segment`); ``matched``: at least one segment.
    ``short_refused``: aligned segments left out because they were short and not close enough
    (``Thresholds.short_evidence_s`` / ``short_align_mean_distance``; applied to segments of the
    frames as they are, against a side hashed at least every :data:`SHORT_RULE_MAX_INTERVAL_S`).
    """

    query_pct: float
    compared_pct: float
    segments: tuple[Segment, ...]
    matched: bool
    distance: int
    quality: int
    short_refused: int = 0

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
    """TMK evidence for ``a`` vs ``b`` (fingerprints, descriptors, or anything with ``compact`` /
    ``compact_content`` / ``tmk`` attributes such as an index entry), or None if they share no profile.

    The compact profile is used where both have it, else the reference profile. With
    ``thresholds.mirror``, ``a`` is also scored mirrored left-right (``transform="flipx"``). With
    ``thresholds.bars`` and the compact profile, the content-area descriptors of both sides are
    scored too (``view="content-area"``; skipped when both equal their whole-frame descriptors, as
    for videos without bars: the scores would be the same). A matching view and orientation wins over
    one that does not, then the higher level 2 (the whole frame, as is, on ties). With the compact
    profile, level 2 is computed only for the views and orientations whose level 1 passes (the
    whole frame as is when none does, so a non-match still reports both scores of the frame).
    """
    return whole_evidence_many(a, [b], thresholds)[0]


@dataclass(frozen=True)
class _WholePlan:
    """What :func:`whole_evidence_many` scores for one pair: the profile, its thresholds, and the
    (view, orientation, first, second, level 1) tuples left after the level-1 cut."""

    profile: str
    t1: float
    t2: float
    short: bool
    view_note: str | None
    pairs: list[tuple[str, str, Any, Any, float]]


def whole_evidence_many(a: Fingerprint | Any, bs: Sequence[Fingerprint | Any],
                        thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[WholeEvidence | None]:
    """:func:`whole_evidence` of ``a`` against each of ``bs``: a list of the same length.

    The first side's descriptors are mirrored once for all of ``bs``, and the compact level-2 scores
    (the costly part) of all pairs are computed together (:func:`vidprint.tmk.compact_level2_pairs`):
    the index confirms its candidates this way, several times faster than one call per candidate,
    with the same evidence up to floating-point rounding of the scores.
    """
    flipped: dict[int, Any] = {}  # the first side's descriptors serve several views and pairs: mirror once

    def oriented(first0: Any, transform: str, mirror: Any) -> Any:
        if transform == "identity":
            return first0
        if id(first0) not in flipped:
            flipped[id(first0)] = mirror(first0, "flipx")
        return flipped[id(first0)]

    plans = [_whole_plan(a, b, thresholds, oriented) for b in bs]
    # compact level 2 of every pair at once (vidprint.tmk.compact_level2_pairs: what a descriptor
    # needs alone is computed once however many pairs it is in, e.g. each of the first side's views)
    keys = [(i, j) for i, plan in enumerate(plans) if plan is not None and plan.profile == "compact"
            for j in range(len(plan.pairs))]
    l2 = _tmk.compact_level2_pairs([plans[i].pairs[j][2] for i, j in keys],
                                   [plans[i].pairs[j][3] for i, j in keys])[0]
    level2 = dict(zip(keys, l2.tolist()))
    out: list[WholeEvidence | None] = []
    for i, plan in enumerate(plans):
        if plan is None:
            out.append(None)
            continue
        best = None
        for j, (view, transform, first, second, l1) in enumerate(plan.pairs):
            if plan.profile == "compact":
                l2 = level2[(i, j)]
            else:
                s = _tmk.score(first, second)
                l1, l2 = float(s.level1), float(s.level2)
            note = score_problem(l1, l2)  # the range check tmk.is_match applies, for both profiles
            ev = WholeEvidence(plan.profile, l1, l2, plan.t1, plan.t2,
                               note is None and l1 >= plan.t1 and l2 >= plan.t2, transform, note, view,
                               plan.view_note, plan.short)
            if best is None or (ev.matched, _finite_or(ev.level2)) > (best.matched, _finite_or(best.level2)):
                best = ev
        out.append(best)
    return out


def _whole_plan(a: Any, b: Any, thresholds: Thresholds, oriented: Any) -> _WholePlan | None:
    """The pairs :func:`whole_evidence` scores for ``a`` vs ``b`` (None: no shared profile);
    ``oriented(first, transform, mirror)`` gives the first side's descriptor in an orientation."""
    (ca, xa, ra), (cb, xb, rb) = _tmk_parts(a), _tmk_parts(b)
    view_note = None
    if ca is not None and cb is not None:
        views = [("frame", ca, cb)]
        if thresholds.bars:
            if xa is None or xb is None:
                view_note = (f"content area not compared: the {'first' if xa is None else 'second'} side has no "
                             "content-area descriptor (written before vidprint computed it, or a descriptor only)")
            elif not (xa is ca and xb is cb):
                views.append(("content-area", xa, xb))
        views, view_note = _add_derived_views(views, view_note, a, b, ca, cb, thresholds)
        mirror = mirror_compact
        profile, t1, t2 = "compact", thresholds.compact_level1, thresholds.compact_level2
        short = _is_short(ca, cb, thresholds)
        if short:
            t2 = max(t2, thresholds.short_compact_level2)
    elif ra is not None and rb is not None:
        views = [("frame", ra, rb)]
        mirror = mirror_tmk
        # Meta's thresholds, as shared hash lists expect them; no short-evidence rule (its
        # look-alike scores reach 0.99: no level-2 value would separate them, docs/evaluation.md)
        profile, t1, t2, short = "reference", thresholds.reference_level1, thresholds.reference_level2, False
    else:
        return None
    transforms = ("identity", "flipx") if thresholds.mirror else ("identity",)
    pairs = [(view, transform, oriented(first0, transform, mirror), second, math.nan)
             for view, first0, second in views for transform in transforms]
    if profile == "compact":
        # Level 2 is the costly score (a warp search) and cannot make up for a level 1 under its
        # threshold: it is computed only where level 1 passes or, when none does, for the whole
        # frame as is (the evidence a non-match reports). The verdict is the same as scoring every
        # pair; an index candidate on the corpus passes level 1 in about 4 of up to 14 pairs.
        scored = [(v, t, f, s, _tmk.compact_level1(f, s)) for v, t, f, s, _ in pairs]
        pairs = [x for x in scored if x[4] >= t1] or scored[:1]
    return _WholePlan(profile, t1, t2, short, view_note, pairs)


def _finite_or(x: float, default: float = -math.inf) -> float:
    return x if math.isfinite(x) else default


#: The short-evidence bar on aligned segments applies where the compared side's hashes are at most
#: this many seconds apart (the calibration data was hashed every frame).
SHORT_RULE_MAX_INTERVAL_S = 0.25


def _sampling_interval(h: VPDQHash) -> float:
    """Median seconds between consecutive hashes of ``h`` (inf with fewer than two)."""
    t = np.asarray(h.timestamps, dtype=np.float64)
    return float(np.median(np.diff(np.sort(t)))) if t.size > 1 else math.inf


def _is_short(ca: CompactDescriptor, cb: CompactDescriptor, thresholds: Thresholds) -> bool:
    """The shorter of two compact descriptors lasts under ``thresholds.short_evidence_s`` (an unknown
    or zero duration counts as short)."""
    d = min(float(ca.duration_s or 0.0), float(cb.duration_s or 0.0))
    return not d >= thresholds.short_evidence_s


def clip_evidence(query: VPDQHash, compared: VPDQHash, thresholds: Thresholds = DEFAULT_THRESHOLDS, *,
                  dihedral: Mapping[str, np.ndarray] | None = None,
                  content: VPDQHash | None = None,
                  compared_content: VPDQHash | None = None) -> ClipEvidence:
    """vPDQ evidence that ``query`` (or one of its ``dihedral`` variants) appears inside ``compared``.

    ``content`` / ``compared_content``: each side's content-area hashes (``Fingerprint.vpdq_content``:
    letterbox / pillarbox bars cut, same frames as ``query`` / ``compared``; None where the video had
    no bars). With ``Thresholds.bars`` the query's content areas are aligned against ``compared`` as
    the variant named "content", and, where the compared video had bars, the query's content areas
    (its frames where it had none) against the compared video's, also named "content": a copy
    with other bars than the original, or with the original's bars cut off, is found either way.
    Both are held to the same rules as the plain hashes; a stretch found more than once is reported
    once (:func:`vidprint.vpdq.merge_segments`).
    """
    variants = dict(dihedral or {})
    if content is not None and thresholds.bars:
        if len(content) != len(query):
            raise InvalidArgumentError("content", f"{len(content)} content-area hashes for {len(query)} query frames")
        variants[CONTENT_VARIANT] = content.words
    if compared_content is not None and len(compared_content) != len(compared):
        raise InvalidArgumentError("compared_content", f"{len(compared_content)} content-area hashes for "
                                                       f"{len(compared)} compared frames")
    m = _vpdq.match(query, compared, thresholds.vpdq_distance, thresholds.vpdq_quality)
    params = dict(min_frames=thresholds.align_min_frames, min_score=thresholds.align_min_score,
                  min_density=thresholds.align_min_density, min_specificity=thresholds.align_min_specificity,
                  specificity_margin=thresholds.align_specificity_margin,
                  min_specific_s=thresholds.align_min_specific_s)
    found = _vpdq.align(query, compared, thresholds.vpdq_distance, thresholds.vpdq_quality,
                        dihedral=variants or None, **params)
    if compared_content is not None and thresholds.bars:
        areas = _vpdq.align(content if content is not None else query, compared_content,
                            thresholds.vpdq_distance, thresholds.vpdq_quality, **params)
        found = _vpdq.merge_segments(found, [dataclasses.replace(s, transform=CONTENT_VARIANT) for s in areas])
    # Short segments count only when near-identical (Thresholds.short_evidence_s). The bar was
    # calibrated with both sides hashed every frame: against sparse hashes (an archive at 1 hash/s)
    # a true copy's frames are up to half an interval apart, so it is not applied there. It holds for
    # every variant, dihedral ones included: a mirrored copy's hashes sit further from the original's
    # (mean 3.5-23.6 bits on the corpus's 60 mirrored copies), but mirrored look-alikes aligned at
    # 17-26 bits (5 of 8,074 unrelated pairs without the rule; docs/evaluation.md), and the mirrored
    # copies it refuses there, 8 of 9 are found as whole videos (the mirrored TMK descriptor).
    dense = _sampling_interval(compared) <= SHORT_RULE_MAX_INTERVAL_S
    segments = tuple(s for s in found if not dense
                     or s.query_duration_s >= thresholds.short_evidence_s
                     or s.mean_distance <= thresholds.short_align_mean_distance)
    return ClipEvidence(float(m.query_pct), float(m.compared_pct), segments, bool(segments),
                        thresholds.vpdq_distance, thresholds.vpdq_quality, len(found) - len(segments))


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
        clip = clip_evidence(va, vb, t, dihedral=dihedral, content=_vpdq_content_part(a),
                             compared_content=_vpdq_content_part(b))
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
        how = [x for x in ("content area, bars cut" if whole.view == "content-area" else "",
                           "mirrored" if whole.transform == "flipx" else "") if x]
        how = [_VIEW_WORDS[whole.view]] + how if whole.view in _VIEW_WORDS else how
        what = f"{whole.profile} TMK" + (f" ({', '.join(how)})" if how else "")
        if whole.note:
            parts.append(f"{what} refused: {whole.note}")
        else:
            short = ", short video" if whole.short else ""
            parts.append(f"{what} level 1 {whole.level1:.3f} (>= {whole.threshold_level1}) and "
                         f"level 2 {whole.level2:.3f} (>= {whole.threshold_level2}{short}): {verdict}")
        if whole.view_note and not whole.matched:
            parts.append(whole.view_note)
    if clip is not None:
        if clip.segments:
            s = max(clip.segments, key=lambda x: x.score)
            transform = "" if s.transform == "orig" else f", transform {s.transform}"
            parts.append(f"vPDQ alignment: {len(clip.segments)} segment(s), best query "
                         f"{s.query_start_s:.2f}-{s.query_end_s:.2f} s at {s.compared_start_s:.2f}-"
                         f"{s.compared_end_s:.2f} s (score {s.score:.2f}{transform}): match")
        else:
            refused = (f"; {clip.short_refused} short segment(s) refused as not near-identical"
                       if clip.short_refused else "")
            parts.append(f"vPDQ alignment: no segment ({clip.query_pct:.1f}% of query frames within "
                         f"{clip.distance} bits{refused}): no match")
    return "; ".join(parts)


def _tmk_parts(x: Any) -> tuple[CompactDescriptor | None, CompactDescriptor | None, TMKDescriptor | None]:
    """(compact, content-area compact, reference) of a fingerprint, a descriptor, or an object with
    those attributes (an index entry)."""
    if isinstance(x, CompactDescriptor):
        return x, None, None
    if isinstance(x, TMKDescriptor):
        return None, None, x
    if isinstance(x, Fingerprint) or hasattr(x, "compact"):
        return getattr(x, "compact", None), getattr(x, "compact_content", None), getattr(x, "tmk", None)
    return None, None, None


# -- views of the compact descriptor (vidprint.tmk.views) ------------------------------------------
#: How :func:`explain` names a view of :mod:`vidprint.tmk.views`.
_VIEW_WORDS = {f"zoom-{zoom_name(k)}": f"second side's centre {round(100 * k)}% view" for k in DEFAULT_ZOOMS}
_VIEW_WORDS["active-region"] = "first side's active region"
_VIEW_WORDS[f"centre-{CENTRE_VIEW}"] = f"both sides' centre {CENTRE_VIEW[1:]}% views, edges left out"


def _add_derived_views(views: list, view_note: str | None, a: Any, b: Any, ca: CompactDescriptor,
                       cb: CompactDescriptor, thresholds: Thresholds) -> tuple[list, str | None]:
    """``views`` (``(view, first, second)`` compact descriptor pairs for :func:`whole_evidence`)
    plus, with ``thresholds.views``, the pairs of :mod:`vidprint.tmk.views`: the first side's whole
    frame ``ca`` against each zoom view of the second side (``"zoom-c80"``: the first is a centred
    crop of the second), and the first side's active region against the second's whole frame ``cb``
    (``"active-region"``: the first is a picture-in-picture copy of the second), and the two sides'
    centre 80% views (``"centre-c80"``: a logo or caption near an edge is left out). Like every view,
    each is scored further only where its level 1 passes (:func:`whole_evidence`; the index's
    prefilter makes the same cut). The views a side lacks (written before views existed, a descriptor
    only) are named in the note."""
    if not thresholds.views:
        return views, view_note
    va, vb = _views_part(a), _views_part(b)
    extra = [(f"zoom-{v}", ca, d) for v, d in (vb or {}).items() if f"zoom-{v}" in _VIEW_WORDS]
    if va is not None and ACTIVE_VIEW in va:
        extra.append(("active-region", va[ACTIVE_VIEW], cb))
    if va is not None and vb is not None and CENTRE_VIEW in va and CENTRE_VIEW in vb:
        extra.append((f"centre-{CENTRE_VIEW}", va[CENTRE_VIEW], vb[CENTRE_VIEW]))
    missing = [w for w, v in (("the first side's active region", va), ("the second side's zoom views", vb))
               if v is None]
    if missing:
        note = (f"{' and '.join(missing)} not compared: no view descriptors (written before vidprint "
                "computed them, or a descriptor only)")
        view_note = note if view_note is None else f"{view_note}; {note}"
    return views + extra, view_note


def _views_part(x: Any) -> Mapping[str, CompactDescriptor] | None:
    """``compact_views`` of a fingerprint or an object with that attribute (an index entry), else None."""
    return getattr(x, "compact_views", None) if not isinstance(x, (CompactDescriptor, TMKDescriptor)) else None


def _vpdq_content_part(x: Any) -> VPDQHash | None:
    """``vpdq_content`` of a fingerprint or an index entry (None for a video without bars), else None."""
    return getattr(x, "vpdq_content", None) if not isinstance(x, VPDQHash) else None


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
