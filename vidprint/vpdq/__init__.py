"""vPDQ: per-frame PDQ hashes of a video, their reference text format, bag-of-frames matching and
temporal clip alignment.

>>> import vidprint.vpdq as vpdq
>>> vh = vpdq.read("chair-19-sd-bar.txt")            # doctest: +SKIP
>>> vpdq.match(vh, other)                            # doctest: +SKIP
MatchResult(query_pct=100.0, compared_pct=91.6, ...)
>>> vpdq.align(clip, vh)                             # doctest: +SKIP
[Segment(query_start_s=0.0, query_end_s=9.97, compared_start_s=4.0, ...)]
"""
from vidprint.vpdq.align import Segment, align, merge_segments
from vidprint.vpdq.features import VPDQFeature, VPDQHash, prune
from vidprint.vpdq.match import (
    CPP_BRUTE_RULE,
    DISTANCE_THRESHOLD,
    QUALITY_THRESHOLD,
    README_RULE,
    RULES,
    THREATEXCHANGE_INDEX_RULE,
    THREATEXCHANGE_RULE,
    MatchResult,
    MatchRule,
    find_pairs,
    pair_finder,
    is_match,
    match,
)
from vidprint.vpdq.textformat import (
    from_signal_str,
    parse_text,
    read,
    read_content,
    sidecar_path,
    to_signal_str,
    to_text,
    write,
)


__all__ = [
    "CPP_BRUTE_RULE",
    "DISTANCE_THRESHOLD",
    "QUALITY_THRESHOLD",
    "README_RULE",
    "RULES",
    "THREATEXCHANGE_INDEX_RULE",
    "THREATEXCHANGE_RULE",
    "MatchResult",
    "MatchRule",
    "Segment",
    "VPDQFeature",
    "VPDQHash",
    "align",
    "merge_segments",
    "find_pairs",
    "pair_finder",
    "from_signal_str",
    "is_match",
    "match",
    "parse_text",
    "prune",
    "read",
    "read_content",
    "sidecar_path",
    "to_signal_str",
    "to_text",
    "write",
]
