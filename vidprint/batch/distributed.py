"""Hashing on a Dask cluster (``--scheduler tcp://HOST:PORT``): workers only hash, the client writes.

Each file is one Dask task, :func:`hash_on_worker`, which runs it exactly as a local batch does: in a
host process started by the Dask worker (a fresh interpreter, see :mod:`vidprint.batch.local`) under
the same time and memory limits, so a file that hangs, crashes or exhausts memory takes down that
host (replaced at the next task), never the Dask worker. The task returns an
:class:`~vidprint.batch.worker.Outcome`: hashes and counts, never pixels.

Workers read the files by path (they need the same paths, e.g. a shared mount), or the client ships
each file's bytes with its task (``ship_bytes=True``: no shared storage, more network traffic through
the scheduler; best for files of a few hundred MB at most).

What a worker machine needs: ``pip install vidprint`` (which brings ``dask[distributed]``), the same
vidprint version as the client, and read access to the files unless bytes are shipped.
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Any, Hashable

from vidprint.batch.worker import Outcome, Task, failure
from vidprint.errors import InvalidArgumentError

# Per Dask worker process: idle hosts, reused across tasks (one per worker thread at most).
_IDLE: "queue.LifoQueue[Any]" = queue.LifoQueue()
_LOCK = threading.Lock()


def hash_on_worker(task: Task) -> Outcome:
    """The Dask task: hash ``task`` in an isolated child of a host process of this worker."""
    from vidprint.batch.local import Host

    try:
        host = _IDLE.get_nowait()
    except queue.Empty:
        with _LOCK:  # spawning is not thread-safe enough to do from several worker threads at once
            host = Host(pdeathsig=False)  # started from a Dask thread: the host watches its parent instead
    try:
        outcome = host.run(task)
    except BaseException:
        host.close()
        raise
    if host.alive:
        _IDLE.put(host)
    else:
        host.close()
    return outcome


class DaskPool:
    """Tasks on an existing Dask cluster; the interface of :class:`vidprint.batch.local.LocalPool`."""

    def __init__(self, address: str, ship_bytes: bool = False, timeout: float = 30.0):
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover -- a dependency of vidprint
            raise InvalidArgumentError("--scheduler", f"dask.distributed is not installed ({exc})") from None
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise InvalidArgumentError("--scheduler", f"cannot reach the Dask scheduler at {address}: {exc}") from None
        self.ship_bytes = ship_bytes
        self._futures: dict[Any, Hashable] = {}
        self._tasks: dict[Any, Task] = {}
        self._done: "queue.Queue[Any]" = queue.Queue()  # futures finished (put by the client's thread)
        self._capacity, self._capacity_at = 2, -1e9

    @property
    def capacity(self) -> int:
        """Tasks in flight: two per worker thread, so no worker waits for the next one (the count of
        threads is asked of the scheduler every few seconds: workers may join or leave)."""
        now = time.monotonic()
        if now - self._capacity_at > 5.0:
            self._capacity = max(2, 2 * sum(self.client.nthreads().values()))
            self._capacity_at = now
        return self._capacity

    @property
    def in_flight(self) -> int:
        return len(self._futures)

    def submit(self, tag: Hashable, task: Task) -> None:
        if self.ship_bytes and task.data is None:
            with open(task.path, "rb") as f:
                task = Task(task.path, task.content_id, f.read(), task.options, task.limits, task.max_bytes)
        # pure=False: the same file submitted again (a retry) is a new task, not a cached result.
        fut = self.client.submit(hash_on_worker, task, pure=False, retries=0)
        self._futures[fut] = tag
        self._tasks[fut] = task
        fut.add_done_callback(self._done.put)

    def results(self, timeout: float | None = None) -> list[tuple[Hashable, Outcome]]:
        """Outcomes of finished tasks; waits up to ``timeout`` seconds for at least one."""
        if not self._futures:
            return []
        try:
            done = [self._done.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                done.append(self._done.get_nowait())
            except queue.Empty:
                break
        out = []
        for fut in done:
            if fut not in self._futures:
                continue
            tag, task = self._futures.pop(fut), self._tasks.pop(fut)
            try:
                outcome = fut.result()
            except Exception as exc:  # noqa: BLE001 -- a worker lost, a task that could not run
                outcome = failure(task.path, task.content_id, "crash", "worker lost",
                                  f"the Dask task failed: {type(exc).__name__}: {exc}")
            out.append((tag, outcome))
        return out

    def close(self) -> None:
        for fut in list(self._futures):
            fut.cancel()
        self._futures.clear()
        self._tasks.clear()
        self.client.close()

    def __enter__(self) -> "DaskPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
