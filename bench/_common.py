"""Helpers shared by the benchmark scripts (not part of the package)."""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_VIDEOS = ROOT.parent / "shared" / "reference-data" / "threatexchange" / "videos"


def use_repo_package() -> None:
    """Import vidprint from this checkout, and keep bench/vpdq.py from shadowing PyPI's ``vpdq``."""
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]


def video_args(description: str | None = None):
    """``(paths, repeats)`` from the command line: ``[VIDEO ...] [--repeats N]`` (default videos:
    the reference videos in ../shared)."""
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    paths = [Path(v) for v in args.videos] or sorted(REFERENCE_VIDEOS.glob("*.mp4"))
    if not paths:
        sys.exit(f"no videos given and none found in {REFERENCE_VIDEOS}")
    return paths, args.repeats


def decode_only(paths) -> int:
    """Decode every frame of every video with PyAV (threads auto); the baseline. Returns the frame count."""
    n = 0
    for p in paths:
        with av.open(str(p)) as c:
            s = c.streams.video[0]
            s.codec_context.thread_type = "AUTO"
            n += sum(1 for _ in c.decode(s))
    return n


@contextlib.contextmanager
def quiet_stderr():
    """Silence file descriptor 2 (the reference tools' ffmpeg child prints progress there)."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)
