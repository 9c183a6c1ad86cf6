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

from vidprint.errors import VidprintError


def _out_name(video: str) -> str:
    return "stdin" if video == "-" else Path(video).stem  # "-": standard input (issue 9)


# -- argument checks of ``vidprint hash`` (argparse turns ArgumentTypeError into exit 2 + usage) --
#: Largest --size (pixels per side) and --every-seconds (one year) accepted on the command line.
MAX_CLI_SIZE = 4096
MAX_CLI_EVERY_SECONDS = 365 * 86400.0


def _int_in(lo: int, hi: int, what: str):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be an integer, got {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be in {lo}..{hi}, got {v}")
        return v
    return parse


def _seconds(text: str) -> float:
    import math

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seconds must be a number, got {text!r}") from None
    if not (math.isfinite(v) and 0 <= v <= MAX_CLI_EVERY_SECONDS):
        raise argparse.ArgumentTypeError(f"seconds must be a finite number in 0..{MAX_CLI_EVERY_SECONDS:g}, "
                                         f"got {text!r}")
    return v


def _output_dirs(args: argparse.Namespace) -> None:
    """Create the output folders; refuse (InvalidArgumentError, exit 2) one that names a file."""
    from vidprint.errors import InvalidArgumentError

    for opt in ("tmk_dir", "compact_dir", "vpdq_dir"):
        d = getattr(args, opt, None)
        if not d:
            continue
        flag = "--" + opt.replace("_", "-")
        if os.path.exists(d) and not os.path.isdir(d):
            raise InvalidArgumentError(flag, f"{d!r} exists and is not a folder")
        try:
            os.makedirs(d, exist_ok=True)
        except OSError as exc:
            raise InvalidArgumentError(flag, f"cannot create folder {d!r}: {exc.strerror or exc}") from None


def cmd_hash(args: argparse.Namespace) -> int:
    """Exit status: 0 = every file hashed, 1 = some failed (each named on stderr), 2 = bad arguments."""
    from vidprint.pipeline import fingerprint

    want_tmk, want_vpdq = bool(args.tmk_dir or args.compact_dir), bool(args.vpdq_dir)
    if not (want_tmk or want_vpdq):
        want_tmk = want_vpdq = True
        args.tmk_dir = args.vpdq_dir = "."
    _output_dirs(args)
    _check_distinct_outputs(args.videos)
    failed = 0
    videos, say = _progress(args.videos, args.quiet)
    for video in videos:
        t0 = time.perf_counter()
        try:
            if video == "-":  # standard input: a pipe is held in memory up to --max-bytes
                from vidprint.batch.stdin import open_stdin
                src = open_stdin(args.max_bytes).source
            else:
                src = video
            fp = fingerprint(src, tmk=want_tmk, vpdq=want_vpdq, every_seconds=args.every_seconds,
                             size=args.size, strict=args.strict)
            for warning in fp.decode_report.warnings if fp.decode_report is not None else ():
                say(f"warning: {video}: {warning}")
            written = _write_outputs(fp, video, args)
        except VidprintError as exc:  # decoding or writing this file failed: say so, go on with the rest
            failed += 1
            say(f"error: {exc}")
            continue
        if not args.quiet:
            say(f"{video}: {fp.decoded_frames} frames in {time.perf_counter() - t0:.2f} s -> " + ", ".join(written))
    if failed:
        print(f"{failed} of {len(args.videos)} videos failed", file=sys.stderr)
    return 1 if failed else 0


def _check_distinct_outputs(videos: list[str]) -> None:
    """Two inputs with one file stem would overwrite each other's outputs: refuse before hashing."""
    from vidprint.errors import InvalidArgumentError

    seen: dict[str, str] = {}
    for video in videos:
        name = _out_name(video)
        if name in seen and seen[name] != video:
            raise InvalidArgumentError("videos", f"{seen[name]!r} and {video!r} would both be written as "
                                                 f"{name}.*: hash them into different output folders")
        seen[name] = video


def _write_outputs(fp, video: str, args: argparse.Namespace) -> list[str]:
    import vidprint.vpdq as vpdq

    written = []
    if fp.tmk is not None and args.tmk_dir:
        p = Path(args.tmk_dir) / f"{_out_name(video)}.tmk"
        fp.tmk.write(p)
        written.append(str(p))
    if fp.compact is not None and args.compact_dir:
        p = Path(args.compact_dir) / f"{_out_name(video)}.vptc"
        fp.compact.write(p)
        written.append(str(p))
    if fp.vpdq is not None:
        vh = fp.vpdq
        if args.prune_distance is not None or args.min_quality is not None:
            vh = vpdq.prune(vh, distance=args.prune_distance, min_quality=args.min_quality)
        p = Path(args.vpdq_dir) / f"{_out_name(video)}.txt"
        vh.write(p)
        written.append(str(p))
    return written


def _progress(items, quiet: bool):
    """``(iterable, say)``: a progress bar over ``items`` when useful, and a print that keeps it intact."""
    def say(msg: str) -> None:
        print(msg, file=sys.stderr)

    if quiet or len(items) < 2:
        return items, say
    from tqdm import tqdm

    bar = tqdm(items, unit="video", file=sys.stderr)
    return bar, lambda msg: bar.write(msg, file=sys.stderr)


def _load_side(path: str, dihedral: bool):
    """A hash file by suffix, or a video fingerprinted (with dihedral variants if asked)."""
    from vidprint.matching import HASH_SUFFIXES, load

    if Path(path).suffix.lower() in HASH_SUFFIXES or not dihedral:
        return load(path)
    from vidprint.pipeline import fingerprint

    return fingerprint(path, dihedral=True)


def cmd_compare(args: argparse.Namespace) -> int:
    """Exit status as grep: 0 = match, 1 = no match, 2 = an error (nothing comparable, bad input)."""
    import json

    from vidprint.matching import compare

    result = compare(_load_side(args.a, args.dihedral), _load_side(args.b, False))
    if args.json:
        print(json.dumps({"a": args.a, "b": args.b, **result.to_dict()}, indent=1))
        return 0 if result.matched else 1
    print(f"A: {args.a}\nB: {args.b}")
    w, c = result.whole, result.clip
    if w is not None:
        print(f"whole video  TMK {w.profile:9s} level-1 {w.level1:.6f}  level-2 {w.level2:.6f}  "
              f"(thresholds {w.threshold_level1}/{w.threshold_level2}: {'MATCH' if w.matched else 'no match'})"
              + (f"  refused: {w.note}" if w.note else ""))
    if c is not None:
        print(f"clip         vPDQ A frames matched {c.query_pct:.1f}%  B frames matched {c.compared_pct:.1f}%  "
              f"(distance <= {c.distance}, quality >= {c.quality}); "
              f"{len(c.segments)} aligned segment(s): {'MATCH' if c.matched else 'no match'}")
        for seg in c.segments:
            print(f"             A {seg.query_start_s:7.2f}-{seg.query_end_s:7.2f} s  ~  "
                  f"B {seg.compared_start_s:7.2f}-{seg.compared_end_s:7.2f} s  "
                  f"speed {seg.speed:.3f}  frames {seg.matched_frames}  score {seg.score:.3f}"
                  + (f"  transform {seg.transform}" if args.dihedral else ""))
    print(f"verdict: {'MATCH (' + result.kind + ')' if result.matched else 'no match'}")
    return 0 if result.matched else 1


def register(sub) -> None:
    """Add the ``hash`` and ``compare`` sub-commands to an argparse sub-parser collection."""
    p = sub.add_parser("hash", help="fingerprint videos (one decode pass each)")
    p.add_argument("videos", nargs="+", help="video files, or - for one video on standard input")
    from vidprint.batch.stdin import DEFAULT_MAX_BYTES  # issue 9: `vidprint hash -`
    from vidprint.cli.batch import parse_bytes
    p.add_argument("--max-bytes", type=parse_bytes, default=DEFAULT_MAX_BYTES, metavar="BYTES",
                   help=f"stdin (-): largest piped input held in memory (an MP4 may keep its index at "
                        f"the end; default {DEFAULT_MAX_BYTES >> 30}G)")
    p.add_argument("--tmk-dir", help="write NAME.tmk (reference TMK+PDQF) here")
    p.add_argument("--compact-dir", help="write NAME.vptc (vidprint's compact TMK) here")
    p.add_argument("--vpdq-dir", help="write NAME.txt (reference vPDQ text) here")
    p.add_argument("--every-seconds", type=_seconds, default=0.0, metavar="S",
                   help="vPDQ: one frame every S seconds (0: all)")
    p.add_argument("--size", type=_int_in(5, MAX_CLI_SIZE, "--size"), default=None, metavar="N",
                   help=f"vPDQ: hash frames squashed to N x N (5..{MAX_CLI_SIZE})")
    p.add_argument("--prune-distance", type=_int_in(0, 256, "--prune-distance"), default=None, metavar="D",
                   help="vPDQ: drop frames within D bits of the last kept one (recorded in NAME.txt.json)")
    p.add_argument("--min-quality", type=_int_in(0, 100, "--min-quality"), default=None, metavar="Q",
                   help="vPDQ: drop frames of quality below Q (recorded in NAME.txt.json)")
    p.add_argument("--strict", action="store_true",
                   help="refuse a video with any decoding irregularity (skipped packets, fewer frames than "
                        "declared, a cut stream) instead of hashing what decodes with a warning")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_hash)

    p = sub.add_parser("compare", help="is A the same video as B, or a part of it? (exit 0 = match, 1 = none, 2 = error)",
                       description="Compare two videos or hash files (.vpfp, .tmk, .vptc, vPDQ .txt) by the "
                                   "documented policy (TMK two-level for whole videos, vPDQ alignment for clips). "
                                   "Exit status as grep: 0 = match, 1 = no match, 2 = error.")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--dihedral", action="store_true",
                   help="vPDQ: also look for A rotated or mirrored inside B (A must be a video)")
    p.add_argument("--json", action="store_true", help="print the verdict and every score as JSON")
    p.set_defaults(func=cmd_compare)
