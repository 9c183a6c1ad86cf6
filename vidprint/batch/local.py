"""A local pool of hashing processes (*hosts*), one file at a time each, replaced when a file kills one.

A host is a fresh interpreter (started with :mod:`subprocess`: it inherits no thread, lock or open
index of the batch) that imports vidprint, loads the Numba kernels by hashing a tiny synthetic video,
then hashes the files it is sent, one at a time, with :func:`vidprint.batch.worker.hash_in_process`
under :func:`~vidprint.batch.worker.apply_limits` (its address space capped at ``max_memory``).
Kernels and decoder state stay warm from file to file, which a fresh process per file would lose.

The parent keeps the risk out of the batch:

* **timeout**: a host busy longer than the task's ``timeout`` is killed (SIGKILL) and replaced;
* **crash**: a host that dies (segfault, abort) is replaced; its file is recorded with the signal;
* **memory**: an allocation beyond the cap fails inside the host, which reports it and then exits to
  be replaced (its heap may be fragmented), as it does after :data:`RECYCLE_AFTER` files.

A host exits by itself when the batch dies (it watches its parent), so a SIGKILLed batch leaves no
process behind.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from multiprocessing.connection import Connection, wait
from typing import Any, Hashable

from vidprint.batch.worker import (Outcome, Task, apply_limits, crash_outcome, die_with_parent, hash_in_process,
                                   timeout_outcome)
from vidprint.worker_env import worker_environment

#: A host hashes at most this many files, then exits and is replaced (bounds what a long run accretes).
RECYCLE_AFTER = 256
#: Tasks queued on one host: the one running and the next, so no host waits for the client.
QUEUE_PER_HOST = 2


def _warm_up() -> None:
    """Load the kernels the default fingerprint uses (and the ``--size`` path), once per host."""
    from vidprint.pipeline import fingerprint
    from vidprint.synth import make_video

    video = make_video(0, seconds=0.3, size=(64, 48))
    fingerprint(video, every_seconds=1.0, workers=1)
    fingerprint(video, every_seconds=0.0, size=32, workers=1)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.2)
        if os.getppid() != parent:  # the batch died (even SIGKILL): stop now, mid-file or not
            os._exit(0)


def host_main(fd: int, parent: int, pdeathsig: bool = True) -> None:
    """The host process: warm up, then hash each task received on socket ``fd``; see the module docstring.

    ``pdeathsig``: also ask Linux to kill this process the moment the thread that started it ends
    (immediate, but only right when that thread lives as long as the batch: the main thread).
    """
    import faulthandler

    if pdeathsig:
        die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's: it closes its hosts
    faulthandler.disable()  # a crash is recorded by the parent (signal name), not dumped on stderr
    threading.Thread(target=_watch_parent, args=(parent,), name="vidprint-watch-parent", daemon=True).start()
    conn = Connection(fd)
    try:
        _warm_up()
    except Exception:  # noqa: BLE001 -- the first file then loads the kernels; still correct
        pass
    try:
        conn.send(("ready", os.getpid()))
    except OSError:
        return  # the batch is gone already
    for served in range(1, RECYCLE_AFTER + 1):
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return  # the batch is gone
        if task is None:
            return
        apply_limits(task.limits.max_memory)
        outcome = hash_in_process(task)
        # After an allocation failure or an internal error (the heap may be in a poor state), or
        # after RECYCLE_AFTER files, the host retires: it says so with the outcome, then exits.
        retire = outcome.stage in ("memory", "hash") or served == RECYCLE_AFTER
        try:
            conn.send(("done", outcome, retire))
        except OSError:
            return
        if retire:
            return


class Host:
    """One host process, seen from its parent, and the task it is running (if any)."""

    def __init__(self, pdeathsig: bool = True) -> None:
        # A new interpreter through subprocess, not multiprocessing: Dask worker processes are
        # daemonic, and multiprocessing forbids daemonic processes to have children.
        ours, theirs = socket.socketpair()
        with theirs:
            code = (f"from vidprint.batch.local import host_main; "
                    f"host_main({theirs.fileno()}, {os.getpid()}, {bool(pdeathsig)})")
            self.process = subprocess.Popen([sys.executable, "-c", code], pass_fds=(theirs.fileno(),),
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            env=worker_environment())
        self.conn = Connection(ours.detach())
        self.queue: deque[tuple[Hashable, Task]] = deque()  # sent, not finished; the first is running
        self.orphans: list[tuple[Hashable, Task]] = []  # queued behind a task that killed the host
        self.ready = False  # warmed up
        self.started = 0.0  # when the first task of the queue started (about)
        self.deadline = float("inf")

    @property
    def alive(self) -> bool:
        return not self.conn.closed and self.process.poll() is None

    @property
    def busy(self) -> bool:
        return bool(self.queue)

    def _start_next(self, now: float) -> None:
        self.started = now
        self.deadline = now + self.queue[0][1].limits.timeout if self.queue else float("inf")

    def send(self, tag: Hashable, task: Task) -> None:
        """Queue ``task`` on this host (it starts when the host has finished the ones before it)."""
        self.queue.append((tag, task))
        if len(self.queue) == 1:
            self._start_next(time.monotonic())
        try:
            self.conn.send(task)
        except OSError:
            pass  # the host died: receive() reports it

    def receive(self) -> tuple[Hashable, Outcome] | None:
        """Read one message; ``(tag, outcome)`` when a task finished (or the host died with one)."""
        try:
            msg = self.conn.recv()
        except (EOFError, OSError):
            return self._lost()
        if isinstance(msg, tuple) and msg and msg[0] == "ready":
            self.ready = True
            return None
        if not self.queue:
            return None
        _, outcome, retire = msg
        tag, _ = self.queue.popleft()
        self._start_next(time.monotonic())
        if retire:  # it is exiting: what was queued behind goes to another host
            self._orphan_rest()
            self.close(kill=False)
        return tag, outcome

    def _orphan_rest(self) -> None:
        self.orphans.extend(self.queue)
        self.queue.clear()
        self.deadline = float("inf")

    def expire(self, now: float) -> tuple[Hashable, Outcome] | None:
        """If the running task is past its deadline: kill the host, return the timeout outcome."""
        if not self.queue or now < self.deadline:
            return None
        tag, task = self.queue.popleft()
        self._orphan_rest()
        self.close()
        return tag, timeout_outcome(task, now - self.started)

    def _lost(self) -> tuple[Hashable, Outcome] | None:
        self.close(kill=False)
        if not self.queue:
            return None  # an idle host that exited (recycled): replaced on the next submit
        tag, task = self.queue.popleft()
        self._orphan_rest()
        return tag, crash_outcome(task, self.process.returncode, time.monotonic() - self.started)

    def run(self, task: Task) -> Outcome:
        """Send ``task`` to this idle host and wait for its outcome (at most its timeout)."""
        self.send(None, task)
        while True:
            left = self.deadline - time.monotonic()
            if left <= 0 or not self.conn.poll(left):
                got = self.expire(max(time.monotonic(), self.deadline))
            else:
                got = self.receive()
            if got is not None:
                return got[1]

    def close(self, kill: bool = True) -> None:
        """Stop the host (it holds nothing worth waiting for)."""
        if not self.conn.closed:
            self.conn.close()
        if kill and self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class LocalPool:
    """``workers`` host processes on this machine. Interface shared with :class:`DaskPool`:

    ``capacity`` (tasks worth keeping in flight), ``submit(tag, task)``, ``results(timeout)`` ->
    ``[(tag, Outcome)]``, ``in_flight``, ``close()``; a context manager. The hosts start at once, so
    they warm up while the client lists the archive. Each host holds up to :data:`QUEUE_PER_HOST`
    tasks, so it starts the next file while the client is still busy with the last result.
    """

    def __init__(self, workers: int = 1):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self._hosts: list[Host] = [Host() for _ in range(workers)]

    @property
    def capacity(self) -> int:
        return QUEUE_PER_HOST * self.workers

    @property
    def in_flight(self) -> int:
        return sum(len(h.queue) + len(h.orphans) for h in self._hosts)

    def _replace(self, i: int) -> Host:
        old = self._hosts[i]
        old.close()
        new = self._hosts[i] = Host()
        for tag, task in old.orphans:  # files that never started: sent again, to the new host
            new.send(tag, task)
        old.orphans.clear()
        return new

    def submit(self, tag: Hashable, task: Task) -> None:
        for i, host in enumerate(self._hosts):
            if not host.alive and not host.queue:
                self._replace(i)
        host = min((h for h in self._hosts if h.alive), key=lambda h: len(h.queue), default=None)
        if host is None or len(host.queue) >= QUEUE_PER_HOST:
            raise RuntimeError("no room: wait for results() before submitting more than capacity tasks")
        host.send(tag, task)

    def results(self, timeout: float | None = None) -> list[tuple[Hashable, Any]]:
        """Outcomes of finished (or timed-out) tasks; waits up to ``timeout`` seconds for at least one."""
        out: list[tuple[Hashable, Outcome]] = []
        end = float("inf") if timeout is None else time.monotonic() + timeout
        while not out:
            now = time.monotonic()
            for host in self._hosts:
                got = host.expire(now)
                if got is not None:
                    out.append(got)
            if not out:
                conns = [h.conn for h in self._hosts if not h.conn.closed]
                if not conns or now >= end:
                    break
                until = min([end] + [h.deadline for h in self._hosts if h.queue])
                ready = wait(conns, None if until == float("inf") else max(0.0, until - now))
                for host in self._hosts:
                    if host.conn in ready:
                        got = host.receive()
                        if got is not None:
                            out.append(got)
            for i, host in enumerate(self._hosts):
                if host.orphans:
                    self._replace(i)
        return out

    def wait_ready(self, timeout: float = 300.0) -> bool:
        """Block until every idle host has warmed up (or ``timeout``); True if they all have."""
        end = time.monotonic() + timeout
        while True:
            waiting = [h for h in self._hosts if not h.ready and not h.queue and not h.conn.closed]
            left = end - time.monotonic()
            if not waiting or left <= 0:
                return not waiting
            for conn in wait([h.conn for h in waiting], left):
                next(h for h in waiting if h.conn is conn).receive()

    def close(self) -> None:
        for host in self._hosts:
            host.close()

    def __enter__(self) -> "LocalPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
