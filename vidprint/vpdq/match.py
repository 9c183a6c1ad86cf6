"""vPDQ bag-of-frames matching (docs/algorithms.md §3.2, §4.4): what fraction of each video's frames has a near
duplicate somewhere in the other video. Frame order and timestamps are ignored (see
:mod:`vidprint.vpdq.align` for temporal alignment).

Default procedure (:func:`match`, the vPDQ README algorithm):

1. keep frames with ``quality >= quality`` (F), then de-duplicate by hash (exact 256-bit equality,
   first occurrence kept);
2. ``query_pct`` = 100 * (filtered unique query frames with some filtered unique compared frame at
   Hamming distance ``<= distance`` (D, inclusive)) / (number of filtered unique query frames);
   ``compared_pct`` symmetrically.
3. If either filtered set is empty, both percentages are 0 (as the C++ brute matcher does;
   python-threatexchange's brute matcher raises ZeroDivisionError, its index returns no match).

Differences between the reference tools, and how to reproduce each with a :class:`MatchRule`:

================================  ==========  =======================  ========  ==================
rule                              distance    de-duplication           query %   compared %
================================  ==========  =======================  ========  ==================
``README_RULE``                   ``<= 31``   filter, then dedupe      >= 0      >= 80
``THREATEXCHANGE_RULE`` (brute)   ``<= 31``   dedupe, then filter      >= 80     >= 0
``THREATEXCHANGE_INDEX_RULE``     ``<= 31``   filter, then dedupe      >= 80     >= 0
``CPP_BRUTE_RULE``                ``< 31``    none                     >= 0      >= 80 (*)
================================  ==========  =======================  ========  ==================

(*) ``match-hashes-brute`` only prints the two percentages; the README's thresholds are attached so
that the rule can decide. Dedupe order only matters when equal hashes carry different qualities.
The python-threatexchange index additionally searches with D = 31 whatever it is configured with.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from vidprint.errors import InvalidArgumentError
from vidprint.vpdq import _kernels
from vidprint.vpdq.features import VPDQHash, require_vpdq

Dedupe = Literal["filter-then-dedupe", "dedupe-then-filter", "none"]
DISTANCE_THRESHOLD = 31  # bits, inclusive in the README and python-threatexchange
QUALITY_THRESHOLD = 50  # frames with quality below this are ignored

# Above this many pair tests, exact multi-index search (16 x 16-bit slots) replaces brute force.
_BRUTE_MAX_PAIRS = 4_000_000


@dataclass(frozen=True)
class MatchResult:
    """Bag-of-frames match percentages (0..100) and the counts behind them."""

    query_pct: float
    compared_pct: float
    query_frames: int = 0  # frames of the query left after filtering (and de-duplication)
    compared_frames: int = 0
    query_matched: int = 0  # of those, how many have a match on the other side
    compared_matched: int = 0


@dataclass(frozen=True)
class MatchRule:
    """A matching procedure plus decision thresholds (percentages are inclusive lower bounds)."""

    name: str
    min_query_pct: float
    min_compared_pct: float
    distance: int = DISTANCE_THRESHOLD
    quality: int = QUALITY_THRESHOLD
    strict: bool = False  # True: distance < D (C++); False: distance <= D
    dedupe: Dedupe = "filter-then-dedupe"


README_RULE = MatchRule("vpdq-readme", min_query_pct=0.0, min_compared_pct=80.0)
THREATEXCHANGE_RULE = MatchRule(
    "python-threatexchange-brute", min_query_pct=80.0, min_compared_pct=0.0, dedupe="dedupe-then-filter"
)
THREATEXCHANGE_INDEX_RULE = MatchRule(
    "python-threatexchange-index", min_query_pct=80.0, min_compared_pct=0.0, dedupe="filter-then-dedupe"
)
CPP_BRUTE_RULE = MatchRule(
    "cpp-match-hashes-brute", min_query_pct=0.0, min_compared_pct=80.0, strict=True, dedupe="none"
)
RULES = {r.name: r for r in (README_RULE, THREATEXCHANGE_RULE, THREATEXCHANGE_INDEX_RULE, CPP_BRUTE_RULE)}


def _first_unique(words: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Subset of ``idx`` (ascending) whose hash is not equal to an earlier one in ``idx``."""
    if idx.size == 0:
        return idx
    rows = np.ascontiguousarray(words[idx]).view(np.dtype((np.void, 32))).reshape(-1)
    _, first = np.unique(rows, return_index=True)
    return idx[np.sort(first)]


def prepare(vh: VPDQHash, quality: int, dedupe: Dedupe) -> np.ndarray:
    """Indices of the frames of ``vh`` that take part in matching, in frame order."""
    allidx = np.arange(len(vh))
    if dedupe == "dedupe-then-filter":
        u = _first_unique(vh.words, allidx)
        return u[vh.quality[u] >= quality]
    keep = allidx[vh.quality >= quality]
    if dedupe == "filter-then-dedupe":
        return _first_unique(vh.words, keep)
    if dedupe == "none":
        return keep
    raise InvalidArgumentError("dedupe", f"unknown dedupe mode {dedupe!r}")


def _words_arg(x: np.ndarray) -> np.ndarray:
    # Numba compiles read-only arrays (VPDQHash columns) as a separate type: pass writable copies so
    # every call reuses one cached specialisation.
    arr = np.ascontiguousarray(x, dtype=np.uint64)
    return arr if arr.flags.writeable else arr.copy()


def within(q: np.ndarray, c: np.ndarray, max_dist: int) -> tuple[np.ndarray, np.ndarray]:
    """For ``uint64[N, 4]`` and ``uint64[M, 4]``: ``(bool[N], bool[M])``, True where the hash has a
    hash on the other side at distance ``<= max_dist``."""
    q, c = _words_arg(q), _words_arg(c)
    qflag = np.zeros(q.shape[0], dtype=np.bool_)
    cflag = np.zeros(c.shape[0], dtype=np.bool_)
    if max_dist < 0 or q.shape[0] == 0 or c.shape[0] == 0:
        return qflag, cflag
    if q.shape[0] * c.shape[0] <= _BRUTE_MAX_PAIRS or max_dist >= 48:
        _kernels.match_flags(q, c, int(max_dist), qflag, cflag)
    else:
        qi, cj, _ = find_pairs(q, c, max_dist)
        qflag[qi] = True
        cflag[cj] = True
    return qflag, cflag


def pair_finder(c: np.ndarray, max_dist: int, n_queries: int = 0):
    """Prepare exact search of ``uint64[M, 4]`` hashes ``c`` at distance ``<= max_dist``.

    Returns ``f(q) -> (qi int32[P], cj int32[P], dist int16[P])``, reusable for many query arrays
    (e.g. the dihedral variants of one query). A multi-index over ``c`` (16 slots of 16 bits, probing
    every slot value within ``max_dist // 16`` bits: no false negatives by pigeonhole, docs/algorithms.md §4.2) is
    built when ``max_dist < 48`` and ``n_queries * M`` is large; brute force otherwise.
    """
    c = _words_arg(c)
    radius = max_dist // 16
    if max_dist < 0 or c.shape[0] == 0:
        def none(q):
            e = np.empty(0, dtype=np.int32)
            return e, e.copy(), np.empty(0, dtype=np.int16)
        return none
    if radius > 2 or n_queries * c.shape[0] <= _BRUTE_MAX_PAIRS // 8:
        return lambda q: _kernels.pairs_brute(_words_arg(q), c, int(max_dist))
    offsets, rows = _kernels.mih_build(c)
    return lambda q: _kernels.mih_pairs(_words_arg(q), c, offsets, rows, int(max_dist), int(radius))


def find_pairs(q: np.ndarray, c: np.ndarray, max_dist: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs at Hamming distance ``<= max_dist``: ``(qi int32[P], cj int32[P], dist int16[P])``.

    Exact (see :func:`pair_finder` for the method). Pair order is unspecified.
    """
    q = _words_arg(q)
    if q.shape[0] == 0:
        e = np.empty(0, dtype=np.int32)
        return e, e.copy(), np.empty(0, dtype=np.int16)
    return pair_finder(c, max_dist, q.shape[0])(q)


def match(
    query: VPDQHash,
    compared: VPDQHash,
    distance: int = DISTANCE_THRESHOLD,
    quality: int = QUALITY_THRESHOLD,
    *,
    dedupe: Dedupe = "filter-then-dedupe",
    strict: bool = False,
    rule: MatchRule | None = None,
) -> MatchResult:
    """Bag-of-frames vPDQ match of two videos (module docstring). Percentages are 0..100.

    ``distance``: Hamming threshold D in bits, inclusive unless ``strict`` (then ``< D``).
    ``quality``: frames with quality below F are ignored. ``dedupe``: de-duplication mode.
    ``rule``: if given, its distance / quality / strict / dedupe settings replace the arguments.
    Empty filtered sets give ``MatchResult(0, 0)``.
    """
    require_vpdq(query, "query")
    require_vpdq(compared, "compared")
    if rule is not None:
        distance, quality, strict, dedupe = rule.distance, rule.quality, rule.strict, rule.dedupe
    qi = prepare(query, quality, dedupe)
    ci = prepare(compared, quality, dedupe)
    nq, nc = int(qi.size), int(ci.size)
    if nq == 0 or nc == 0:
        return MatchResult(0.0, 0.0, nq, nc, 0, 0)
    qflag, cflag = within(query.words[qi], compared.words[ci], distance - 1 if strict else distance)
    mq, mc = int(qflag.sum()), int(cflag.sum())
    return MatchResult(mq * 100.0 / nq, mc * 100.0 / nc, nq, nc, mq, mc)


def is_match(result: MatchResult, rule: MatchRule = README_RULE) -> bool:
    """Decision of ``rule`` on ``result``: ``query_pct >= rule.min_query_pct`` and
    ``compared_pct >= rule.min_compared_pct``. An empty comparison (0 frames on a side) never matches."""
    if result.query_frames == 0 or result.compared_frames == 0:
        return False
    return result.query_pct >= rule.min_query_pct and result.compared_pct >= rule.min_compared_pct
