"""``vidprint eval``: the evaluation harness (:func:`vidprint.eval.evaluate`) from the command line."""
from __future__ import annotations

import shlex
import sys


def run(args) -> int:
    from vidprint.eval import evaluate
    from vidprint.eval.transforms import TRANSFORMS

    if args.list:
        for name, t in TRANSFORMS.items():
            params = ", ".join(f"{k}={v}" for k, v in t.params.items())
            print(f"{name:<22} {t.kind:<6} {t.fn.__name__}({params})")
        return 0
    if not args.sources or not args.out:
        print("error: SOURCES and --out are required", file=sys.stderr)
        return 2
    transforms = None
    if args.transforms:
        transforms = [t for item in args.transforms for t in item.split(",") if t]
    methods = [m for item in args.methods for m in item.split(",") if m] if args.methods else None
    try:
        evaluate(args.sources, args.out, manifest=args.manifest, transforms=transforms, methods=methods,
                 transform_sources=args.transform_sources,
                 jobs=args.jobs, progress=not args.quiet, target_fprs=tuple(args.target_fpr or (1e-3, 1e-4)),
                 command="vidprint eval " + " ".join(shlex.quote(a) for a in args.argv),
                 log=None if args.quiet else (lambda m: print(m, file=sys.stderr)))
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}/report.md")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "eval", help="measure detection quality: transform sources, fingerprint, score, report",
        description="Transform every source video with every (or the named) transform, fingerprint each "
                    "file once (cached by content hash in OUT/work: re-running resumes), score every copy "
                    "and every original against every original with each method, and write "
                    "OUT/report.md with tables and PNG plots.")
    p.add_argument("sources", nargs="*", metavar="SOURCES", help="video files or folders of videos")
    p.add_argument("--out", metavar="REPORT_DIR", help="report folder (also holds the cache)")
    p.add_argument("--manifest", action="append", metavar="TSV",
                   help="TSV with 'file' and 'group' columns (repeatable); same group = same footage, "
                        "never counted as unrelated. Default: every file its own group")
    p.add_argument("--transforms", action="append", metavar="NAMES",
                   help="comma-separated transform names (default: all; see --list)")
    p.add_argument("--methods", action="append", metavar="NAMES", help="comma-separated method names (default: all)")
    p.add_argument("--target-fpr", action="append", type=float, metavar="RATE",
                   help="false-positive rates to calibrate thresholds for (repeatable; default 1e-3 and 1e-4)")
    p.add_argument("--transform-sources", type=int, default=None, metavar="N",
                   help="transform only the N smallest sources (all sources remain originals); default: all")
    p.add_argument("--jobs", type=int, default=1,
                   help="processes for transforming, hashing and scoring (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--list", action="store_true", help="list the transforms and exit")
    p.set_defaults(func=lambda args: run(_with_argv(args)))


def _with_argv(args):
    args.argv = sys.argv[2:] if len(sys.argv) > 2 and sys.argv[1] == "eval" else []
    return args
