"""vPDQ hashing: vidprint vs PyPI ``vpdq`` (the reference C++) on the same videos, in one run; and
``align`` time for a 60 s query against a 2-hour video's hashes.

    python bench/vpdq.py [--repeats 3] [VIDEO ...]

Needs PyPI ``vpdq`` in the same environment for the comparison (a benchmark-only install; it builds
against Debian's libav*-dev). Frames/s = hashed frames per wall-clock second, all cores for both
(vpdq ``thread_count=0`` = automatic; vidprint: decoder threads + hashing threads). Medians over
repeats; runs interleaved so machine noise hits both alike.
"""
from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from _common import use_repo_package, video_args

use_repo_package()
import vidprint.vpdq as vv  # noqa: E402
from vidprint.pipeline import hash_vpdq  # noqa: E402
from vidprint.pdqf.hash import hexes_to_words  # noqa: E402

try:
    import vpdq as ref_vpdq
except ImportError:  # pragma: no cover
    ref_vpdq = None


def run_vidprint(paths, size):
    return sum(len(hash_vpdq(p, size=size)) for p in paths)


def run_reference(paths, size):
    n = 0
    for p in paths:
        n += len(ref_vpdq.computeHash(str(p), seconds_per_hash=0, downsample_width=size or 0,
                                      downsample_height=size or 0, thread_count=0))
    return n


def agreement(paths):
    """Fraction of frames where vidprint's and vpdq's native hashes are identical (same machine)."""
    same = total = 0
    for p in paths:
        ours = hash_vpdq(p)
        theirs = ref_vpdq.computeHash(str(p), seconds_per_hash=0, thread_count=0)
        theirs = sorted(theirs, key=lambda f: f.frame_number)
        words = hexes_to_words([f.hex for f in theirs])
        same += int((ours.words == words).all(axis=1).sum())
        total += len(ours)
    return same / max(total, 1)


def bench_align(repeats: int) -> float:
    """Seconds to align a 60 s query (30 fps: 1,800 hashes) against 2 hours (216,000 hashes)."""
    rng = np.random.default_rng(0)
    n_c, n_q, fps = 2 * 3600 * 30, 60 * 30, 30.0
    words = rng.integers(0, 2**63, size=(n_c, 4), dtype=np.int64).astype(np.uint64)
    compared = vv.VPDQHash(words, np.full(n_c, 100), np.arange(n_c), np.arange(n_c) / fps, fps=fps)
    start = 3000 * 30
    flips = rng.integers(0, 2**63, size=(n_q, 4), dtype=np.int64).astype(np.uint64)
    flips &= rng.integers(0, 2**63, size=(n_q, 4), dtype=np.int64).astype(np.uint64)  # ~25% ...
    flips &= rng.integers(0, 2**63, size=(n_q, 4), dtype=np.int64).astype(np.uint64)  # ~12% ...
    flips &= rng.integers(0, 2**63, size=(n_q, 4), dtype=np.int64).astype(np.uint64)  # ~6% of bits
    q_words = words[start : start + n_q] ^ flips
    query = vv.VPDQHash(q_words, np.full(n_q, 100), np.arange(n_q), np.arange(n_q) / fps, fps=fps)
    times, segs = [], []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        segs = vv.align(query, compared)
        times.append(time.perf_counter() - t0)
    assert len(segs) == 1 and abs(segs[0].compared_start_s - 3000) < 1, segs
    return statistics.median(times[1:])


def main() -> int:
    paths, repeats = video_args(__doc__.splitlines()[0])
    frames = run_vidprint(paths[:1], None)  # warm-up (Numba, file cache)
    cases = [("vidprint native", lambda: run_vidprint(paths, None)),
             ("vidprint 128x128", lambda: run_vidprint(paths, 128))]
    if ref_vpdq is not None:
        cases += [("vpdq (reference) native", lambda: run_reference(paths, None)),
                  ("vpdq (reference) 128x128", lambda: run_reference(paths, 128))]
    else:
        print("PyPI vpdq not installed: reference figures skipped")
    times: dict[str, list[float]] = {k: [] for k, _ in cases}
    counts: dict[str, int] = {}
    for _ in range(repeats):
        for name, fn in cases:
            t0 = time.perf_counter()
            counts[name] = fn()
            times[name].append(time.perf_counter() - t0)
    frames = counts["vidprint native"]
    print(f"{len(paths)} videos, {frames} frames hashed (every frame), median of {repeats} runs")
    fps = {k: counts[k] / statistics.median(v) for k, v in times.items()}
    for name in times:
        print(f"  {name:28s} {statistics.median(times[name]):7.2f} s  {fps[name]:7.0f} frames/s")
    if ref_vpdq is not None:
        print(f"  ratio vidprint/vpdq: native {fps['vidprint native'] / fps['vpdq (reference) native']:.2f}x, "
              f"128x128 {fps['vidprint 128x128'] / fps['vpdq (reference) 128x128']:.2f}x")
        print(f"  identical hashes vidprint vs vpdq on this machine (native): {100 * agreement(paths):.1f}% of frames")
    print(f"align: 60 s query (1,800 hashes) vs 2 h (216,000 hashes): {bench_align(repeats):.2f} s (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
