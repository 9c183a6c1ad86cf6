"""The environment of vidprint's worker processes (batch hosts, evaluation workers): one BLAS
thread each.

A worker process is one unit of parallelism (one file, one chunk of pairs), and vidprint runs about
one per core. The BLAS that NumPy links (the TMK descriptors' last step, compact level 2) starts a
thread per core in every process by default: with a worker per core those threads oversubscribe
the machine, and their idle spinning takes CPU time the other workers need (docs/evaluation.md
gives the measured cost). A value the operator set explicitly is kept.
"""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator, Mapping

#: The variables that size the BLAS / OpenMP thread pools NumPy's BLAS may use.
ONE_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def worker_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) for a worker process: each variable of
    :data:`ONE_THREAD_VARIABLES` that is not set is set to ``"1"``."""
    env = dict(os.environ if base is None else base)
    for name in ONE_THREAD_VARIABLES:
        env.setdefault(name, "1")
    return env


@contextlib.contextmanager
def one_thread_workers() -> Iterator[None]:
    """While the block runs, processes started from this one (a spawn-context pool's workers inherit
    ``os.environ`` when they start) get :func:`worker_environment`; ``os.environ`` is restored after.
    This process's own BLAS, already loaded, is not affected."""
    added = [name for name in ONE_THREAD_VARIABLES if name not in os.environ]
    for name in added:
        os.environ[name] = "1"
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def one_thread_here() -> bool:
    """Give this process one BLAS thread too, if NumPy is not loaded yet (the variables of
    :data:`ONE_THREAD_VARIABLES` not already set are set, and its workers inherit them). For a process
    that coordinates workers (the client of ``vidprint batch`` / ``scan``: index commits and queries),
    whose own numerical work is light and must not take CPU time from the workers. Returns False, and
    changes nothing, when NumPy is already loaded (too late to size its thread pool)."""
    if "numpy" in sys.modules:
        return False
    for name in ONE_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    return True
