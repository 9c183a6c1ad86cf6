"""Research harness: deterministic video transforms and evaluation helpers.

Not part of the fingerprinting API; used by the benchmarks in ``bench/`` to measure how
descriptors behave under the usual near-duplicate edits (:mod:`vidprint.research.transforms`).
"""
from vidprint.research.transforms import TRANSFORMS, apply, decode_rgb

__all__ = ["TRANSFORMS", "apply", "decode_rgb"]
