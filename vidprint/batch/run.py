"""Batch orchestration: ``vidprint batch`` (hash an archive into an index) and ``vidprint scan``.

The client process lists the archive (:mod:`vidprint.batch.discover`), computes each file's SHA-256
(its content id) on two background threads, decides what to do with it, sends the work to a pool
(:class:`~vidprint.batch.local.LocalPool` or :class:`~vidprint.batch.distributed.DaskPool`) and
alone writes the results: the workers only hash.

Never lose work
---------------
* ``batch`` adds results to the index in commits of ``commit_every`` files (or every
  ``commit_seconds``), each one ``Index.add_many`` call: all of a commit or none of it survives a
  kill. A run started again skips every content id already in the index (a renamed or copied file
  is not hashed twice), and every content id its log records as failed (``retry_failed=True`` tries
  them again). The index never holds a content id twice.
* ``scan`` appends one JSON line per file to its report, flushed and fsynced line by line; a run
  started again skips every (path, content id) already reported and repairs a line cut by a kill.
* The log (JSON lines, ``<index>.log.jsonl`` / ``<report>.log.jsonl`` by default) records every
  failure (path, content hash, stage, kind, reason) and a summary per run.

Ctrl-C (SIGINT) or SIGTERM stops a run cleanly: the finished results are committed, the workers
killed, the summary written, and the run can be resumed.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import os
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

from vidprint.batch.discover import Candidate, Ignored, discover
from vidprint.batch.progress import Progress, format_summary
from vidprint.batch.worker import HashOptions, Limits, Outcome, Task, failure, run_isolated
from vidprint.errors import InvalidArgumentError

#: Default number of files per index commit, and the longest time between two commits (seconds).
COMMIT_EVERY = 16
COMMIT_SECONDS = 60.0
_CHUNK = 1 << 20


def sha256_file(path: str) -> str:
    """SHA-256 hex digest of a file's bytes, streamed in 1 MiB chunks (never opens a FIFO blocking)."""
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# -- append-only JSON-lines files --------------------------------------------------------------------

class JsonLines:
    """An append-only JSON-lines file that survives kills: each line is flushed and fsynced, and a
    line cut short by a kill is removed when the file is opened again."""

    def __init__(self, path: str):
        self.path = path
        self.lines: list[dict] = []
        if os.path.exists(path):
            with open(path, "rb") as f:
                raw = f.read()
            end = raw.rfind(b"\n") + 1
            if end < len(raw):  # a line cut by a kill: drop it
                with open(path, "r+b") as f:
                    f.truncate(end)
                raw = raw[:end]
            for line in raw.splitlines():
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    self.lines.append(obj)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        self._f = open(path, "a", encoding="utf-8")

    def write(self, obj: dict) -> None:
        self._f.write(json.dumps(obj, sort_keys=True, default=str) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


class RunLog(JsonLines):
    """The run log: ``{"event": "error", ...}`` per failure, ``{"event": "summary", ...}`` per run."""

    def __init__(self, path: str):
        super().__init__(path)
        self.failed: dict[str, dict] = {
            r["content_id"]: r for r in self.lines if r.get("event") == "error" and r.get("content_id")}

    def error(self, record: dict) -> None:
        rec = {"event": "error", "time": _now(), **record}
        self.write(rec)
        if rec.get("content_id"):
            self.failed[rec["content_id"]] = rec

    def summary(self, summary: dict) -> None:
        self.write({**summary, "time": _now()})


# -- counters ------------------------------------------------------------------------------------------

@dataclass
class Counters:
    """What a run did; :meth:`summary` is the dict written to the log and printed."""

    command: str
    files: int = 0  # candidates and listing problems (ignored files not included)
    done: int = 0  # hashed in this run (or reported, for scan)
    matched: int = 0  # scan: files with at least one match (including ones already reported)
    skipped: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    ignored: int = 0
    frames: int = 0
    hashing_seconds: float = 0.0
    interrupted: bool = False
    t0: float = field(default_factory=time.monotonic)
    extra: dict = field(default_factory=dict)

    def summary(self) -> dict:
        seconds = time.monotonic() - self.t0
        return {
            "event": "summary", "command": self.command, "files": self.files, "done": self.done,
            "matched": self.matched, "skipped": dict(self.skipped), "failed": dict(self.failed),
            "failed_total": sum(self.failed.values()), "ignored": self.ignored, "frames": self.frames,
            "seconds": round(seconds, 3), "files_per_s": round(self.done / seconds, 4) if seconds else 0.0,
            "frames_per_s": round(self.frames / seconds, 2) if seconds else 0.0,
            "interrupted": self.interrupted, **self.extra,
        }


# -- the engine ------------------------------------------------------------------------------------

def _list(paths: Sequence[str], counters: Counters, log: RunLog, progress: Progress) -> list[Candidate]:
    candidates = []
    for found in discover(paths):
        if isinstance(found, Candidate):
            candidates.append(found)
        elif isinstance(found, Ignored):
            counters.ignored += 1
        else:
            counters.files += 1
            counters.failed[found.kind] += 1
            log.error({"path": found.path, "content_id": None, "stage": found.stage, "kind": found.kind,
                       "reason": found.reason})
            progress.problem(found.path, found.kind, found.reason)
    counters.files += len(candidates)
    return candidates


def _drive(candidates: list[Candidate], pool, decide: Callable[[Candidate, str], Task | None],
           on_outcome: Callable[[Candidate, Outcome], None], tick: Callable[[], None],
           known_id: Callable[[Candidate], str | None] = lambda c: None) -> None:
    """Feed ``pool`` with the tasks ``decide`` returns; hand every outcome to ``on_outcome``.

    Content ids are computed ahead on two threads (reading is I/O, hashlib releases the GIL), a few
    more than the pool holds, so workers never wait for the client; a file for which ``known_id``
    gives an id (unchanged since it was committed) is not read.
    """
    it = iter(candidates)
    ahead: deque = deque()
    lookahead = 2 * pool.capacity + 4
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="vidprint-sha256") as hasher:
        def refill() -> None:
            while len(ahead) < lookahead:
                c = next(it, None)
                if c is None:
                    return
                cid = known_id(c)
                if cid is None:
                    ahead.append((c, hasher.submit(sha256_file, c.path)))
                else:
                    done: Future = Future()
                    done.set_result(cid)
                    ahead.append((c, done))

        refill()
        try:
            while ahead or pool.in_flight:
                while ahead and pool.in_flight < pool.capacity:
                    c, fut = ahead.popleft()
                    refill()
                    try:
                        cid = fut.result()
                    except OSError as exc:
                        on_outcome(c, failure(c.path, None, "read", "unreadable",
                                              f"cannot be read: {exc.strerror or exc}"))
                        continue
                    task = decide(c, cid)
                    if task is not None:
                        pool.submit(c, task)
                if pool.in_flight:
                    for c, outcome in pool.results(timeout=1.0):
                        on_outcome(c, outcome)
                tick()
        finally:
            for _, fut in ahead:
                fut.cancel()


def _make_pool(workers: int, scheduler: str | None, ship_bytes: bool, pool=None):
    """The pool a run uses: ``pool`` if given (the caller keeps it, warm, for the next run), else a
    new :class:`~vidprint.batch.local.LocalPool` or :class:`~vidprint.batch.distributed.DaskPool`
    closed at the end of the run."""
    if pool is not None:
        return contextlib.nullcontext(pool)
    if scheduler:
        from vidprint.batch.distributed import DaskPool

        return DaskPool(scheduler, ship_bytes=ship_bytes)
    from vidprint.batch.local import LocalPool

    return LocalPool(workers)


def _record_failure(c_path: str, outcome: Outcome, counters: Counters, log: RunLog, progress: Progress) -> None:
    counters.failed[outcome.kind or outcome.stage or "error"] += 1
    log.error(outcome.error_dict())
    progress.file(c_path, "failed", seconds=outcome.seconds, kind=outcome.kind, reason=outcome.reason,
                  content_id=outcome.content_id)


def default_log_path(target: str) -> str:
    """``<index>.log.jsonl`` or ``<report>.log.jsonl`` beside the index folder or the report."""
    return os.path.normpath(os.fspath(target)) + ".log.jsonl"


# -- batch ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchConfig:
    """Everything a run needs besides its inputs (the CLI's flags)."""

    options: HashOptions = HashOptions()
    limits: Limits = Limits()
    workers: int = 1
    scheduler: str | None = None
    ship_bytes: bool = False
    commit_every: int = COMMIT_EVERY
    commit_seconds: float = COMMIT_SECONDS
    retry_failed: bool = False
    log: str | None = None
    max_bytes: int | None = None  # stdin (scan -)
    #: Record each file's path in its index entry's metadata (an operator's own archive index wants
    #: to say which file matched); False for an index that will be shared: a path says who had what.
    store_paths: bool = True
    #: Resume: a file whose path, size and modification time equal those recorded with a committed
    #: entry (batch, ``store_paths`` only) or a reported line (scan) is skipped without reading it
    #: again for its content id; False reads every file (``--reread``: for a file system whose
    #: modification times cannot be trusted).
    trust_stat: bool = True

    def __post_init__(self):
        if self.workers < 1:
            raise InvalidArgumentError("--workers", f"must be >= 1, got {self.workers}")
        if self.commit_every < 1:
            raise InvalidArgumentError("--commit-every", f"must be >= 1, got {self.commit_every}")


def _unchanged_files(records: Iterable[tuple[Any, Any, Any, Any]]) -> Callable[[Candidate], str | None]:
    """The resume's stat check. From ``(path, bytes, mtime_ns, content id)`` records of files already
    done (malformed ones ignored), a function giving the content id of a candidate whose path, size
    and modification time are all unchanged, else None (the file must be read)."""
    table = {(path, size, mtime): cid for path, size, mtime, cid in records
             if isinstance(path, str) and isinstance(size, int) and isinstance(mtime, int) and cid}
    return lambda c: table.get((c.path, c.size, c.mtime_ns)) if c.mtime_ns is not None else None


def _committed_files(ix) -> Iterator[tuple[Any, Any, Any, str]]:
    """``(path, bytes, mtime_ns, content id)`` of the index's entries as a batch with ``store_paths``
    records them (None where an entry lacks one: older runs, ``--no-paths``, other writers)."""
    for cid in ix.ids():
        md = ix.metadata(cid)
        yield md.get("path"), md.get("bytes"), md.get("mtime_ns"), cid


def _open_index_for_writing(path: str):
    from vidprint.index import Index

    return Index.create(path, exist_ok=True)  # opens an existing index for writing


def run_batch(paths: Sequence[str], index: str, config: BatchConfig = BatchConfig(),
              progress: Progress | None = None, pool=None) -> Counters:
    """Hash every video under ``paths`` into the index at ``index`` (created if absent); resumable.

    ``pool``: an open :class:`~vidprint.batch.local.LocalPool` or
    :class:`~vidprint.batch.distributed.DaskPool` to use (and leave open) instead of one made from
    ``config`` for this run.

    Returns the :class:`Counters` of the run (also written to the log and given to ``progress``).
    Raises :class:`~vidprint.errors.IndexStoreError` if the index cannot be opened or written.
    """
    progress = progress or Progress()
    counters = Counters("batch", extra={"index": os.fspath(index)})
    log = RunLog(config.log or default_log_path(index))
    counters.extra["log"] = log.path
    pending: list[tuple[Any, str, dict]] = []
    seen: dict[str, str] = {}  # content id -> the path hashed (or committed) for it in this run
    last_commit = time.monotonic()
    try:
        # The pool first: its processes warm up while the index opens and the archive is listed.
        with _make_pool(config.workers, config.scheduler, config.ship_bytes, pool) as pool, \
                _open_index_for_writing(os.fspath(index)) as ix:
            def commit() -> None:
                nonlocal last_commit
                if pending:
                    ix.add_many(list(pending))
                    pending.clear()
                last_commit = time.monotonic()

            def decide(c: Candidate, cid: str) -> Task | None:
                why = None
                if cid in ix:
                    why = "already indexed"
                elif cid in seen:
                    why = "duplicate"
                elif cid in log.failed and not config.retry_failed:
                    why = "failed before"
                if why is not None:
                    counters.skipped[why] += 1
                    detail = f"same content as {seen[cid]}" if why == "duplicate" else None
                    progress.file(c.path, "skipped", kind=why, detail=detail, content_id=cid)
                    return None
                seen[cid] = c.path
                return Task(c.path, cid, None, config.options, config.limits)

            def on_outcome(c: Candidate, outcome: Outcome) -> None:
                if not outcome.ok:
                    _record_failure(c.path, outcome, counters, log, progress)
                    return
                counters.done += 1
                counters.frames += outcome.frames
                counters.hashing_seconds += outcome.seconds
                meta: dict[str, Any] = {"bytes": c.size}
                if config.store_paths:
                    meta["path"] = c.path
                    if c.mtime_ns is not None:
                        meta["mtime_ns"] = c.mtime_ns
                pending.append((outcome.fingerprint, outcome.content_id, meta))
                progress.file(c.path, "hashed", frames=outcome.frames, seconds=outcome.seconds,
                              content_id=outcome.content_id)
                if len(pending) >= config.commit_every:
                    commit()

            def tick() -> None:
                if pending and time.monotonic() - last_commit >= config.commit_seconds:
                    commit()

            try:
                candidates = _list(paths, counters, log, progress)
                progress.start(len(candidates))
                trusted = config.store_paths and config.trust_stat
                _drive(candidates, pool, decide, on_outcome, tick,
                       _unchanged_files(_committed_files(ix) if trusted else ()))
            except KeyboardInterrupt:
                counters.interrupted = True
            commit()
    finally:
        summary = counters.summary()
        try:
            log.summary(summary)
        finally:
            log.close()
    progress.finish(summary)
    return counters


# -- scan ----------------------------------------------------------------------------------------------

def _thresholds_dict() -> dict | None:
    try:
        from vidprint.index import Thresholds
    except ImportError:
        return None
    t = Thresholds()
    return dataclasses.asdict(t) if dataclasses.is_dataclass(t) else None


def _report_line(path: str, outcome: Outcome, matches: list[dict] | None, thresholds: dict | None) -> dict:
    line: dict[str, Any] = {"path": path, "content_id": outcome.content_id}
    if outcome.ok:
        fp = outcome.fingerprint
        line.update(status="match" if matches else "no match", matches=matches or [], thresholds=thresholds,
                    frames=outcome.frames, duration_s=getattr(fp.info, "duration_s", None), error=None)
    else:
        line.update(status="error", matches=[], thresholds=thresholds, frames=0, duration_s=None,
                    error={"stage": outcome.stage, "kind": outcome.kind, "reason": outcome.reason})
    return line


def _stamped(line: dict, c: Candidate) -> dict:
    """``line`` for file ``c``: its path, size and modification time (what a resume compares)."""
    out = dict(line, path=c.path, bytes=c.size)
    if c.mtime_ns is not None:
        out["mtime_ns"] = c.mtime_ns
    else:
        out.pop("mtime_ns", None)
    return out


def _match_detail(line: dict) -> str | None:
    ids = [m.get("id") for m in line.get("matches", []) if isinstance(m, dict)]
    return ("matches " + ", ".join(str(i)[:16] for i in ids[:3]) + (" ..." if len(ids) > 3 else "")) if ids else None


def run_scan(paths: Sequence[str], index: str, report: str, config: BatchConfig = BatchConfig(),
             progress: Progress | None = None, pool=None) -> Counters:
    """Hash every video under ``paths`` (or standard input: ``["-"]``) and query the index with it.

    Appends one JSON line per file to ``report``; see the module docstring for resuming. Returns the
    :class:`Counters` (``matched``, ``failed``... also for lines already in the report).
    """
    from vidprint.index import Index

    from_stdin = list(paths) == ["-"]
    if "-" in paths and not from_stdin:
        raise InvalidArgumentError("-", "standard input cannot be scanned together with other inputs")
    progress = progress or Progress()
    counters = Counters("scan", extra={"index": os.fspath(index), "report": os.fspath(report)})
    out = JsonLines(report)
    log = RunLog(config.log or default_log_path(report))
    counters.extra["log"] = log.path
    reported: dict[tuple[str, str], dict] = {(r.get("path"), r.get("content_id")): r for r in out.lines}
    known: dict[str, dict] = {r["content_id"]: r for r in out.lines
                              if r.get("content_id") and r.get("status") in ("match", "no match")}
    waiting: dict[str, list[Candidate]] = {}
    thresholds = _thresholds_dict()
    try:
        with contextlib.ExitStack() as stack:
            # The pool first: its processes warm up while the index opens and the archive is listed.
            # Standard input is hashed in a child forked from here (it inherits the pipe).
            pool = None if from_stdin else stack.enter_context(
                _make_pool(config.workers, config.scheduler, config.ship_bytes, pool))
            ix = stack.enter_context(Index.open(os.fspath(index), mode="r"))

            def emit(path: str, line: dict, frames: int = 0, seconds: float = 0.0) -> None:
                """Count ``line`` and append it to the report unless it is there already."""
                key = (path, line.get("content_id"))
                if key not in reported:
                    out.write(line)
                    reported[key] = line
                if line["status"] == "error":
                    err = line.get("error") or {}
                    counters.failed[err.get("kind") or err.get("stage") or "error"] += 1
                    progress.file(path, "failed", kind=err.get("kind"), reason=err.get("reason"),
                                  content_id=line.get("content_id"))
                    return
                counters.done += 1
                counters.matched += line["status"] == "match"
                progress.file(path, line["status"], frames=frames, seconds=seconds, detail=_match_detail(line),
                              content_id=line.get("content_id"))

            def finish(path: str, outcome: Outcome, c: Candidate | None = None) -> dict:
                """Query the index with a hashed file (or record its failure) and report it (with
                ``c``'s size and modification time for a file of the archive)."""
                matches = None
                if outcome.ok:
                    try:
                        matches = [m.to_dict() for m in ix.query(outcome.fingerprint)]
                    except Exception as exc:  # noqa: BLE001 -- recorded per file; the scan goes on
                        outcome = failure(path, outcome.content_id, "query", "query failed",
                                          f"{type(exc).__name__}: {exc}")
                line = _report_line(path, outcome, matches, thresholds)
                if c is not None:
                    line = _stamped(line, c)
                if outcome.ok:
                    counters.frames += outcome.frames
                    known[outcome.content_id] = line
                else:
                    log.error(outcome.error_dict())
                emit(path, line, outcome.frames, outcome.seconds)
                return line

            if from_stdin:
                progress.start(1)
                counters.files = 1
                task = Task("-", None, None, config.options, config.limits, max_bytes=config.max_bytes)
                finish("-", run_isolated(task))
            else:
                def decide(c: Candidate, cid: str) -> Task | None:
                    prior = reported.get((c.path, cid))
                    if prior is not None and prior.get("status") != "error":
                        counters.skipped["already reported"] += 1
                        counters.matched += prior.get("status") == "match"
                        progress.file(c.path, "skipped", kind="already reported", content_id=cid)
                        return None
                    if prior is not None:  # reported as failed: counted as failed again, not retried
                        emit(c.path, prior)
                        return None
                    if cid in known:  # same content as a file already scanned: same answer, no hashing
                        emit(c.path, _stamped(known[cid], c))
                        return None
                    if cid in waiting:  # the same content is being hashed right now
                        waiting[cid].append(c)
                        return None
                    waiting[cid] = []
                    return Task(c.path, cid, None, config.options, config.limits)

                def on_outcome(c: Candidate, outcome: Outcome) -> None:
                    line = finish(c.path, outcome, c)
                    for other in waiting.pop(outcome.content_id, []) if outcome.content_id else []:
                        if line["status"] == "error":
                            log.error(dict(outcome.error_dict(), path=other.path))
                        emit(other.path, _stamped(line, other))

                # resume: a file reported with the size and modification time it still has is not
                # read again (its content id is the reported one; decide() then skips it)
                known_id = _unchanged_files((r.get("path"), r.get("bytes"), r.get("mtime_ns"), r.get("content_id"))
                                            for r in out.lines if config.trust_stat)

                try:
                    candidates = _list(paths, counters, log, progress)
                    progress.start(len(candidates))
                    _drive(candidates, pool, decide, on_outcome, lambda: None, known_id)
                except KeyboardInterrupt:
                    counters.interrupted = True
    finally:
        summary = counters.summary()
        try:
            log.summary(summary)
        finally:
            log.close()
            out.close()
    progress.finish(summary)
    return counters


def scan_exit_status(counters: Counters) -> int:
    """grep's convention: 0 = at least one match, 1 = no match and no error, 2 = no match and errors."""
    if counters.matched:
        return 0
    return 2 if sum(counters.failed.values()) else 1


__all__ = ["BatchConfig", "Counters", "JsonLines", "RunLog", "default_log_path", "format_summary", "run_batch",
           "run_scan", "scan_exit_status", "sha256_file"]
