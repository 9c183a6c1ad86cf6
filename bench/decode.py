"""Decode-only vs decode + vidprint's conversion (+ PDQ) for both frame sources, in one run.

    python bench/decode.py [--repeats 3] [VIDEO ...]

Default videos: ../shared/reference-data/threatexchange/videos/*.mp4. Prints frames/s (decoded
frames per wall-clock second, all cores) and each pipeline's time relative to decode-only, medians
over the repeats. "TMK source" = CFR to 15 fps + 64x64 bicubic luma (vidprint's kernels);
"+PDQF" adds the per-frame DCT. "vPDQ source" = every frame at native size; "+PDQ" adds the hash.
"inline" converts in the decoding thread; "worker thread" converts on a thread of its own while
decoding goes on, as ``vidprint.fingerprint`` does.
"""
from __future__ import annotations

import statistics
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import av
import numpy as np

from _common import decode_only, use_repo_package, video_args

use_repo_package()
from vidprint.decode import TMKSource, VPDQSource, read_frames  # noqa: E402
from vidprint.pdqf import hash_luma_batch, pdqf_luma_batch  # noqa: E402


def pyav_reformat_64(paths):
    n = 0
    for p in paths:
        with av.open(str(p)) as c:
            s = c.streams.video[0]
            s.codec_context.thread_type = "AUTO"
            for f in c.decode(s):
                f.reformat(width=64, height=64, format="rgb24", interpolation="BICUBIC").to_ndarray()
                n += 1
    return n


def _consume(batch, work):
    luma = batch.luma  # conversion happens here, lazily, in the consumer's thread
    if work is not None:
        work(np.ascontiguousarray(luma))


def source_only(paths, spec, work=None, threads=0):
    """Read every batch of ``spec``; convert (and ``work``) inline, or on ``threads`` worker threads
    with a bounded queue, as :func:`vidprint.fingerprint.fingerprint` does."""
    if not threads:
        for p in paths:
            for b in read_frames(p, {"s": spec}):
                _consume(b, work)
        return
    with ThreadPoolExecutor(threads) as pool:
        for p in paths:
            pending = deque()
            for b in read_frames(p, {"s": spec}):
                pending.append(pool.submit(_consume, b, work))
                while len(pending) > 2 * threads:
                    pending.popleft().result()
            for f in pending:
                f.result()


def main() -> int:
    paths, repeats = video_args(__doc__.splitlines()[0])
    frames = decode_only(paths)  # warm-up: file cache
    source_only(paths[:1], TMKSource(), pdqf_luma_batch)  # warm-up: Numba
    source_only(paths[:1], VPDQSource(), hash_luma_batch)
    cases = [
        ("decode only (PyAV, threads auto)", lambda: decode_only(paths)),
        ("decode + PyAV reformat 64x64 bicubic", lambda: pyav_reformat_64(paths)),
        ("TMK source (CFR 15 fps, 64x64 luma), inline", lambda: source_only(paths, TMKSource())),
        ("TMK source, 1 worker thread", lambda: source_only(paths, TMKSource(), threads=1)),
        ("TMK source + PDQF, 1 worker thread", lambda: source_only(paths, TMKSource(), pdqf_luma_batch, 1)),
        ("vPDQ source (every frame, native luma), inline", lambda: source_only(paths, VPDQSource())),
        ("vPDQ source + PDQ hash, 2 worker threads",
         lambda: source_only(paths, VPDQSource(), hash_luma_batch, 2)),
    ]
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(repeats):
        for name, fn in cases:  # interleaved, so machine noise hits every case alike
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times[cases[0][0]])
    print(f"{len(paths)} videos, {frames} decoded frames, median of {repeats} runs")
    print(f"{'pipeline':50s} {'seconds':>8s} {'frames/s':>9s} {'vs decode':>9s}")
    for name, _ in cases:
        t = statistics.median(times[name])
        print(f"{name:50s} {t:8.3f} {frames / t:9.0f} {t / base:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
