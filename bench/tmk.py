"""Benchmark of the TMK+PDQF reference profile: scoring and accumulation (no video decoding).

Run: ``/work/venv/bin/python bench/tmk.py [--quick] [--n-level1 N]``.

Prints medians over repeats and ratios. Reference figure: the reference C++ (``tmkpy``) takes about
4.5 ms per level-2 pair; the target is at least 10x faster (< 0.45 ms). ``tmkpy`` is not installed
here, so the "direct" method (a Numba port of the reference's f32 recurrence) is also timed as a
local stand-in for the reference's cost.

Timings on a shared machine are noisy; OpenBLAS threads contend when other processes are busy,
so ``OPENBLAS_NUM_THREADS=1`` often gives steadier level-2 figures.
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np

import vidprint.tmk as tmk

REFERENCE_MS_PER_LEVEL2_PAIR = 4.5  # reference C++ tmkpy, as stated in the project brief
TMK_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference-data" / "threatexchange" / "tmk"


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn()`` in seconds after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _descriptors(count: int = 8) -> list[tmk.TMKDescriptor]:
    """The reference files if present, otherwise descriptors of random synthetic features."""
    files = sorted(TMK_DIR.glob("*.tmk")) if TMK_DIR.is_dir() else []
    if files:
        return [tmk.read(f) for f in files]
    rng = np.random.default_rng(0)
    return [
        tmk.tmk_from_features(rng.standard_normal((300, 256)).astype(np.float32).cumsum(0))
        for _ in range(count)
    ]


def bench_level1(n: int, repeats: int) -> dict[str, float]:
    """level1_many over ``n`` random float32[256] averages."""
    rng = np.random.default_rng(1)
    avgs = np.empty((n, 256), dtype=np.float32)
    for lo in range(0, n, 1 << 16):
        avgs[lo : lo + (1 << 16)] = rng.standard_normal((min(1 << 16, n - lo), 256), dtype=np.float32)
    q = rng.standard_normal(256, dtype=np.float32)
    norms = np.linalg.norm(avgs, axis=1).astype(np.float64)

    def numpy_baseline():
        return (avgs @ q) / (norms * np.linalg.norm(q))

    t_many = _median_time(lambda: tmk.level1_many(q, avgs), repeats)
    t_norms = _median_time(lambda: tmk.level1_many(q, avgs, norms), repeats)
    t_np = _median_time(numpy_baseline, repeats)
    print(f"level-1, {n:,} descriptors x 256-d (median of {repeats}):")
    print(f"  level1_many                  {t_many * 1e3:8.1f} ms  {n / t_many / 1e6:7.1f} M scores/s")
    print(f"  level1_many, given norms     {t_norms * 1e3:8.1f} ms  {n / t_norms / 1e6:7.1f} M scores/s")
    print(f"  numpy (A @ q) / norms, f32   {t_np * 1e3:8.1f} ms  {n / t_np / 1e6:7.1f} M scores/s"
          f"  (level1_many / numpy time: {t_many / t_np:.2f})")
    return {"level1_scores_per_s": n / t_many}


def bench_level2(repeats: int) -> dict[str, float]:
    """Per-pair level-2 time of each method on pairs of descriptors, and one-to-many."""
    ds = _descriptors()
    pairs = list(itertools.combinations(ds, 2))
    results = {}
    print(f"level-2, {len(pairs)} pairs of {'reference' if TMK_DIR.is_dir() else 'synthetic'} "
          f"descriptors (median of {repeats} passes):")
    for method in ("blocked", "fft", "direct"):
        reps = repeats if method != "direct" else max(1, repeats // 3)
        t = _median_time(lambda: [tmk.level2(a, b, method=method) for a, b in pairs], reps)
        ms = t / len(pairs) * 1e3
        results[method] = ms
        print(f"  level2(method={method!r:9}) {ms:8.3f} ms/pair  {1e3 / ms:8.0f} pairs/s  "
              f"{REFERENCE_MS_PER_LEVEL2_PAIR / ms:6.1f}x vs reference C++ 4.5 ms")
    q, cands = ds[0], ds * 4
    t = _median_time(lambda: tmk.level2_many(q, cands), repeats)
    many_ms = t / len(cands) * 1e3
    print(f"  level2_many (1 vs {len(cands)})     {many_ms:8.3f} ms/pair  {1e3 / many_ms:8.0f} pairs/s  "
          f"{REFERENCE_MS_PER_LEVEL2_PAIR / many_ms:6.1f}x vs reference C++")
    t = _median_time(lambda: [tmk.score(a, b) for a, b in pairs], repeats)
    score_ms = t / len(pairs) * 1e3
    print(f"  score (level 1 + 2, checks) {score_ms:8.3f} ms/pair")
    print(f"  ratios: direct/blocked {results['direct'] / results['blocked']:.1f}x, "
          f"fft/blocked {results['fft'] / results['blocked']:.1f}x")
    return {f"level2_ms_{k}": v for k, v in results.items()}


def bench_accumulate(frames: int, repeats: int) -> dict[str, float]:
    """TMKAccumulator.update throughput on random PDQF-like features."""
    feats = np.random.default_rng(2).standard_normal((frames, 256)).astype(np.float32) * 100

    def run():
        acc = tmk.TMKAccumulator()
        acc.update(feats)
        return acc.finalize()

    t = _median_time(run, repeats)
    print(f"accumulator, {frames:,} frames (median of {repeats}): {t * 1e3:.1f} ms, "
          f"{frames / t:,.0f} frames/s ({frames / t / 15:,.0f}x real time at 15 fps)")
    return {"accumulate_frames_per_s": frames / t}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--n-level1", type=int, default=None, help="descriptors for level 1")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7
    n1 = args.n_level1 or (100_000 if args.quick else 1_000_000)
    out: dict[str, float] = {}
    out |= bench_level1(n1, repeats)
    out |= bench_level2(repeats)
    out |= bench_accumulate(500 if args.quick else 3000, repeats)
    return out


if __name__ == "__main__":
    main()
