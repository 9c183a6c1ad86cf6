"""The matching methods the evaluation compares, behind one interface.

A :class:`Method` scores an ordered pair (query, compared) of :class:`vidprint.pipeline.Fingerprint`:
the query is the (possibly transformed) copy, the compared video the original in the collection.
It returns a :class:`PairScore`: a scalar ``score`` that thresholds sweep (ROC, calibration), the
decision ``matched`` at the method's default thresholds, and for methods that locate content, where
in the compared video the query was found.

Scalar scores of two-level TMK methods: ``level 2`` when level 1 passes the method's default level-1
threshold, else ``-inf`` (the prefilter rejects the pair; level 2 is not even computed, as in an index
query). Sweeping a threshold over that score is sweeping the level-2 threshold with level 1 fixed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import vidprint.tmk as S
import vidprint.vpdq as V
import vidprint.matching as M
from vidprint.pipeline import Fingerprint
from vidprint.tmk import compact as C
from vidprint.tmk.mirror import compact_score_oriented, mirror_tmk

NEG_INF = -math.inf


@dataclass(frozen=True)
class Record:
    """What the methods see of one video: its :class:`Fingerprint` (attributes are forwarded) plus
    the content-area compact descriptor (:mod:`vidprint.tmk.bars`) when computed."""

    fp: Fingerprint
    compact_bars: C.CompactDescriptor | None = None
    bars_fraction: float = 0.0  # fraction of frames that had bars cut

    def __getattr__(self, name: str):
        if name == "fp":  # not yet set (unpickling)
            raise AttributeError(name)
        return getattr(self.fp, name)


def _fp(x) -> Fingerprint:
    return x.fp if isinstance(x, Record) else x


@dataclass(frozen=True)
class PairScore:
    """One method's verdict on one pair.

    ``score``: the swept scalar (higher = more similar; -inf = rejected unscored). ``matched``: the
    decision at the method's defaults. ``level1``: the prefilter score of TMK methods (NaN otherwise).
    ``start_s`` / ``end_s``: the located interval in the compared video (NaN if none).
    ``orientation``: which query orientation matched ("orig", "flipx").
    """

    score: float
    matched: bool
    level1: float = math.nan
    start_s: float = math.nan
    end_s: float = math.nan
    orientation: str = "orig"


@dataclass(frozen=True)
class Method:
    """A named matching method: ``fn(query, compared) -> PairScore``; ``needs`` is "tmk", "vpdq",
    "bars" (the content-area descriptor of :class:`Record`), "both", or "index" (not a pair
    function: the harness builds a :mod:`vidprint.index` store of the originals and queries it once
    per video, :func:`vidprint.eval.harness.score_index`)."""

    name: str
    fn: Callable[[Fingerprint, Fingerprint], PairScore]
    needs: str
    default: str  # the default decision, human readable, for the report
    locates: bool = False
    any_of: tuple[str, ...] = ()  # a derived method: matched if any of these methods matched

    def __call__(self, query: Fingerprint, compared: Fingerprint) -> PairScore:
        return self.fn(query, compared)


# ------------------------------------------------------------------------------------------------
# TMK


def _reference(q: Fingerprint, c: Fingerprint, flip: bool = False) -> PairScore:
    best = None
    for name in (("orig", "flipx") if flip else ("orig",)):
        cc = c.tmk if name == "orig" else mirror_tmk(c.tmk, name)
        l1 = S.level1(q.tmk, cc)
        if l1 < S.LEVEL1_THRESHOLD:
            ps = PairScore(NEG_INF, False, l1, orientation=name)
        else:
            l2 = S.level2(q.tmk, cc)
            ps = PairScore(l2, l2 >= S.LEVEL2_THRESHOLD, l1, orientation=name)
        if best is None or (ps.score, ps.level1) > (best.score, best.level1):
            best = ps
    return best


def _compact(q: Fingerprint, c: Fingerprint, orientations=("orig",), attr: str = "compact") -> PairScore:
    sc, name = compact_score_oriented(getattr(q, attr), getattr(c, attr), orientations,
                                      C.COMPACT_LEVEL1_THRESHOLD)
    if sc.level1 < C.COMPACT_LEVEL1_THRESHOLD:
        return PairScore(NEG_INF, False, sc.level1, orientation=name)
    return PairScore(sc.level2, sc.level2 >= C.COMPACT_LEVEL2_THRESHOLD, sc.level1, orientation=name)


# ------------------------------------------------------------------------------------------------
# vPDQ


def _rule_method(rule: V.MatchRule) -> Callable[[Fingerprint, Fingerprint], PairScore]:
    def fn(q: Fingerprint, c: Fingerprint) -> PairScore:
        r = V.match(q.vpdq, c.vpdq, rule=rule)
        # the swept score is the percentage the rule thresholds (the larger bound if both are used)
        pct = r.compared_pct if rule.min_compared_pct >= rule.min_query_pct else r.query_pct
        return PairScore(float(pct), V.is_match(r, rule))

    return fn


def _align(q: Fingerprint, c: Fingerprint) -> PairScore:
    segs = V.align(q.vpdq, c.vpdq)
    if not segs:
        return PairScore(0.0, False)
    best = max(segs, key=lambda s: (s.score * s.matched_frames, s.score))
    # Locate the whole query, not only its matched frames: the best segment's line at the query's
    # first and last frame (unmatched ends, e.g. quality < 50 frames, would otherwise count as a
    # location error although the alignment is right; docs/eval-clips.md).
    t = q.vpdq.timestamps
    if len(t):
        return PairScore(float(best.score), True, start_s=best.compared_at(float(t.min())),
                         end_s=best.compared_at(float(t.max())))
    return PairScore(float(best.score), True, start_s=float(best.compared_start_s),
                     end_s=float(best.compared_end_s))


# ------------------------------------------------------------------------------------------------
# Short evidence: the look-alike guard (docs/evaluation.md, "Look-alikes")


@dataclass(frozen=True)
class ShortEvidence:
    """Stricter thresholds where the evidence is short.

    A few seconds of one scene (one signer in one room, one desktop window) is weak evidence: two
    *different* short videos of the same place share their background and the shape of their motion,
    and score like copies. So when the evidence lasts less than ``min_seconds``:

    * whole video (compact TMK): the shorter of the two videos is under ``min_seconds`` (the
      descriptors' ``duration_s``) -> level 2 must reach ``level2`` (instead of the usual 0.6);
    * clip (vPDQ alignment): an aligned segment whose query span is under ``min_seconds`` counts only
      if its matched frames are near-identical: ``Segment.mean_distance <= max_mean_distance`` bits
      (instead of the 31 of the frame-pair search).

    Longer evidence is judged by the usual thresholds. Values: calibrated on the ASL look-alike set,
    docs/evaluation.md (0 of 60,062 unrelated pairs flagged on that run; the margins are small).
    """

    # the product's defaults (vidprint.matching.Thresholds); other values for the trade-off sweeps
    min_seconds: float = M.DEFAULT_THRESHOLDS.short_evidence_s
    level2: float = M.DEFAULT_THRESHOLDS.short_compact_level2
    max_mean_distance: float = M.DEFAULT_THRESHOLDS.short_align_mean_distance

    def whole_ok(self, level2: float, duration_s: float) -> bool:
        """Whole-video evidence that passed the usual thresholds: does it also pass this rule?"""
        return not (duration_s < self.min_seconds) or level2 >= self.level2

    def segment_ok(self, seg: V.Segment) -> bool:
        """An aligned segment that passed :func:`vidprint.vpdq.align`: does it also pass this rule?"""
        return seg.query_duration_s >= self.min_seconds or seg.mean_distance <= self.max_mean_distance


SHORT_EVIDENCE = ShortEvidence()


def segment_location(seg: V.Segment, query) -> tuple[float, float]:
    """Where the whole query sits in the compared video by ``seg``'s line: the line at the query's
    first and last frame (as ``vpdq-align`` locates, docs/eval-clips.md), or the segment's own ends
    when the query has no frames."""
    t = query.vpdq.timestamps if getattr(query, "vpdq", None) is not None else ()
    if len(t):
        return seg.compared_at(float(t.min())), seg.compared_at(float(t.max()))
    return float(seg.compared_start_s), float(seg.compared_end_s)


def _duration(x) -> float:
    d = getattr(getattr(x, "compact", None), "duration_s", None)
    return float(d) if d is not None else math.inf


def _policy_short(q, c, rule: ShortEvidence = SHORT_EVIDENCE) -> PairScore:
    """``policy+flip+bars`` (compact TMK in both orientations, whole frame or content area; or a vPDQ
    alignment segment) with :class:`ShortEvidence` applied to each kind of evidence. Decision only:
    ``score`` is 1.0 when matched, else 0.0."""
    whole = _compact(q, c, ("orig", "flipx"))
    if getattr(q, "compact_bars", None) is not None and getattr(c, "compact_bars", None) is not None:
        wb = _compact(q, c, ("orig", "flipx"), attr="compact_bars")
        if (wb.matched, wb.score) > (whole.matched, whole.score):
            whole = wb
    whole_ok = whole.matched and rule.whole_ok(whole.score, min(_duration(q), _duration(c)))
    # alignment even when the whole video matched: it says where the query sits (cheap, ~0.3 ms)
    segs = [g for g in V.align(q.vpdq, c.vpdq) if rule.segment_ok(g)]
    best = max(segs, key=lambda s: (s.score * s.matched_frames, s.score)) if segs else None
    start, end = segment_location(best, q) if best else (math.nan, math.nan)
    if whole_ok:
        return PairScore(1.0, True, whole.level1, start, end, orientation=whole.orientation)
    return PairScore(float(best is not None), best is not None, whole.level1, start, end)


def _combined_method() -> Method:
    """vidprint's combined verdict (:func:`vidprint.matching.compare`)."""

    def fn(q: Fingerprint, c: Fingerprint) -> PairScore:
        cmp = M.compare(_fp(q), _fp(c))
        whole = getattr(cmp, "whole", None)
        clip = getattr(cmp, "clip", None)
        # a decision (1 = matched), as the index method: the verdict combines scores of different
        # kinds (and views), so no one of them is a threshold to sweep
        score = float(bool(cmp.matched))
        start = end = math.nan
        segs = getattr(clip, "segments", ()) if clip is not None else ()
        if segs:
            best = max(segs, key=lambda s: s.matched_frames)
            start, end = float(best.compared_start_s), float(best.compared_end_s)
        level1 = float(whole.level1) if whole is not None else math.nan
        return PairScore(score, bool(cmp.matched), level1, start_s=start, end_s=end)

    return Method("vidprint-compare", fn, "both", "vidprint.matching.compare defaults (a decision: 1 = matched)",
                  locates=True)


INDEX_METHOD = "index"


def _index_placeholder(q, c):  # pragma: no cover - scored per query by harness.score_index
    raise RuntimeError("the index method is scored per query by vidprint.eval.harness, not per pair")


def _derived(name: str, *parts: str) -> Method:
    def fn(q, c):  # pragma: no cover - computed from the parts' results by the harness
        raise RuntimeError(f"{name} is derived from {parts}")

    return Method(name, fn, "derived", " or ".join(parts) + " matched", locates=True, any_of=parts)


def all_methods(flip: bool = True, compare: bool = False) -> dict[str, Method]:
    """Every method, in report order. ``flip`` adds the two-orientation TMK variants.

    The *policy* methods are derived (no extra scoring): ``policy`` is vidprint.matching.compare's
    documented rule (whole-video compact TMK or a vPDQ alignment segment); ``policy+flip+bars`` the
    same with the content-area, two-orientation compact descriptor. ``policy+flip+bars+short`` adds
    the look-alike guard :class:`ShortEvidence` (a decision-only base method); ``index`` is the
    index's combined query (decision only, scored per query by the harness). ``compare=True`` adds
    ``vidprint-compare``, the real :func:`vidprint.matching.compare` call (about 20 ms a pair, as it
    computes every score of both kinds), to check the derived policy against it.
    """
    ms: list[Method] = [
        Method("tmk-reference", _reference, "tmk", f"L1 >= {S.LEVEL1_THRESHOLD}, L2 >= {S.LEVEL2_THRESHOLD}"),
        Method("tmk-compact", _compact, "tmk",
               f"L1 >= {C.COMPACT_LEVEL1_THRESHOLD}, L2 >= {C.COMPACT_LEVEL2_THRESHOLD}"),
    ]
    if flip:
        ms.append(Method("tmk-reference+flip", lambda q, c: _reference(q, c, flip=True), "tmk",
                         "reference thresholds, both orientations"))
        ms.append(Method("tmk-compact+flip", lambda q, c: _compact(q, c, ("orig", "flipx")), "tmk",
                         "compact thresholds, both orientations"))
    ms.append(Method("tmk-compact-bars", lambda q, c: _compact(q, c, attr="compact_bars"), "bars",
                     "compact thresholds on the content area (bars cut)"))
    if flip:
        ms.append(Method("tmk-compact-bars+flip",
                         lambda q, c: _compact(q, c, ("orig", "flipx"), attr="compact_bars"), "bars",
                         "compact thresholds on the content area, both orientations"))
    for rule in V.RULES.values():
        ms.append(Method(f"vpdq:{rule.name}", _rule_method(rule), "vpdq",
                         f"D {'<' if rule.strict else '<='} {rule.distance}, Q >= {rule.quality}, "
                         f"query% >= {rule.min_query_pct:g}, compared% >= {rule.min_compared_pct:g}"))
    ms.append(Method("vpdq-align", _align, "vpdq", "vidprint.vpdq.align defaults (any segment)", locates=True))
    ms.append(_derived("policy", "tmk-compact", "vpdq-align"))
    if flip:
        ms.append(_derived("policy+flip+bars", "tmk-compact+flip", "tmk-compact-bars+flip", "vpdq-align"))
        ms.append(Method("policy+flip+bars+short", _policy_short, "bars",
                         f"policy+flip+bars; evidence under {SHORT_EVIDENCE.min_seconds:g} s: level 2 >= "
                         f"{SHORT_EVIDENCE.level2:g}, aligned frames <= {SHORT_EVIDENCE.max_mean_distance:g} bits "
                         "on average", locates=True))
    ms.append(Method(INDEX_METHOD, _index_placeholder, "index",
                     "vidprint.index query at vidprint.matching.Thresholds defaults (whole or clip)",
                     locates=True))
    # "tmk-compact-zoom" (docs/eval-views.md): the query's compact descriptor against the original's
    # plain and centred zoom views (vidprint.tmk.views.DEFAULT_ZOOMS: a 20% crop shows what the
    # centre-80% view shows); the best level 2 among views whose level 1 passes. The views come from
    # the original's Fingerprint.compact_views, or for a fingerprint cached before they existed, from
    # its file (one decoding pass per original and call of all_methods); else the plain score.
    from vidprint.tmk.views import zoom_descriptors  # noqa: PLC0415

    zoom_cache: dict[str, dict] = {}

    def _compact_zoom(q, c) -> PairScore:
        src = getattr(_fp(c), "source", None)
        stored = getattr(_fp(c), "compact_views", None)
        if stored is not None and isinstance(src, str) and src not in zoom_cache:
            zoom_cache[src] = {k: v for k, v in stored.items() if k != "active"}
        if isinstance(src, str) and src not in zoom_cache:
            import os  # noqa: PLC0415

            try:
                zoom_cache[src] = zoom_descriptors(src) if os.path.isfile(src) else {}
            except Exception:  # noqa: BLE001 - the plain descriptor still scores the pair
                zoom_cache[src] = {}
        best = _compact(q, c)
        for d in zoom_cache.get(src, {}).values():
            sc, _ = compact_score_oriented(q.compact, d, ("orig",), C.COMPACT_LEVEL1_THRESHOLD)
            if sc.level1 >= C.COMPACT_LEVEL1_THRESHOLD and sc.level2 > best.score:
                best = PairScore(sc.level2, sc.level2 >= C.COMPACT_LEVEL2_THRESHOLD, sc.level1)
        return best

    ms.append(Method("tmk-compact-zoom", _compact_zoom, "tmk",
                     "compact thresholds, best of the original's plain and centred zoom views"))
    if compare:
        ms.append(_combined_method())
    return {m.name: m for m in ms}
