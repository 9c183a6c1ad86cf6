"""Hashing one file under a wall-clock and a memory limit, in a process that may die for it.

Two ways to run :func:`hash_in_process` (the fingerprint of one :class:`Task`, every failure turned
into an :class:`Outcome`) away from the batch:

* the *hosts* of :mod:`vidprint.batch.local` (and of Dask workers): long-lived worker processes, each
  hashing one file at a time under :func:`apply_limits`, killed by their parent at the timeout,
  replaced after a crash, a memory failure or a few hundred files;
* :func:`run_isolated`: one forked child for one input (``vidprint scan -``: the child inherits
  standard input), the parent waiting with the same limits.

Either way whatever a file does to the decoder stays in that process:

* **hang**: the process is killed (SIGKILL) when ``Limits.timeout`` seconds of wall-clock time pass;
* **crash**: a segfault or abort in FFmpeg ends that process only; its signal is the recorded reason;
* **memory**: the address space is capped with ``setrlimit(RLIMIT_AS)`` at ``Limits.max_memory``
  bytes before the file is read: an allocation beyond it fails there (``MemoryError``, FFmpeg's
  ENOMEM), never in the batch and never by the system's OOM killer.

Only hashes and counts come back (a pickled :class:`~vidprint.record.Fingerprint`), never pixels.
Every failure becomes an :class:`Outcome` with a ``stage`` (``read``, ``decode``, ``hash``,
``timeout``, ``memory``, ``crash``), a short ``kind`` for summaries and a ``reason`` in words.
POSIX only (``fork``, ``setrlimit``).
"""
from __future__ import annotations

import dataclasses
import faulthandler
import os
import pickle
import resource
import select
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

from vidprint.errors import DecodeError, InvalidArgumentError, VidprintError

#: Default wall-clock limit per file, in seconds (a two-hour film decodes in a few minutes).
DEFAULT_TIMEOUT = 1800.0
#: Default cap on a worker's address space, in bytes. This counts *virtual* memory: a worker that has
#: loaded Python, NumPy, Numba and FFmpeg already maps about 1 GiB before it reads a byte.
DEFAULT_MAX_MEMORY = 4 << 30
#: The smallest ``max_memory`` accepted (below it a worker cannot even start decoding).
MIN_MAX_MEMORY = 1 << 30


@dataclass(frozen=True)
class HashOptions:
    """What to compute for each file (the arguments of :func:`vidprint.fingerprint`).

    Default: both TMK profiles (reference and compact) and vPDQ at one hash per second.
    ``threads``: hashing threads inside the worker (None: one per CPU).
    """

    tmk: bool = True
    vpdq: bool = True
    every_seconds: float = 1.0
    size: int | None = None
    threads: int | None = None

    def __post_init__(self):
        if not (self.tmk or self.vpdq):
            raise InvalidArgumentError("--no-tmk/--no-vpdq", "nothing to compute: both kinds are disabled")


@dataclass(frozen=True)
class Limits:
    """Per-file resource limits: wall-clock seconds and address-space bytes (None: no cap)."""

    timeout: float = DEFAULT_TIMEOUT
    max_memory: int | None = DEFAULT_MAX_MEMORY

    def __post_init__(self):
        if not self.timeout > 0:
            raise InvalidArgumentError("--timeout", f"must be a positive number of seconds, got {self.timeout!r}")
        if self.max_memory is not None and self.max_memory < MIN_MAX_MEMORY:
            raise InvalidArgumentError(
                "--max-memory", f"{self.max_memory:,} bytes is too small: a worker maps about 1 GiB of "
                f"address space before it reads a file; give at least {MIN_MAX_MEMORY:,}")


@dataclass(frozen=True)
class Task:
    """One input to hash.

    ``path`` names it (and is read by the worker unless ``data`` is given: the client shipped the
    bytes). ``path == "-"`` reads standard input (only in a child forked by the process that owns
    that standard input). ``content_id`` is the SHA-256 the client computed, checked against the
    bytes the worker hashes (a file that changes in between is a failure, not a wrong entry).
    """

    path: str
    content_id: str | None = None
    data: bytes | None = None
    options: HashOptions = HashOptions()
    limits: Limits = Limits()
    max_bytes: int | None = None  # stdin: largest input held in memory (vidprint.batch.stdin)


@dataclass(frozen=True)
class Outcome:
    """The result of one :class:`Task`: a fingerprint, or the stage, kind and reason of its failure."""

    path: str
    content_id: str | None
    fingerprint: Any = None  # vidprint.record.Fingerprint
    stage: str | None = None  # None: success
    kind: str | None = None  # short failure category, e.g. "timeout", "no video stream"
    reason: str | None = None
    seconds: float = 0.0
    frames: int = 0

    @property
    def ok(self) -> bool:
        return self.stage is None

    def error_dict(self) -> dict:
        """The failure as a JSON-ready record (path, content hash, stage, kind, reason)."""
        return {"path": self.path, "content_id": self.content_id, "stage": self.stage, "kind": self.kind,
                "reason": self.reason}


def failure(path: str, content_id: str | None, stage: str, kind: str, reason: str, seconds: float = 0.0) -> Outcome:
    return Outcome(path, content_id, None, stage, kind, reason, seconds, 0)


# -- hashing, in the process that takes the risk -----------------------------------------------------

_MEMORY_WORDS = ("cannot allocate memory", "out of memory", "memoryerror", "unable to allocate",
                 "can't start new thread", "std::bad_alloc")


def _decode_kind(reason: str) -> str:
    """A short category for a decode failure, from the decoder's words (for summaries only)."""
    r = reason.lower()
    for words, kind in ((("no video stream",), "no video stream"),
                        (("0 frames", "no frame", "zero frames", "no decodable"), "no frames"),
                        (("not a readable media file", "invalid data found when processing input"),
                         "not a readable video"),
                        (("--max-bytes",), "input too large"),
                        (("too large", "exceed", "pixels"), "frame too large"),
                        (("truncated", "corrupt"), "corrupt or truncated"),
                        (("empty",), "empty file"),
                        (("no such file",), "missing"),
                        (("permission", "cannot open"), "unreadable")):
        if any(w in r for w in words):
            return kind
    return "decode error"


def _is_memory(exc: BaseException) -> bool:
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, MemoryError) or any(w in str(exc).lower() for w in _MEMORY_WORDS):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def apply_limits(max_memory: int | None) -> None:
    """Cap this process's address space at ``max_memory`` bytes (None: no cap) and forbid core files
    (a crashing decoder leaves nothing behind). Only the soft limit moves: it can be raised again."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = resource.RLIM_INFINITY if max_memory is None else max_memory
    if hard != resource.RLIM_INFINITY:
        cap = hard if cap == resource.RLIM_INFINITY else min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def crash_outcome(task: Task, returncode: int | None, seconds: float = 0.0) -> Outcome:
    """The outcome of a task whose process died: ``returncode`` as :mod:`subprocess` gives it
    (negative: killed by that signal), None if unknown."""
    if returncode is not None and returncode < 0:
        sig = -returncode
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        hint = " (killed from outside: the system may be out of memory)" if sig == signal.SIGKILL else ""
        return failure(task.path, task.content_id, "crash", f"crashed ({name})",
                       f"the decoding process died of {name}{hint}", seconds)
    return failure(task.path, task.content_id, "crash", "crashed",
                   f"the decoding process exited (status {returncode}) without a result", seconds)


def timeout_outcome(task: Task, seconds: float) -> Outcome:
    return failure(task.path, task.content_id, "timeout", "timeout",
                   f"no result within {task.limits.timeout:g} s of wall-clock time: the worker was killed", seconds)


def die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this child if the process that forked it dies (no orphans hashing on)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(0)


def _open_input(task: Task):
    """``(source for fingerprint, StdinInput or None)`` for a task."""
    if task.data is not None:
        return task.data, None
    if task.path == "-":
        from vidprint.batch.stdin import DEFAULT_MAX_BYTES, open_stdin

        stdin = open_stdin(task.max_bytes or DEFAULT_MAX_BYTES)
        return stdin.source, stdin
    return task.path, None


def _compute(task: Task, src):
    """The fingerprint of ``src`` with the task's options (raises on failure)."""
    from vidprint.pipeline import fingerprint

    opts = task.options
    return fingerprint(src, tmk=opts.tmk, vpdq=opts.vpdq, every_seconds=opts.every_seconds, size=opts.size,
                       name=task.path if task.path != "-" else "<stdin>", workers=opts.threads)


def hash_in_process(task: Task) -> Outcome:
    """Fingerprint ``task`` in this process; every failure becomes an :class:`Outcome` (never raises
    for anything the file does). Run it where a crash or a hang cannot hurt: see the module docstring."""
    t0 = time.perf_counter()
    cid = task.content_id
    stdin = None
    try:
        src, stdin = _open_input(task)
        fp = _compute(task, src)
        got = fp.content_id
        if stdin is not None:
            got = stdin.content_id() or got
        if cid is not None and got is not None and got != cid:
            return failure(task.path, cid, "read", "changed while hashing",
                           f"the file changed while it was being hashed (sha256 {cid[:12]}... when listed, "
                           f"{got[:12]}... when decoded)", time.perf_counter() - t0)
        cid = cid or got
        if fp.content_id != cid:
            fp = dataclasses.replace(fp, content_id=cid)
        return Outcome(task.path, cid, fp, None, None, None, time.perf_counter() - t0, int(fp.decoded_frames))
    except BaseException as exc:  # noqa: BLE001 -- everything is reported, nothing escapes the child
        seconds = time.perf_counter() - t0
        if stdin is not None and cid is None:
            try:
                cid = stdin.content_id()  # the bytes read so far and the rest of the pipe
            except Exception:  # noqa: BLE001
                pass
        if _is_memory(exc):
            cap = task.limits.max_memory
            return failure(task.path, cid, "memory", "memory limit",
                           f"out of memory under the worker's limit ({cap:,} bytes of address space): {exc}"
                           if cap else f"out of memory: {exc}", seconds)
        if isinstance(exc, DecodeError):
            return failure(task.path, cid, "decode", _decode_kind(exc.reason), exc.reason, seconds)
        if isinstance(exc, VidprintError):
            return failure(task.path, cid, "hash", type(exc).__name__, exc.reason, seconds)
        where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        at = f" at {where[0].filename}:{where[0].lineno}" if where else ""
        return failure(task.path, cid, "hash", "internal error", f"{type(exc).__name__}: {exc}{at}", seconds)


def _child_main(task: Task, wfd: int, parent: int) -> None:
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle, not the child's
    faulthandler.disable()  # a crash is recorded by the parent (signal name), not dumped on stderr
    try:
        apply_limits(task.limits.max_memory + (task.max_bytes or 0) if task.limits.max_memory and task.path == "-"
                     else task.limits.max_memory)
        outcome = hash_in_process(task)
    except BaseException as exc:  # noqa: BLE001
        outcome = failure(task.path, task.content_id, "hash", "internal error", f"{type(exc).__name__}: {exc}")
    try:
        payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001
        payload = pickle.dumps(failure(task.path, outcome.content_id, "hash", "internal error",
                                       f"result not picklable: {exc}"))
    view = memoryview(payload)
    while view:
        view = view[os.write(wfd, view):]


# -- the parent --------------------------------------------------------------------------------------

def run_isolated(task: Task) -> Outcome:
    """Hash ``task`` in a forked child under ``task.limits``; never raises for anything the file does.

    The caller should be single-threaded (a thread holding a lock at fork time would leave the child
    stuck). If the caller is interrupted (Ctrl-C) while waiting, the child is killed first.
    """
    t0 = time.monotonic()
    rfd, wfd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            os.close(rfd)
            _child_main(task, wfd, parent)
        except BaseException:  # noqa: BLE001
            code = 70
        finally:
            os._exit(code)
    os.close(wfd)
    chunks: list[bytes] = []
    deadline = t0 + task.limits.timeout
    finished = timed_out = False
    try:
        while not finished:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            if select.select([rfd], [], [], min(left, 60.0))[0]:
                data = os.read(rfd, 1 << 20)
                finished = not data
                chunks.append(data)
    finally:
        if not finished:  # timed out, or the caller is being interrupted
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, status = os.waitpid(pid, 0)
        os.close(rfd)
    seconds = time.monotonic() - t0
    if timed_out:
        return timeout_outcome(task, seconds)
    if os.WIFSIGNALED(status):
        return crash_outcome(task, -os.WTERMSIG(status), seconds)
    try:
        outcome = pickle.loads(b"".join(chunks))
    except Exception:  # noqa: BLE001 -- a child that died mid-write
        return crash_outcome(task, os.WEXITSTATUS(status) if os.WIFEXITED(status) else None, seconds)
    return dataclasses.replace(outcome, seconds=seconds)
