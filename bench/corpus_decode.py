"""Hash every video of the shared corpus (and the real-world samples) with vidprint.fingerprint.

Prints one line per file: outcome, frames, decode warnings; then the count that hashed without
error. A script, not a test (the corpus is ~60 real videos; a full run takes minutes on 2 cores).

    python bench/corpus_decode.py [--corpus ../shared/corpus/videos] [--strict]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import vidprint
from vidprint.decode import DecodeStats, TMKSource, VPDQSource, read_frames
from vidprint.errors import VidprintError

HERE = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(HERE.parent / "shared" / "corpus" / "videos"))
    ap.add_argument("--strict", action="store_true", help="also count the files strict mode would refuse")
    args = ap.parse_args()
    files = sorted(p for p in Path(args.corpus).iterdir() if p.is_file())
    ok, failed, irregular = 0, [], []
    t0 = time.perf_counter()
    for p in files:
        t = time.perf_counter()
        try:
            fp = vidprint.fingerprint(p)
        except VidprintError as exc:
            failed.append((p.name, exc.reason))
            print(f"ERROR  {p.name}: {exc.reason}", flush=True)
            continue
        ok += 1
        report = getattr(fp, "decode_report", None)
        if report is None:  # before the pipeline carries the report: decode once more for it
            stats = DecodeStats()
            for _ in read_frames(p, {"t": TMKSource(), "v": VPDQSource()}, stats=stats):
                pass
            report = stats.report()
        if report.warnings:
            irregular.append(p.name)
        note = f"; warnings: {'; '.join(report.warnings)}" if report.warnings else ""
        print(f"ok     {p.name}: tmk {fp.tmk.frame_count} vpdq {len(fp.vpdq)} frames, "
              f"{time.perf_counter() - t:.1f} s" + note, flush=True)
    print(f"\n{ok} of {len(files)} files hashed without error ({len(irregular)} with decode warnings: "
          f"strict mode would refuse them); {time.perf_counter() - t0:.0f} s")
    for name, reason in failed:
        print(f"  failed: {name}: {reason}")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
