"""TMK benchmark, in one run: hashing (reference and compact) next to decode-only, level-1 and
level-2 scores per second for both profiles, the accumulator, and peak memory on a 30-minute video.

Run: ``python bench/tmk.py [--quick] [--n-level1 N] [--minutes 30]``.

Prints medians over repeats and ratios. Reference figure: the reference C++ takes about 4.5 ms per
level-2 pair; when PyPI ``tmkpy`` is installed (benchmark-only) it is measured in the same run on the
same videos. The "direct" method (a Numba port of the reference's f32 recurrence) is timed too.

Timings on a shared machine are noisy; OpenBLAS threads contend when other processes are busy,
so ``OPENBLAS_NUM_THREADS=1`` often gives steadier level-2 figures.
"""
from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from _common import REFERENCE_VIDEOS as VIDEO_DIR, decode_only, quiet_stderr, use_repo_package

use_repo_package()
import vidprint.tmk as tmk  # noqa: E402

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


def bench_hashing(repeats: int) -> dict[str, float]:
    """Frames/s of TMK hashing (both profiles, one pass) next to decode-only, on the reference videos."""
    from vidprint.pipeline import fingerprint

    paths = sorted(VIDEO_DIR.glob("*.mp4"))
    if not paths:
        print("hashing: reference videos not found, skipped")
        return {}
    frames = decode_only(paths)
    fingerprint(paths[0], vpdq=False)  # warm-up
    t_dec, t_tmk = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        decode_only(paths)
        t_dec.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for p in paths:
            fingerprint(p, vpdq=False)
        t_tmk.append(time.perf_counter() - t0)
    d, h = statistics.median(t_dec), statistics.median(t_tmk)
    print(f"hashing, {len(paths)} videos, {frames} decoded frames (median of {repeats}):")
    print(f"  decode only                       {d:7.2f} s  {frames / d:7.0f} frames/s")
    print(f"  TMK reference + compact (1 pass)  {h:7.2f} s  {frames / h:7.0f} frames/s  ({h / d:.2f}x decode)")
    return {"hash_frames_per_s": frames / h, "decode_frames_per_s": frames / d}


def bench_compact(n: int, repeats: int) -> dict[str, float]:
    """Compact profile: level 1 over ``n`` descriptors (int8[128] each), level 2 per pair."""
    rng = np.random.default_rng(3)
    ds = [tmk.compact_from_features(rng.standard_normal((300, 256)).astype(np.float32).cumsum(0))
          for _ in range(8)]
    codes = rng.integers(-127, 128, size=(n, 128), dtype=np.int8)
    t1 = _median_time(lambda: tmk.compact_level1_many(ds[0], codes), repeats)
    pairs = list(itertools.combinations(ds, 2))
    t2 = _median_time(lambda: [tmk.compact_level2(a, b) for a, b in pairs], max(1, repeats // 3))
    ms = t2 / len(pairs) * 1e3
    # batched, as an index confirms candidates: one query against 256 others (distinct objects)
    many = [tmk.compact_from_features(rng.standard_normal((300, 256)).astype(np.float32).cumsum(0))
            for _ in range(256)]
    tb = _median_time(lambda: tmk.compact_level2_many(ds[0], many), max(1, repeats // 3))
    msb = tb / len(many) * 1e3
    print(f"compact profile: level-1 over {n:,} descriptors {t1 * 1e3:.1f} ms ({n / t1 / 1e6:.1f} M scores/s); "
          f"level-2 {ms:.2f} ms/pair one by one ({1e3 / ms:.0f} pairs/s), {msb:.2f} ms/pair batched "
          f"(1 query x {len(many)}: {ms / msb:.1f}x); sizes: level 1 = {tmk.compact.LEVEL1_BYTES} B, "
          f"descriptor = {len(ds[0].to_bytes())} B")
    return {"compact_level1_per_s": n / t1, "compact_level2_ms": ms, "compact_level2_batched_ms": msb}


def bench_tmkpy(repeats: int) -> dict[str, float]:
    """The reference C++ level 2 (PyPI tmkpy), measured here on descriptors it hashes itself."""
    try:
        import tmkpy
    except ImportError:
        print("tmkpy not installed: reference level-2 time not measured (4.5 ms quoted)")
        return {}
    import shutil

    ffmpeg = shutil.which("ffmpeg")
    paths = sorted(VIDEO_DIR.glob("chair-*.mp4"))[:3]
    if not ffmpeg or not paths:
        print("tmkpy: needs /usr/bin/ffmpeg and the reference videos; skipped")
        return {}
    with quiet_stderr():  # its ffmpeg child prints progress there
        vs = [tmkpy.hashVideo(str(p), ffmpeg) for p in paths]
    pairs = list(itertools.combinations(vs, 2)) * 5
    t = _median_time(lambda: [tmkpy.TMKFeatureVectors.computeLevel2Score(a, b) for a, b in pairs], repeats)
    ms = t / len(pairs) * 1e3
    print(f"reference C++ (tmkpy) level-2: {ms:.3f} ms/pair (measured, {len(pairs)} pairs)")
    return {"tmkpy_level2_ms": ms}


_MEMORY_CHILD = r"""
import resource, sys
from vidprint.pipeline import fingerprint
fp = fingerprint(sys.argv[1], vpdq=sys.argv[2] == "both")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, fp.decoded_frames, fp.tmk.frame_count)
"""


def bench_memory(minutes: float) -> dict[str, float]:
    """Peak RSS of a fresh process hashing a generated ``minutes``-long video (320x240, 30 fps)."""
    from vidprint.synth import scene_frames, write_video

    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"vidprint-bench-{minutes:g}min.mp4"
    if not path.exists():
        t0 = time.perf_counter()
        n = int(minutes * 60 * 30)
        write_video(path, scene_frames(7, n, 320, 240, 30.0), 30, crf=30)
        print(f"generated {path} ({n} frames) in {time.perf_counter() - t0:.0f} s")
    out = {}
    for mode in ("tmk", "both"):
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(path), mode], capture_output=True,
                             text=True, check=True)
        mb, frames, tmk_frames = (int(x) for x in res.stdout.split())
        label = "TMK (both profiles)" if mode == "tmk" else "TMK + vPDQ every frame"
        print(f"peak memory hashing a {minutes:g}-minute video, {label}: {mb} MB "
              f"({frames} frames, {tmk_frames} at 15 fps, {time.perf_counter() - t0:.0f} s)")
        out[f"peak_mb_{mode}"] = mb
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--n-level1", type=int, default=None, help="descriptors for level 1")
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the memory-test video (0: skip)")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7
    n1 = args.n_level1 or (100_000 if args.quick else 1_000_000)
    out: dict[str, float] = {}
    out |= bench_hashing(max(1, repeats // 2))
    out |= bench_level1(n1, repeats)
    out |= bench_level2(repeats)
    out |= bench_tmkpy(repeats)
    if "tmkpy_level2_ms" in out:
        print(f"  level-2 speed-up vs measured reference C++: blocked {out['tmkpy_level2_ms'] / out['level2_ms_blocked']:.1f}x, "
              f"fft {out['tmkpy_level2_ms'] / out['level2_ms_fft']:.1f}x")
    out |= bench_compact(n1, repeats)
    out |= bench_accumulate(500 if args.quick else 3000, repeats)
    if args.minutes > 0:
        out |= bench_memory(args.minutes)
    return out


if __name__ == "__main__":
    main()
