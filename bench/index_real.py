"""Whole-video index queries on real content: how many stored videos pass the level-1 prefilter, and
what confirming them (level 2) costs next to the prefilter scan itself.

    OPENBLAS_NUM_THREADS=1 python bench/index_real.py [--replicas 20] [--cache DIR]

``bench/index.py`` times the prefilter on random level-1 codes, where almost nothing passes. Real
videos are not random: short clips and clips of similar scenes have similar mean frames, so a share
of *unrelated* stored videos passes level 1 and must be confirmed. This script measures that share
and the cost per candidate.

Stored videos: the compact TMK fingerprint (views and content-area descriptor included; no vPDQ) of
every video in ``../shared/corpus/videos``, each added ``--replicas`` times under distinct ids, so
the index holds ``videos x replicas`` entries with the corpus's own mix of content. Queries: every
corpus video in turn. Candidates of the query's own content group (``corpus/MANIFEST.tsv``) are
counted apart: only the others are unrelated. Prints medians over the queries: prefilter time,
confirmation time, their ratio (the baseline is the prefilter scan, measured in the same run),
unrelated candidates as a share of the index, and the confirmation cost per candidate, with the
per-query confirmation time this projects for 100k and 1M stored videos of the same mix.
Fingerprints are cached in ``--cache`` (``.vpfp``).
"""
from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from pathlib import Path

from _common import ROOT, use_repo_package

use_repo_package()

import vidprint  # noqa: E402
from vidprint.index import Index  # noqa: E402
from vidprint.matching import Thresholds  # noqa: E402
from vidprint.record import Fingerprint  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"


def _fingerprints(cache: Path) -> dict[str, Fingerprint]:
    cache.mkdir(parents=True, exist_ok=True)
    out = {}
    for path in sorted((CORPUS / "videos").iterdir()):
        f = cache / (path.name + ".vpfp")
        if f.exists():
            out[path.name] = Fingerprint.from_bytes(f.read_bytes())
            continue
        try:
            fp = vidprint.fingerprint(str(path), vpdq=False, workers=1)
        except Exception as exc:  # noqa: BLE001 -- a corpus file the decoder refuses is reported, not fatal
            print(f"skipped {path.name}: {exc}")
            continue
        if fp.compact is None:
            continue
        f.write_bytes(fp.to_bytes())
        out[path.name] = fp
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=20)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "vidprint-bench-index-real")
    args = ap.parse_args()
    with open(CORPUS / "MANIFEST.tsv", newline="") as fh:
        group = {r["file"]: r["group"] for r in csv.DictReader(fh, delimiter="\t")}
    fps = _fingerprints(args.cache)
    names = sorted(fps)
    th = Thresholds()
    with tempfile.TemporaryDirectory() as d, Index.create(Path(d) / "ix") as ix:
        for r in range(args.replicas):
            ix.add_many([(fps[n], f"{n}#{r}", {}) for n in names])
        ix.compact()
        n_entries = len(ix)
        pre, conf, share, per = [], [], [], []
        for n in names:
            t0 = time.perf_counter()
            cands = ix.whole_candidates(fps[n], th)
            t1 = time.perf_counter()
            ix.query(fps[n], clip=False, _cands=cands)
            t2 = time.perf_counter()
            # whole_candidates names (segment, row); the row's id says which replica of which video
            ids = [ix._segs[si].reader.ids[row] for si, row, _ in cands]
            unrelated = sum(1 for i in ids if group.get(i.rsplit("#", 1)[0]) != group.get(n))
            pre.append(t1 - t0)
            conf.append(t2 - t1)
            share.append(unrelated / n_entries)
            if cands:
                per.append((t2 - t1) / len(cands))
    med = statistics.median
    ms_per = 1e3 * med(per)
    print(f"{len(names)} corpus videos x {args.replicas} replicas = {n_entries} entries; {len(names)} queries (medians)")
    print(f"  prefilter scan      {1e3 * med(pre):8.2f} ms")
    print(f"  confirmation        {1e3 * med(conf):8.1f} ms   ({med(conf) / med(pre):.0f}x the prefilter)")
    print(f"  unrelated candidates {100 * med(share):6.2f}% of the index (mean {100 * statistics.mean(share):.2f}%)")
    print(f"  per candidate       {ms_per:8.2f} ms")
    for n in (100_000, 1_000_000):
        print(f"  projected confirmation at {n:>9,} entries of this mix: {med(share) * n * ms_per / 1e3:8.1f} s per query")


if __name__ == "__main__":
    main()
