"""Telling the operator what a batch is doing: a bar on a terminal, log lines otherwise, or JSON.

:func:`make_progress` picks one of:

* :class:`BarProgress` -- stderr is a terminal: a tqdm bar with files done/total, ETA, frames/s and
  failures so far; failures are printed above it as they happen.
* :class:`LineProgress` -- stderr is not a terminal (a log file, a CI job): one plain line per file.
* :class:`JsonProgress` -- ``--json``: one JSON object per line on stdout (``{"event": "file", ...}``
  per file, ``{"event": "summary", ...}`` at the end), for other programs.
* :class:`QuietProgress` -- ``--quiet``: nothing (the exit status, the log and the report say it all).

All of them print the summary (:func:`format_summary`) at the end, except the quiet one.
"""
from __future__ import annotations

import json
import sys
import time
from typing import TextIO


def format_summary(s: dict) -> str:
    """One human paragraph from a summary dict (see :class:`vidprint.batch.run.Counters`)."""
    skipped = s.get("skipped", {})
    failed = s.get("failed", {})
    n_skip, n_fail = sum(skipped.values()), sum(failed.values())
    parts = [f"{s['command']}: {s['files']} files: {s['done']} hashed"]
    if s.get("command") == "scan":
        parts[0] += f" ({s.get('matched', 0)} matched)"
    if n_skip:
        parts.append(f"{n_skip} skipped (" + ", ".join(f"{n} {k}" for k, n in sorted(skipped.items())) + ")")
    parts.append(f"{n_fail} failed" + (" (" + ", ".join(f"{n} {k}" for k, n in sorted(failed.items())) + ")"
                                        if n_fail else ""))
    text = ", ".join(parts)
    if s.get("ignored"):
        text += f"; {s['ignored']} other files ignored (not video)"
    text += (f"; {s['frames']:,} frames decoded in {s['seconds']:.1f} s "
             f"({s['files_per_s']:.2f} files/s, {s['frames_per_s']:.0f} frames/s)")
    if s.get("interrupted"):
        text += "; INTERRUPTED (run the same command again to resume)"
    return text


class Progress:
    """The interface (and the quiet implementation)."""

    def start(self, total: int) -> None:
        pass

    def file(self, path: str, status: str, *, frames: int = 0, seconds: float = 0.0, kind: str | None = None,
             reason: str | None = None, detail: str | None = None, content_id: str | None = None) -> None:
        """One file finished: ``status`` is ``hashed``, ``skipped``, ``failed``, ``match`` or ``no match``."""

    def problem(self, path: str, kind: str, reason: str) -> None:
        """Something found while listing the archive (not counted in the total)."""
        self.file(path, "failed", kind=kind, reason=reason)

    def finish(self, summary: dict) -> None:
        pass


QuietProgress = Progress


class _Counting(Progress):
    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.failed = 0
        self.frames = 0
        self.t0 = time.monotonic()

    def _count(self, status: str, frames: int, counted: bool = True) -> None:
        if counted:
            self.done += 1
        self.failed += status == "failed"
        self.frames += frames


class LineProgress(_Counting):
    """Plain lines on ``stream`` (stderr): one per file, and the summary."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream or sys.stderr

    def start(self, total: int) -> None:
        self.total = total
        self._print(f"{total} files to process")

    def _print(self, msg: str) -> None:
        print(msg, file=self.stream, flush=True)

    def file(self, path, status, *, frames=0, seconds=0.0, kind=None, reason=None, detail=None,
             content_id=None) -> None:
        self._count(status, frames)
        width = len(str(self.total))
        what = f"{frames} frames in {seconds:.2f} s" if status in ("hashed", "match", "no match") else ""
        extra = "; ".join(x for x in (what, detail, f"{kind}: {reason}" if reason else None) if x)
        self._print(f"[{self.done:>{width}}/{self.total}] {status:<8} {path}" + (f" ({extra})" if extra else ""))

    def problem(self, path, kind, reason) -> None:
        self._count("failed", 0, counted=False)
        self._print(f"[listing] failed   {path} ({kind}: {reason})")

    def finish(self, summary: dict) -> None:
        self._print(format_summary(summary))


class BarProgress(_Counting):
    """A tqdm bar on a terminal: files done/total, ETA, frames/s, failures so far."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream or sys.stderr
        self.bar = None

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self.total = total
        self.bar = tqdm(total=total, unit="file", file=self.stream, dynamic_ncols=True, smoothing=0.1)

    def _postfix(self) -> None:
        rate = self.frames / max(1e-9, time.monotonic() - self.t0)
        self.bar.set_postfix_str(f"{rate:.0f} frames/s, {self.failed} failed", refresh=False)

    def file(self, path, status, *, frames=0, seconds=0.0, kind=None, reason=None, detail=None,
             content_id=None) -> None:
        self._count(status, frames)
        if status == "failed":
            self.bar.write(f"failed: {path} ({kind}: {reason})", file=self.stream)
        elif status == "match":
            self.bar.write(f"MATCH: {path}" + (f" ({detail})" if detail else ""), file=self.stream)
        self._postfix()
        self.bar.update(1)

    def problem(self, path, kind, reason) -> None:
        self._count("failed", 0, counted=False)
        msg = f"failed: {path} ({kind}: {reason})"
        if self.bar is None:
            print(msg, file=self.stream)
        else:
            self.bar.write(msg, file=self.stream)

    def finish(self, summary: dict) -> None:
        if self.bar is not None:
            self.bar.close()
        print(format_summary(summary), file=self.stream, flush=True)


class JsonProgress(_Counting):
    """JSON lines on ``stream`` (stdout): an object per file and the summary."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream or sys.stdout

    def _emit(self, obj: dict) -> None:
        self.stream.write(json.dumps(obj, sort_keys=True) + "\n")
        self.stream.flush()

    def start(self, total: int) -> None:
        self.total = total
        self._emit({"event": "start", "files": total})

    def file(self, path, status, *, frames=0, seconds=0.0, kind=None, reason=None, detail=None,
             content_id=None) -> None:
        self._count(status, frames)
        obj = {"event": "file", "path": path, "status": status, "frames": frames, "seconds": round(seconds, 4)}
        if kind:
            obj["kind"] = kind
        if reason:
            obj["reason"] = reason
        if detail:
            obj["detail"] = detail
        if content_id:
            obj["content_id"] = content_id
        self._emit(obj)

    def problem(self, path, kind, reason) -> None:
        self._count("failed", 0, counted=False)
        self._emit({"event": "file", "path": path, "status": "failed", "stage": "discover", "kind": kind,
                    "reason": reason})

    def finish(self, summary: dict) -> None:
        self._emit(summary)


def make_progress(quiet: bool = False, as_json: bool = False, stream: TextIO | None = None) -> Progress:
    """The right reporter for the flags and for what stderr is (a terminal or not)."""
    if as_json:
        return JsonProgress()
    if quiet:
        return QuietProgress()
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return BarProgress(stream) if isatty is not None and isatty() else LineProgress(stream)
