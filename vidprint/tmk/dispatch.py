"""One set of scoring verbs for both TMK profiles.

``vidprint.tmk.score(a, b)`` takes two reference descriptors (:class:`TMKDescriptor`, Meta's
``.tmk``) or two compact ones (:class:`CompactDescriptor`, vidprint's ``.vptc``) and returns the
profile's score type; :func:`is_match` applies that profile's documented thresholds to it. The batch
forms take the same kinds of arguments: a query descriptor and a sequence of candidate descriptors
(or, for the level-1 scan, the stacked matrix an index keeps). Mixing profiles raises
:class:`vidprint.errors.IncompatibleDescriptorsError`: the two profiles measure different things and
their scores are not comparable.
"""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from vidprint.errors import IncompatibleDescriptorsError, InvalidArgumentError
from vidprint.tmk import compact as _compact
from vidprint.tmk import compact_scoring as _compact_scoring
from vidprint.tmk import score as _reference
from vidprint.tmk.compact import CompactDescriptor
from vidprint.tmk.compact_scoring import CompactScore
from vidprint.tmk.descriptor import TMKDescriptor
from vidprint.tmk.score import TMKScore

Descriptor = Union[TMKDescriptor, CompactDescriptor]
Score = Union[TMKScore, CompactScore]


def profile_of(d: object) -> str:
    """``"reference"`` or ``"compact"``; :class:`InvalidArgumentError` for anything else."""
    if isinstance(d, TMKDescriptor):
        return "reference"
    if isinstance(d, CompactDescriptor):
        return "compact"
    raise InvalidArgumentError("descriptor", f"expected a TMKDescriptor or CompactDescriptor, got {type(d).__name__}")


def _same_profile(a: object, b: object) -> str:
    pa, pb = profile_of(a), profile_of(b)
    if pa != pb:
        raise IncompatibleDescriptorsError(
            f"a {pa}-profile descriptor cannot be scored against a {pb}-profile one "
            "(compute both profiles with vidprint.fingerprint, or compare like with like)")
    return pa


def score(a: Descriptor, b: Descriptor, **options) -> Score:
    """Level 1 and level 2 of a pair of the same profile: :class:`TMKScore` (reference, options:
    ``method``, ``check``) or :class:`CompactScore` (compact)."""
    if _same_profile(a, b) == "reference":
        return _reference.score(a, b, **options)  # type: ignore[arg-type]
    return _compact_scoring.compact_score(a, b)  # type: ignore[arg-type]


def level1(a: Descriptor, b: Descriptor, **options) -> float:
    """Level-1 cosine of a pair of the same profile, in [-1, 1] (reference options: ``check``)."""
    if _same_profile(a, b) == "reference":
        return _reference.level1(a, b, **options)  # type: ignore[arg-type]
    return _compact_scoring.compact_level1(a, b)  # type: ignore[arg-type]


def level2(a: Descriptor, b: Descriptor, **options) -> float:
    """Level-2 score of a pair of the same profile (reference: ~0..1, options ``method``, ``check``;
    compact: -1..1)."""
    if _same_profile(a, b) == "reference":
        return _reference.level2(a, b, **options)  # type: ignore[arg-type]
    return _compact_scoring.compact_level2(a, b)  # type: ignore[arg-type]


def is_match(s: Score, level1: float | None = None, level2: float | None = None) -> bool:
    """The two-level rule with the profile's default thresholds (reference 0.7/0.7, compact
    :data:`~vidprint.tmk.compact.COMPACT_LEVEL1_THRESHOLD` / ``COMPACT_LEVEL2_THRESHOLD``) unless given."""
    if isinstance(s, TMKScore):
        return _reference.is_match(s, _reference.LEVEL1_THRESHOLD if level1 is None else level1,
                                   _reference.LEVEL2_THRESHOLD if level2 is None else level2)
    if isinstance(s, CompactScore):
        return _compact_scoring.compact_is_match(s, _compact.COMPACT_LEVEL1_THRESHOLD if level1 is None else level1,
                                         _compact.COMPACT_LEVEL2_THRESHOLD if level2 is None else level2)
    raise InvalidArgumentError("score", f"expected a TMKScore or CompactScore, got {type(s).__name__}")


def level1_matrix(candidates: Sequence[Descriptor]) -> np.ndarray:
    """The stacked level-1 vectors of same-profile candidates, as the scans take them:
    reference ``float32[N, 256]`` averages, compact ``int8[N, 128]`` codes."""
    profiles = {profile_of(c) for c in candidates}
    if len(profiles) > 1:
        raise IncompatibleDescriptorsError("candidates mix the reference and compact profiles")
    if not candidates:
        raise InvalidArgumentError("candidates", "no candidates: give at least one descriptor")
    if profiles == {"reference"}:
        return np.stack([c.average for c in candidates]).astype(np.float32)  # type: ignore[union-attr]
    return np.stack([c.level1_int8 for c in candidates])  # type: ignore[union-attr]


def level1_many(query, candidates, norms: np.ndarray | None = None) -> np.ndarray:
    """Level 1 of one query against many: ``float32[N]``.

    ``query``: a descriptor (either profile), or for the reference profile its ``float[256]``
    average. ``candidates``: a sequence of descriptors of the same profile, or their stacked matrix
    (:func:`level1_matrix`: ``float32[N, 256]`` reference averages, ``int8[N, 128]`` compact codes).
    ``norms``: reference profile only, optional precomputed row norms ``float[N]``.
    """
    if not isinstance(candidates, np.ndarray):
        if not hasattr(candidates, "__iter__"):
            raise InvalidArgumentError("candidates", f"expected descriptors or a stacked level-1 matrix, "
                                                     f"got {type(candidates).__name__}")
        candidates = level1_matrix(list(candidates))
    if isinstance(query, CompactDescriptor):
        if candidates.dtype != np.int8:
            raise IncompatibleDescriptorsError("a compact query needs compact candidates (int8[N, 128] codes)")
        return _compact_scoring.compact_level1_many(query, candidates)
    if isinstance(query, TMKDescriptor):
        query = query.average
    if candidates.dtype == np.int8:
        raise IncompatibleDescriptorsError("a reference query cannot be scanned against compact int8 codes")
    return _reference.level1_many(query, candidates, norms)


def level2_many(query: Descriptor, candidates: Sequence[Descriptor], **options) -> np.ndarray:
    """Level 2 of one query against each same-profile candidate: ``float64[N]``."""
    if profile_of(query) == "reference":
        return _reference.level2_many(query, candidates, **options)  # type: ignore[arg-type]
    for c in candidates:
        _same_profile(query, c)
    return _compact_scoring.compact_level2_many(query, candidates)  # type: ignore[arg-type]
