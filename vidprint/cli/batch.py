"""``vidprint batch`` and ``vidprint scan``: whole archives, resumable, one isolated process per file.

    vidprint batch ARCHIVE... --index INDEX [--workers N | --scheduler tcp://HOST:PORT] [--timeout S]
                   [--max-memory BYTES] [--every-seconds S | --every-frame] [--size N] [--no-tmk | --no-vpdq]
    vidprint scan  ARCHIVE... --against INDEX --report OUT.jsonl  (ARCHIVE may be "-": one video on stdin)

Exit status. batch: 0 = every video hashed (or already indexed), 1 = some files failed (see the log),
2 = the batch could not run (bad arguments, index error), 130 = interrupted (run it again to resume).
scan (grep's convention): 0 = at least one file matched, 1 = no match and no error, 2 = no match and
at least one error, 130 = interrupted.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import sys

from vidprint.worker_env import one_thread_here

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)


def parse_bytes(text: str) -> int:
    """``"4G"``, ``"512M"``, ``"1.5GiB"``, ``"1000000"`` -> bytes (K, M, G, T are powers of 1024)."""
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size in bytes: {text!r} (e.g. 4G, 512M, 1000000)")
    value, unit = float(m.group(1)), m.group(2).lower()
    return int(value * (1 << (10 * " kmgt".index(unit))) if unit else value)


def _add_hash_flags(p: argparse.ArgumentParser, every_seconds: float) -> None:
    from vidprint.batch.worker import DEFAULT_MAX_MEMORY, DEFAULT_TIMEOUT

    sampling = "every frame" if every_seconds == 0 else f"one hash every {every_seconds:g} s"
    g = p.add_argument_group(f"fingerprint (default: compact + reference TMK, vPDQ {sampling})")
    g.add_argument("--every-seconds", type=float, default=every_seconds, metavar="S",
                   help=f"vPDQ: one hash every S seconds (default {every_seconds:g}; 0 = every frame)")
    g.add_argument("--every-frame", action="store_true", help="vPDQ: hash every frame (as the reference)")
    g.add_argument("--size", type=int, default=None, metavar="N", help="vPDQ: hash frames squashed to N x N")
    g.add_argument("--no-tmk", action="store_true", help="skip TMK (both profiles)")
    g.add_argument("--no-vpdq", action="store_true", help="skip vPDQ")

    g = p.add_argument_group("workers")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local hashing processes (default: the number of CPUs)")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="hash on a Dask cluster, e.g. tcp://10.0.0.5:8786 (workers need vidprint installed)")
    g.add_argument("--ship-bytes", action="store_true",
                   help="with --scheduler: send each file's bytes to the workers (no shared storage needed)")
    g.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                   help=f"wall-clock limit per file, seconds (default {DEFAULT_TIMEOUT:g})")
    g.add_argument("--max-memory", type=parse_bytes, default=DEFAULT_MAX_MEMORY, metavar="BYTES",
                   help=f"address-space limit per file, e.g. 4G (default {DEFAULT_MAX_MEMORY >> 30}G; a worker "
                        f"maps about 1G before reading anything)")

    g = p.add_argument_group("output")
    g.add_argument("--log", metavar="PATH", help="JSON-lines log of failures and summaries "
                                                 "(default: beside the index or the report, .log.jsonl)")
    g.add_argument("-q", "--quiet", action="store_true", help="print nothing (see the exit status and the log)")
    g.add_argument("--json", action="store_true", help="JSON lines on stdout: one per file, then the summary")


def _config(args: argparse.Namespace, **extra):
    from vidprint.batch import BatchConfig, HashOptions, Limits

    workers = args.workers or os.cpu_count() or 1
    threads = None if args.scheduler else max(1, (os.cpu_count() or 1) // workers)
    options = HashOptions(tmk=not args.no_tmk, vpdq=not args.no_vpdq,
                          every_seconds=0.0 if args.every_frame else args.every_seconds, size=args.size,
                          threads=threads)
    return BatchConfig(options=options, limits=Limits(args.timeout, args.max_memory), workers=workers,
                       scheduler=args.scheduler, ship_bytes=args.ship_bytes, log=args.log, **extra)


def _terminate_as_interrupt() -> None:
    """SIGTERM stops a run like Ctrl-C: finished work is committed, then the run ends (status 130)."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def cmd_batch(args: argparse.Namespace) -> int:
    one_thread_here()  # before NumPy loads: the workers hash, this process only coordinates
    from vidprint.batch import run_batch
    from vidprint.batch.progress import make_progress

    if "-" in args.archives:
        print("error: batch reads files and folders; use `vidprint scan -` or `vidprint hash -` for stdin",
              file=sys.stderr)
        return 2
    config = _config(args, commit_every=args.commit_every, retry_failed=args.retry_failed,
                     store_paths=not args.no_paths, trust_stat=not args.reread)
    _terminate_as_interrupt()
    counters = run_batch(args.archives, args.index, config, make_progress(args.quiet, args.json))
    if counters.interrupted:
        return 130
    return 1 if sum(counters.failed.values()) else 0


def cmd_scan(args: argparse.Namespace) -> int:
    one_thread_here()  # before NumPy loads: the workers hash; this process queries (measured: docs/batch.md)
    from vidprint.batch import run_scan, scan_exit_status
    from vidprint.batch.progress import make_progress

    config = _config(args, max_bytes=args.max_bytes, trust_stat=not args.reread)
    _terminate_as_interrupt()
    counters = run_scan(args.archives, args.against, args.report, config, make_progress(args.quiet, args.json))
    if counters.interrupted:
        return 130
    return scan_exit_status(counters)


def register(sub) -> None:
    """Add the ``batch`` and ``scan`` sub-commands to an argparse sub-parser collection."""
    from vidprint.batch.run import COMMIT_EVERY
    from vidprint.batch.stdin import DEFAULT_MAX_BYTES

    p = sub.add_parser(
        "batch", help="hash every video under folders into an index (resumable, isolated workers)",
        description="Find every video under ARCHIVE (by content, not extension), hash each once in an isolated "
                    "worker process and add it to INDEX with its content hash (sha256) as id. Killed or "
                    "interrupted, the same command resumes: files already indexed are skipped. Exit status: "
                    "0 all hashed, 1 some failed (see the log), 2 could not run, 130 interrupted.")
    p.add_argument("archives", nargs="+", metavar="ARCHIVE", help="folders or files")
    p.add_argument("--index", required=True, help="index folder (created if absent)")
    p.add_argument("--commit-every", type=int, default=COMMIT_EVERY, metavar="K",
                   help=f"files per index commit (default {COMMIT_EVERY}; at most a minute apart)")
    p.add_argument("--retry-failed", action="store_true",
                   help="hash again the files an earlier run recorded as failed (default: skip them)")
    p.add_argument("--no-paths", action="store_true",
                   help="do not record file paths in the index (for an index that will be shared)")
    p.add_argument("--reread", action="store_true",
                   help="resume: read every file again for its content id, even one whose path, size and "
                        "modification time match a committed entry (default: such a file is not read)")
    _add_hash_flags(p, every_seconds=1.0)  # archives: the reference tools' sparse default
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser(
        "scan", help="hash files and query an index with each (JSON-lines report; grep's exit status)",
        description="Hash every video under ARCHIVE (or one video on stdin: -) and query INDEX with it; one JSON "
                    "line per file in the report (matches with every score, thresholds, segments, or the "
                    "error). Resumable: files already in the report are skipped. Exit status: 0 a match, "
                    "1 no match, 2 no match and errors, 130 interrupted.")
    p.add_argument("archives", nargs="+", metavar="ARCHIVE", help="folders or files, or - for standard input")
    p.add_argument("--against", required=True, metavar="INDEX", help="the index to query")
    p.add_argument("--report", required=True, metavar="OUT.jsonl", help="JSON-lines report (appended to)")
    p.add_argument("--reread", action="store_true",
                   help="resume: read every file again for its content id, even one whose path, size and "
                        "modification time match a line of the report (default: such a file is not read)")
    p.add_argument("--max-bytes", type=parse_bytes, default=DEFAULT_MAX_BYTES, metavar="BYTES",
                   help=f"stdin: largest MP4 with its index at the end held in memory (default "
                        f"{DEFAULT_MAX_BYTES >> 30}G)")
    # A query is one video: hashing it densely makes clip recall independent of where the indexed
    # side's sparse samples fall (docs/index.md: 40-43 of 54 real clips vs 6-11 at 1 hash/s on both sides).
    _add_hash_flags(p, every_seconds=0.0)
    p.set_defaults(func=cmd_scan)
