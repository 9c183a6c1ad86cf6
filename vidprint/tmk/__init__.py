"""TMK+PDQF whole-video descriptors, reference profile (spec §2 and §5.1).

* :class:`TMKDescriptor`, :func:`read` and ``TMKDescriptor.write`` / ``to_bytes``: the ``.tmk``
  binary format, byte-for-byte compatible with the reference files.
* :class:`TMKAccumulator`: streaming accumulation of per-frame PDQF vectors into a descriptor.
* :func:`score`, :func:`level1`, :func:`level2`, :func:`level1_many`, :func:`level2_many`,
  :func:`is_match`: two-level pair scoring with the reference thresholds.
"""
from vidprint.tmk.accumulate import TMKAccumulator, tmk_from_features
from vidprint.tmk.compact import (
    COMPACT_LEVEL1_THRESHOLD,
    COMPACT_LEVEL2_THRESHOLD,
    CompactAccumulator,
    CompactDescriptor,
    CompactScore,
    compact_from_features,
    compact_is_match,
    compact_level1,
    compact_level1_many,
    compact_level2,
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
    is_match,
    level1,
    level1_many,
    level2,
    level2_many,
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
