"""``vidprint hash`` and ``vidprint compare``: fingerprint files, compare two videos or hash files.

    vidprint hash VIDEO... [--tmk-dir DIR] [--compact-dir DIR] [--vpdq-dir DIR] [--every-seconds S] [--size N]
    vidprint compare A B          (videos, .tmk, compact .vptc or vPDQ .txt files)
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from vidprint.atomic import atomic_write
from vidprint.errors import VidprintError


def _out_name(video: str) -> str:
    return Path(video).stem


def cmd_hash(args: argparse.Namespace) -> int:
    import vidprint.vpdq as vpdq
    from vidprint.pipeline import fingerprint

    want_tmk, want_vpdq = bool(args.tmk_dir or args.compact_dir), bool(args.vpdq_dir)
    if not (want_tmk or want_vpdq):
        want_tmk = want_vpdq = True
        args.tmk_dir = args.vpdq_dir = "."
    for d in (args.tmk_dir, args.compact_dir, args.vpdq_dir):
        if d:
            os.makedirs(d, exist_ok=True)
    failed = 0
    videos, say = _progress(args.videos, args.quiet)
    for video in videos:
        t0 = time.perf_counter()
        try:
            fp = fingerprint(video, tmk=want_tmk, vpdq=want_vpdq, every_seconds=args.every_seconds,
                             size=args.size)
        except VidprintError as exc:
            failed += 1
            say(f"error: {exc}")
            continue
        written = []
        if fp.tmk is not None and args.tmk_dir:
            p = Path(args.tmk_dir) / f"{_out_name(video)}.tmk"
            fp.tmk.write(p)
            written.append(str(p))
        if fp.compact is not None and args.compact_dir:
            p = Path(args.compact_dir) / f"{_out_name(video)}.vptc"
            atomic_write(p, fp.compact.to_bytes())
            written.append(str(p))
        if fp.vpdq is not None:
            vh = fp.vpdq
            if args.prune_distance is not None or args.min_quality is not None:
                vh = vpdq.prune(vh, distance=args.prune_distance, min_quality=args.min_quality)
            p = Path(args.vpdq_dir) / f"{_out_name(video)}.txt"
            vh.write(p)
            written.append(str(p))
        if not args.quiet:
            say(f"{video}: {fp.decoded_frames} frames in {time.perf_counter() - t0:.2f} s -> " + ", ".join(written))
    if failed:
        print(f"{failed} of {len(args.videos)} videos failed", file=sys.stderr)
    return 1 if failed else 0


def _progress(items, quiet: bool):
    """``(iterable, say)``: a progress bar over ``items`` when useful, and a print that keeps it intact."""
    def say(msg: str) -> None:
        print(msg, file=sys.stderr)

    if quiet or len(items) < 2:
        return items, say
    from tqdm import tqdm

    bar = tqdm(items, unit="video", file=sys.stderr)
    return bar, lambda msg: bar.write(msg, file=sys.stderr)


def _load(path: str, dihedral: bool = False):
    """A video or hash file -> (reference TMK, compact TMK, vPDQ, vPDQ dihedral variants or None)."""
    import vidprint.tmk as tmk
    import vidprint.vpdq as vpdq

    suffix = Path(path).suffix.lower()
    if suffix == ".tmk":
        return tmk.read(path), None, None, None
    if suffix == ".vptc":
        return None, tmk.CompactDescriptor.from_bytes(Path(path).read_bytes(), source=path), None, None
    if suffix == ".txt":
        return None, None, vpdq.read(path), None
    from vidprint.pipeline import fingerprint

    fp = fingerprint(path, dihedral=dihedral)
    return fp.tmk, fp.compact, fp.vpdq, fp.vpdq_dihedral


def cmd_compare(args: argparse.Namespace) -> int:
    import vidprint.tmk as tmk
    import vidprint.vpdq as vpdq

    (ta, ca, va, dihedral), (tb, cb, vb, _) = _load(args.a, args.dihedral), _load(args.b)
    print(f"A: {args.a}\nB: {args.b}")
    compared = False
    if ta is not None and tb is not None:
        s = tmk.score(ta, tb)
        verdict = "MATCH" if tmk.is_match(s) else "no match"
        print(f"TMK reference  level-1 {s.level1:.6f}  level-2 {s.level2:.6f}  "
              f"(thresholds {tmk.LEVEL1_THRESHOLD}/{tmk.LEVEL2_THRESHOLD}: {verdict})")
        compared = True
    if ca is not None and cb is not None:
        s = tmk.compact_score(ca, cb)
        verdict = "MATCH" if tmk.compact_is_match(s) else "no match"
        print(f"TMK compact    level-1 {s.level1:.6f}  level-2 {s.level2:.6f}  "
              f"(thresholds {tmk.COMPACT_LEVEL1_THRESHOLD}/{tmk.COMPACT_LEVEL2_THRESHOLD}: {verdict}; "
              f"best warp: B at s ~ A at {s.scale:.3f}*s{s.offset:+.3f})")
        compared = True
    if va is not None and vb is not None:
        m = vpdq.match(va, vb)
        print(f"vPDQ           A frames matched {m.query_pct:.1f}%  B frames matched {m.compared_pct:.1f}%  "
              f"(distance <= {vpdq.DISTANCE_THRESHOLD}, quality >= {vpdq.QUALITY_THRESHOLD})")
        segments = vpdq.align(va, vb, dihedral=dihedral)
        if not segments:
            print("               no temporal alignment of A inside B")
        for seg in segments:
            print(f"               A {seg.query_start_s:7.2f}-{seg.query_end_s:7.2f} s  ~  "
                  f"B {seg.compared_start_s:7.2f}-{seg.compared_end_s:7.2f} s  "
                  f"speed {seg.speed:.3f}  frames {seg.matched_frames}  score {seg.score:.3f}"
                  + (f"  transform {seg.transform}" if dihedral else ""))
        compared = True
    if not compared:
        print("nothing comparable: give two videos or two hash files of the same kind", file=sys.stderr)
        return 2
    return 0


def register(sub) -> None:
    """Add the ``hash`` and ``compare`` sub-commands to an argparse sub-parser collection."""
    p = sub.add_parser("hash", help="fingerprint videos (one decode pass each)")
    p.add_argument("videos", nargs="+")
    p.add_argument("--tmk-dir", help="write NAME.tmk (reference TMK+PDQF) here")
    p.add_argument("--compact-dir", help="write NAME.vptc (vidprint's compact TMK) here")
    p.add_argument("--vpdq-dir", help="write NAME.txt (reference vPDQ text) here")
    p.add_argument("--every-seconds", type=float, default=0.0, help="vPDQ: one frame every S seconds (0: all)")
    p.add_argument("--size", type=int, default=None, help="vPDQ: hash frames squashed to N x N")
    p.add_argument("--prune-distance", type=int, default=None, metavar="D",
                   help="vPDQ: drop frames within D bits of the last kept one (recorded in NAME.txt.json)")
    p.add_argument("--min-quality", type=int, default=None, metavar="Q",
                   help="vPDQ: drop frames of quality below Q (recorded in NAME.txt.json)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_hash)

    p = sub.add_parser("compare", help="compare two videos or hash files")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--dihedral", action="store_true",
                   help="vPDQ: also look for A rotated or mirrored inside B (A must be a video)")
    p.set_defaults(func=cmd_compare)
