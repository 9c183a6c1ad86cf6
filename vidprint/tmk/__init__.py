"""TMK+PDQF whole-video descriptors: the reference profile (docs/algorithms.md §2 and §5.1) and vidprint's compact one.

* :class:`TMKDescriptor`, :func:`read` and ``TMKDescriptor.write`` / ``to_bytes``: the ``.tmk``
  binary format, byte-for-byte compatible with the reference files.
* :class:`TMKAccumulator`: streaming accumulation of per-frame PDQF vectors into a descriptor.
* :class:`CompactDescriptor` (``.vptc``), :class:`CompactAccumulator`: the compact profile.
* :func:`score`, :func:`level1`, :func:`level2`, :func:`level1_many`, :func:`level2_many`,
  :func:`is_match`: two-level scoring for either profile (same-profile pairs), with each profile's
  documented thresholds.
"""
from vidprint.tmk.accumulate import TMKAccumulator, tmk_from_features
from vidprint.tmk.compact import COMPACT_LEVEL1_THRESHOLD, COMPACT_LEVEL2_THRESHOLD, CompactDescriptor
from vidprint.tmk.compact_accumulate import CompactAccumulator, compact_from_features
from vidprint.tmk.compact_scoring import (
    CompactScore,
    compact_is_match,
    compact_level1,
    compact_level1_many,
    compact_level2,
    compact_level2_many,
    compact_level2_pairs,
    compact_score,
)
from vidprint.tmk.descriptor import TMKDescriptor, read
from vidprint.tmk.params import (
    FEATURE_DIM,
    FPS,
    NUM_COEFFICIENTS,
    pair_score_normalizer,
    poullot_coefficients,
    poullot_periods,
)
from vidprint.tmk.score import (
    LEVEL1_THRESHOLD,
    LEVEL2_THRESHOLD,
    IncompatibleDescriptorsError,
    TMKScore,
    check_compatible,
)
from vidprint.tmk.dispatch import (
    is_match,
    level1,
    level1_many,
    level1_matrix,
    level2,
    level2_many,
    profile_of,
    score,
)


__all__ = [
    "COMPACT_LEVEL1_THRESHOLD",
    "COMPACT_LEVEL2_THRESHOLD",
    "CompactAccumulator",
    "CompactDescriptor",
    "CompactScore",
    "compact_from_features",
    "compact_is_match",
    "compact_level1",
    "compact_level1_many",
    "compact_level2",
    "compact_level2_many",
    "compact_level2_pairs",
    "level1_matrix",
    "profile_of",
    "compact_score",
    "FEATURE_DIM",
    "FPS",
    "IncompatibleDescriptorsError",
    "LEVEL1_THRESHOLD",
    "LEVEL2_THRESHOLD",
    "NUM_COEFFICIENTS",
    "TMKAccumulator",
    "TMKDescriptor",
    "TMKScore",
    "check_compatible",
    "is_match",
    "level1",
    "level1_many",
    "level2",
    "level2_many",
    "pair_score_normalizer",
    "poullot_coefficients",
    "poullot_periods",
    "read",
    "score",
    "tmk_from_features",
]
