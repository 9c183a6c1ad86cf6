"""The full fingerprint (TMK reference at 15 fps + vPDQ every frame, native size, ONE decode) next to
decode-only and next to the two reference tools run separately, in one run.

    python bench/fingerprint.py [--repeats 3] [VIDEO ...]

Reference tools (benchmark-only installs, in the benchmark's own environment): PyPI ``vpdq`` (C++
vPDQ, every frame, ``thread_count=0``) and PyPI ``tmkpy`` (C++ TMK+PDQF, driving Debian's
``/usr/bin/ffmpeg`` as its frame source). Medians over repeats, cases interleaved.
"""
from __future__ import annotations

import shutil
import statistics
import sys
import time


from _common import decode_only, quiet_stderr, use_repo_package, video_args

use_repo_package()
from vidprint.pipeline import fingerprint  # noqa: E402

try:
    import vpdq as ref_vpdq
except ImportError:  # pragma: no cover
    ref_vpdq = None
try:
    import tmkpy
except ImportError:  # pragma: no cover
    tmkpy = None
FFMPEG = shutil.which("ffmpeg")


def vidprint_full(paths):
    return sum(fingerprint(p).decoded_frames for p in paths)


def ref_vpdq_all(paths):
    return sum(len(ref_vpdq.computeHash(str(p), seconds_per_hash=0, thread_count=0)) for p in paths)


def ref_tmk_all(paths):
    with quiet_stderr():  # tmkpy's ffmpeg child writes progress there
        return sum(tmkpy.hashVideo(str(p), FFMPEG).getFrameFeatureCount() for p in paths)


def main() -> int:
    paths, repeats = video_args(__doc__.splitlines()[0])
    vidprint_full(paths[:1])  # warm-up: Numba, file cache
    cases = [("decode only (PyAV)", decode_only), ("vidprint fingerprint (TMK + vPDQ)", vidprint_full)]
    if ref_vpdq is not None:
        cases.append(("reference vpdq, every frame", ref_vpdq_all))
    if tmkpy is not None and FFMPEG:
        cases.append(("reference tmk-hash-video (tmkpy + ffmpeg)", ref_tmk_all))
    times: dict[str, list[float]] = {k: [] for k, _ in cases}
    for _ in range(repeats):
        for name, fn in cases:
            t0 = time.perf_counter()
            fn(paths)
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    frames = decode_only(paths)
    print(f"{len(paths)} videos, {frames} frames, median of {repeats} runs")
    for name, t in med.items():
        print(f"  {name:44s} {t:7.2f} s  {frames / t:6.0f} frames/s  {t / med[cases[0][0]]:5.2f}x decode")
    refs = [k for k in med if k.startswith("reference")]
    if len(refs) == 2:
        both = med[refs[0]] + med[refs[1]]
        print(f"  reference tools together: {both:.2f} s -> vidprint is {both / med[cases[1][0]]:.2f}x faster")
    else:
        print("  (reference tools missing: install PyPI vpdq and tmkpy + Debian ffmpeg for the comparison)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
