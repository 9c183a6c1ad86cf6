"""CPU cost of the content-area vPDQ hashes (``Fingerprint.vpdq_content``) inside ``vidprint.fingerprint``.

Each file is fingerprinted with vPDQ only (every frame, or ``--every-seconds``), interleaved: as
shipped, and with the per-frame bar detector replaced by one that never finds bars (so no frame is
detected, converted to luma or hashed a second time). ``time.thread_time``, median of ``--repeat``
runs per file and setting.

    python bench/vpdq_content_cost.py [VIDEO ...] [--repeat 5] [--every-seconds 0]

Default videos: two without bars and two with (a reference chair video with bars, and a
letterboxed corpus video made on the fly with ``vidprint.eval.transforms.letterbox``). Prints per
file: frames, whether content-area hashes were made, CPU seconds off and on, and the added cost.
Run on an otherwise idle machine where possible: the ratio is what to read.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REFERENCE_VIDEOS, use_repo_package  # noqa: E402

use_repo_package()

import vidprint  # noqa: E402
import vidprint.pipeline as pipeline  # noqa: E402

CORPUS = REFERENCE_VIDEOS.parents[2] / "corpus" / "videos"


def _never(plane):
    return (0, 0, 0, 0)


def _cpu(src, every: float, on: bool) -> tuple[float, vidprint.Fingerprint]:
    real = pipeline.detect_bars_plane
    pipeline.detect_bars_plane = real if on else _never
    try:
        t = time.thread_time()
        fp = vidprint.fingerprint(src, tmk=False, workers=1, every_seconds=every)
        return time.thread_time() - t, fp
    finally:
        pipeline.detect_bars_plane = real


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--every-seconds", type=float, default=0.0)
    a = ap.parse_args()
    if a.videos:
        inputs = [(Path(v).name, str(v)) for v in a.videos]
    else:
        from vidprint.eval import transforms as T
        chaplin = CORPUS / "moviepy__media__chaplin.mp4"
        inputs = [(p.name, str(p)) for p in (CORPUS / "moviepy__media__big_buck_bunny_0_30.webm",
                                             CORPUS / "sample-videos__car-detection.mp4",
                                             REFERENCE_VIDEOS / "chair-20-sd-bar.mp4")]
        inputs.append(("chaplin, letterbox 12%", T.letterbox(str(chaplin), fraction=0.12).data))
    print(f"vPDQ only, every_seconds={a.every_seconds:g}; median of {a.repeat} (thread CPU seconds)")
    total_on = total_off = 0.0
    for name, src in inputs:
        runs: dict[bool, list[float]] = {True: [], False: []}
        fp = None
        for _ in range(a.repeat):
            for on in (False, True):
                t, got = _cpu(src, a.every_seconds, on)
                runs[on].append(t)
                fp = got if on else fp
        off, on = statistics.median(runs[False]), statistics.median(runs[True])
        total_on, total_off = total_on + on, total_off + off
        made = "content-area hashes" if fp.vpdq_content is not None else "no bars"
        print(f"  {name[:42]:42s} {len(fp.vpdq):5d} frames  {made:19s} off {off:6.3f}  on {on:6.3f}  "
              f"+{100 * (on / off - 1):5.1f}%")
    print(f"  all files: +{100 * (total_on / total_off - 1):.1f}%")


if __name__ == "__main__":
    main()
