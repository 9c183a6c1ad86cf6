"""CPU cost of the views (vidprint.tmk.views) inside ``vidprint.fingerprint``: the same files
fingerprinted with ``views=True`` and ``views=False``, interleaved in one run, ``time.process_time``
(all threads of this process), median of ``--repeat`` runs per file and setting.

    OPENBLAS_NUM_THREADS=1 python bench/views_cost.py [--files 10] [--repeat 3] [--corpus DIR] [--largest] [--tmk-only]

``--largest``: the largest files (longer videos: less per-file overhead in the ratio) instead of
files spread over the sorted names; ``--tmk-only``: ``vpdq=False`` (the TMK part alone).

Prints per file: CPU seconds without and with views, and the ratio; then the total ratio. Run it
on an otherwise idle machine where possible: the ratio is what to read.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import vidprint


def _cpu(path: Path, views: bool, vpdq: bool) -> float:
    t = time.process_time()
    vidprint.fingerprint(str(path), workers=1, views=views, vpdq=vpdq)
    return time.process_time() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "videos"))
    p.add_argument("--files", type=int, default=10)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--largest", action="store_true")
    p.add_argument("--tmk-only", action="store_true")
    a = p.parse_args()
    files = sorted(f for f in Path(a.corpus).iterdir() if f.is_file())
    if a.largest:
        files = sorted(files, key=lambda f: -f.stat().st_size)[: a.files]
    else:
        files = files[:: max(1, len(files) // a.files)][: a.files]
    vidprint.fingerprint(str(files[0]), workers=1)  # compile / load the Numba caches first
    tot = {False: 0.0, True: 0.0}
    print(f"{'file':48s} {'no views s':>10s} {'views s':>8s} {'ratio':>6s}")
    for f in files:
        runs: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(a.repeat):
            for views in (False, True):  # interleaved: both settings see the same machine load
                runs[views].append(_cpu(f, views, not a.tmk_only))
        m = {k: statistics.median(v) for k, v in runs.items()}
        tot[False] += m[False]
        tot[True] += m[True]
        print(f"{f.name[:48]:48s} {m[False]:10.3f} {m[True]:8.3f} {m[True] / m[False]:6.3f}")
    print(f"{'total (sum of medians)':48s} {tot[False]:10.3f} {tot[True]:8.3f} {tot[True] / tot[False]:6.3f}")
    what = "TMK + compact + content area" + ("" if a.tmk_only else " + vPDQ")
    print(f"views add {100 * (tot[True] / tot[False] - 1):.1f}% CPU to vidprint.fingerprint "
          f"({what}, workers=1) on {len(files)} files, median of {a.repeat}")


if __name__ == "__main__":
    main()
