"""Archive throughput of ``vidprint batch``: 1 vs 2 local workers, decode-only, and a 2-worker Dask cluster.

    python bench/batch.py [--rounds 3] [--skip-dask] [VIDEO ...]

Default videos: the reference videos (../shared/reference-data/threatexchange/videos) and the corpus
(../shared/corpus/videos), 66 files; ``--rounds 3`` hashes them three times (198 files), each round
into a fresh index (the batch skips content it has already indexed, so a repeated file must go to a
new index to be hashed again). Everything is measured in this one run, on this machine:

* decode-only: every frame of every file decoded with PyAV, one decoder thread, no conversion, no
  hashing; in 1 process, and in 2 processes (one file each at a time): the baselines;
* decode stage: the same files through vidprint's decode stage (:func:`vidprint.decode.read_frames`,
  one decoder thread) reading the frames the default fingerprint reads, in the form its hashers
  read them (the 15 fps TMK frames scaled bit-exactly to 64x64 luma, the vPDQ frame of each second
  as native 4:2:0 planes), and no hashing: what decoding costs in vidprint;
* batch, default fingerprint (compact + reference TMK, vPDQ at 1 hash per second), with 1 and with
  2 local workers (``--workers``), each worker one thread (one decoder thread, hashing in between,
  as ``vidprint batch`` runs when it has a worker per CPU), index commits and SHA-256 content ids
  included; each pool is started once and kept warm across rounds (its start-up time is printed
  separately). For information also 1 worker with one thread per CPU (what ``--workers 1`` does);
* the same batch through a Dask cluster started here (``dask scheduler`` + two ``dask worker``
  processes, one thread each), and its overhead relative to the 2-worker local pool.

Scaling (2 workers vs 1) is measured at a fixed size of worker (one thread each): that is what adding
a worker adds. Batch vs decode-only compares runs with the same number of threads.

Printed: seconds (median over rounds), files/s and frames/s, and the ratios: 2 workers vs 1, batch vs
decode-only for the same frames (same parallelism), Dask vs local.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import av

from _common import REFERENCE_VIDEOS, ROOT, use_repo_package

use_repo_package()
from vidprint.batch import BatchConfig, HashOptions, run_batch  # noqa: E402
from vidprint.batch.distributed import DaskPool  # noqa: E402
from vidprint.batch.local import LocalPool  # noqa: E402
from vidprint.decode import DecodeStats, TMKSource, VPDQSource, read_frames  # noqa: E402
from vidprint.errors import DecodeError  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "videos"


def decode_file(path: str) -> int:
    """Decode every frame on one thread (skipping packets the decoder rejects, as vidprint does);
    the frame count."""
    n = 0
    with av.open(path) as c:
        s = c.streams.video[0]
        s.codec_context.thread_count = 1
        for packet in c.demux(s):
            try:
                n += len(s.codec_context.decode(packet)) if packet.size or packet.dts is None else 0
            except av.error.FFmpegError:
                continue
    return n


def decode_stage_file(path: str) -> int:
    """vidprint's decode stage for the default fingerprint's frames, no hashing; the decoded frame
    count (as :attr:`vidprint.Fingerprint.decoded_frames`). A file it rejects counts 0 frames."""
    sources = {"tmk": TMKSource(), "vpdq": VPDQSource(every_seconds=1.0)}
    stats = DecodeStats()
    try:
        for batch in read_frames(path, sources, stats=stats, threads=1):
            if batch.source == "tmk":
                batch.luma  # the 64x64 conversion the TMK hashers read
            elif batch.planes420() is None:  # frames the vPDQ hasher cannot read as planes
                batch.luma
    except DecodeError:
        return 0
    return max(stats.decoded.values(), default=0)


def decode_all(files: list[str], processes: int, fn=decode_file) -> tuple[float, int]:
    t0 = time.perf_counter()
    if processes == 1:
        frames = sum(fn(f) for f in files)
    else:
        with ProcessPoolExecutor(processes) as pool:
            frames = sum(pool.map(fn, files))
    return time.perf_counter() - t0, frames


def batch_round(files: list[str], workdir: Path, tag: str, pool, **config) -> tuple[float, int, int]:
    index = workdir / f"index-{tag}"
    t0 = time.perf_counter()
    c = run_batch(files, str(index), BatchConfig(**config), pool=pool)
    seconds = time.perf_counter() - t0
    shutil.rmtree(index)
    os.unlink(str(index) + ".log.jsonl")
    return seconds, c.frames, c.done


def start_cluster(workers: int = 2):
    dask = str(Path(sys.executable).with_name("dask"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    for _ in range(workers):
        procs.append(subprocess.Popen(
            [dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--memory-limit", "0", "--host", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
    from distributed import Client

    end = time.monotonic() + 120
    while True:
        try:
            with Client(address, timeout=5, set_as_default=False) as client:
                client.wait_for_workers(workers, timeout=120)
            break
        except (OSError, TimeoutError):
            if time.monotonic() > end:
                raise
            time.sleep(0.5)
    return address, procs


def stop_cluster(procs) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--rounds", type=int, default=3, help="hash the file set this many times (default 3)")
    ap.add_argument("--skip-dask", action="store_true")
    args = ap.parse_args()
    files = [str(v) for v in args.videos] or [str(p) for p in sorted(REFERENCE_VIDEOS.glob("*.mp4"))
                                              + sorted(p for p in CORPUS.glob("*") if p.is_file())]
    if not files:
        sys.exit("no videos given and none found in ../shared")
    cpus = os.cpu_count() or 1
    print(f"{len(files)} files x {args.rounds} rounds = {len(files) * args.rounds} files; {cpus} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}")

    results: dict[str, tuple[float, int, int]] = {}  # name -> (median seconds per round, frames, files)

    def record(name: str, rounds: list[tuple[float, int, int]]) -> None:
        secs = statistics.median(r[0] for r in rounds)
        results[name] = (secs, rounds[0][1], rounds[0][2])
        print(f"  {name:<34} {secs:8.2f} s/round  {rounds[0][2] / secs:6.2f} files/s  "
              f"{rounds[0][1] / secs:8.0f} frames/s  (rounds: {', '.join(f'{r[0]:.1f}' for r in rounds)})",
              flush=True)

    with tempfile.TemporaryDirectory(prefix="vidprint-bench-batch-") as tmp:
        work = Path(tmp)
        default = dict(every_seconds=1.0)  # the batch default: compact + reference TMK, vPDQ 1/s
        for _ in range(2):  # warm the page cache and the Numba cache
            decode_all(files[:3], 1)

        for name, fn in (("decode-only, 1 process", lambda: (*decode_all(files, 1), len(files))),
                         ("decode-only, 2 processes", lambda: (*decode_all(files, 2), len(files))),
                         ("decode stage, 1 process", lambda: (*decode_all(files, 1, decode_stage_file), len(files))),
                         ("decode stage, 2 processes", lambda: (*decode_all(files, 2, decode_stage_file), len(files)))):
            record(name, [fn() for _ in range(args.rounds)])

        # One pool per configuration, kept warm across rounds (as Dask's workers are): the rounds
        # measure steady-state archive throughput; the pool's start-up is printed on its own.
        for workers, threads in ((1, 1), (2, 1), (1, cpus)):
            name = f"batch, {workers} worker{'s' if workers > 1 else ''} x {threads} thread{'s' if threads > 1 else ''}"
            if name in results:
                continue
            t0 = time.perf_counter()
            with LocalPool(workers) as pool:
                pool.wait_ready()
                print(f"  (start-up of {workers} local worker(s): {time.perf_counter() - t0:.1f} s)", flush=True)
                opts = HashOptions(**default, threads=threads)
                record(name, [batch_round(files, work, f"w{workers}", pool, workers=workers, options=opts)
                              for _ in range(args.rounds)])

        if not args.skip_dask:
            address, procs = start_cluster(2)
            try:
                with DaskPool(address) as pool:
                    t0 = time.perf_counter()
                    run_batch(files[:2], str(work / "warm-dask"), BatchConfig(scheduler=address), pool=pool)
                    print(f"  (start-up of the Dask workers' hosts: {time.perf_counter() - t0:.1f} s)", flush=True)
                    opts = HashOptions(**default, threads=1)
                    record("batch, Dask cluster (2 workers)",
                           [batch_round(files, work, "dask", pool, scheduler=address, options=opts)
                            for _ in range(args.rounds)])
            finally:
                stop_cluster(procs)

    d1, d2 = results["decode-only, 1 process"][0], results["decode-only, 2 processes"][0]
    b1, b2 = results["batch, 1 worker x 1 thread"][0], results["batch, 2 workers x 1 thread"][0]
    print("ratios (medians of this run):")
    print(f"  2 workers vs 1 worker throughput:            {b1 / b2:5.2f}x   (target >= 1.7x)")
    print(f"  batch 1 worker / decode-only 1 process:      {b1 / d1:5.2f}x   (target <= 1.2x)")
    print(f"  batch 2 workers / decode-only 2 processes:   {b2 / d2:5.2f}x   (target <= 1.2x)")
    s1, s2 = results["decode stage, 1 process"][0], results["decode stage, 2 processes"][0]
    print(f"  batch 1 worker / decode stage 1 process:     {b1 / s1:5.2f}x   (target <= 1.2x)")
    print(f"  batch 2 workers / decode stage 2 processes:  {b2 / s2:5.2f}x   (target <= 1.2x)")
    print(f"  decode stage / decode-only, 1 process:       {s1 / d1:5.2f}x   (frame sampling + bit-exact conversion)")
    fb, fd = results["batch, 1 worker x 1 thread"][1], results["decode-only, 1 process"][1]
    print(f"  frames: batch {fb}, decode-only {fd} (the batch counts frames of the files it hashed)")
    if "batch, Dask cluster (2 workers)" in results:
        dk = results["batch, Dask cluster (2 workers)"][0]
        print(f"  Dask cluster / local 2 workers:              {dk / b2:5.2f}x   (overhead {100 * (dk / b2 - 1):+.0f}%)")


if __name__ == "__main__":
    main()
