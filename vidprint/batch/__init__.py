"""Batch work over archives: hash folders of videos into an index, scan them against one.

>>> from vidprint.batch import run_batch, run_scan, BatchConfig
>>> run_batch(["/archive"], "known.vpix", BatchConfig(workers=2))           # doctest: +SKIP
>>> run_scan(["/uploads"], "known.vpix", "report.jsonl")                   # doctest: +SKIP

Modules, one concern each: :mod:`~vidprint.batch.discover` (find videos by content),
:mod:`~vidprint.batch.worker` (one file in an isolated child under time and memory limits),
:mod:`~vidprint.batch.local` (a pool of hashing processes), :mod:`~vidprint.batch.distributed` (the
same on a Dask cluster), :mod:`~vidprint.batch.run` (orchestration, resume, logs, reports),
:mod:`~vidprint.batch.progress` (bar, log lines, JSON), :mod:`~vidprint.batch.stdin` (one video from
a pipe). See ``docs/batch.md``.
"""
from vidprint.batch.discover import Candidate, Ignored, Problem, discover, sniff
from vidprint.batch.run import BatchConfig, Counters, run_batch, run_scan, scan_exit_status
from vidprint.batch.worker import HashOptions, Limits, Outcome, Task, run_isolated

__all__ = ["BatchConfig", "Candidate", "Counters", "HashOptions", "Ignored", "Limits", "Outcome", "Problem", "Task",
           "discover", "run_batch", "run_isolated", "run_scan", "scan_exit_status", "sniff"]
