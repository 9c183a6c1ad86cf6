"""Views through the product path: ``vidprint.fingerprint`` + ``vidprint.compare`` on the cached
evaluation copies (crop, picture-in-picture), with views and without (``Thresholds(views=False)``), the
short-evidence rule off and then applied on top.

    OPENBLAS_NUM_THREADS=1 python bench/views_in_product.py --eval EVAL_OUT --out CACHE_DIR

Originals: every video of ``../shared/corpus/videos`` and ``reference-data/threatexchange/videos``
(groups from ``corpus/MANIFEST.tsv``; the reference ``chair-*`` videos one group; else the file name). Copies: ``<original>__<transform>.mp4`` of
the evaluation cache for the transforms below. Prints recall (``compare(copy, original)``) and the
false positives over every ordered pair of a copy or an original with an original of another group,
split into the ASL look-alike set and the rest. Fingerprints are cached in ``--out`` (pickles).
"""
from __future__ import annotations

import argparse
import csv
import pickle
import time
from pathlib import Path

import vidprint
from vidprint.eval.methods import SHORT_EVIDENCE  # the short-evidence rule's values, reported apart
from vidprint.matching import Thresholds, whole_evidence

TRANSFORMS = ("crop_10", "crop_20", "pip_50", "letterbox_12", "pillarbox_12", "hflip", "logo_20")
LOOKALIKE = "intel-asl-"
VIDEO = {".mp4", ".webm", ".mkv", ".mov", ".gif", ".ogv", ".avi"}


def _fp(path: Path, cache: Path):
    p = cache / (path.name + ".fp.pkl")
    if p.exists():
        return pickle.loads(p.read_bytes())
    fp = vidprint.fingerprint(str(path), vpdq=False, workers=1)
    p.write_bytes(pickle.dumps(fp))
    return fp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", required=True)
    ap.add_argument("--out", default="views-in-product-cache")
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[1] / ".." / "shared"))
    a = ap.parse_args()
    shared, cache = Path(a.shared), Path(a.out) / "fingerprints"
    cache.mkdir(parents=True, exist_ok=True)
    with open(shared / "corpus" / "MANIFEST.tsv", newline="") as f:
        groups = {Path(r["file"]).stem: r["group"] for r in csv.DictReader(f, delimiter="\t")}
    originals = {p.stem: p for d in (shared / "corpus" / "videos", shared / "reference-data" / "threatexchange" / "videos")
                 for p in sorted(d.iterdir()) if p.suffix.lower() in VIDEO}
    videos = Path(a.eval) / "work" / "videos"
    t0 = time.time()
    orig = {s: _fp(p, cache) for s, p in originals.items()}
    copies = {(s, t): _fp(videos / f"{s}__{t}.mp4", cache) for t in TRANSFORMS for s in originals
              if (videos / f"{s}__{t}.mp4").exists()}
    print(f"{len(orig)} originals, {len(copies)} copies fingerprinted ({time.time() - t0:.0f} s wall, cached after)")
    # the reference chair videos are one footage (as in the evaluation); others not in the manifest: own group
    group = {s: groups.get(s, "chair" if s.startswith("chair-") else s) for s in originals}
    # without the short-evidence rule (now a default), which is reported apart as "+guard"
    modes = {"views": Thresholds(short_evidence_s=0.0), "no views": Thresholds(views=False, short_evidence_s=0.0)}
    print(f"\n{'transform':14s} {'n':>3s} " + " ".join(f"{m:>11s}" for m in (*modes, "views+guard"))
          + "  matched through")
    for t in TRANSFORMS:
        pairs = [(c, orig[s]) for (s, tt), c in copies.items() if tt == t]
        hits = {m: sum(bool(whole_evidence(c, o, th).matched) for c, o in pairs) for m, th in modes.items()}
        evs = [(whole_evidence(c, o), min(_seconds(c), _seconds(o))) for c, o in pairs]
        hits["views+guard"] = sum(e.matched and SHORT_EVIDENCE.whole_ok(e.level2, s) for e, s in evs)
        via: dict[str, int] = {}
        for c, o in pairs:
            ev = whole_evidence(c, o, modes["views"])
            if ev.matched:
                via[ev.view] = via.get(ev.view, 0) + 1
        print(f"{t:14s} {len(pairs):3d} " + " ".join(f"{100 * hits[m] / max(1, len(pairs)):10.0f}%" for m in hits)
              + "  " + ", ".join(f"{k} {v}" for k, v in sorted(via.items())))
    queries = [(s, fp) for s, fp in orig.items()] + [(s, fp) for (s, _), fp in copies.items()]
    fp_count = {m: {"look-alike": 0, "other": 0} for m in modes}
    guarded = {m: 0 for m in modes}  # H3's proposed look-alike guard, for information
    n = {"look-alike": 0, "other": 0}
    worst: dict[str, tuple[float, str]] = {m: (-1.0, "") for m in modes}
    for qs, q in queries:
        for cs, c in orig.items():
            if group[qs] == group[cs]:
                continue
            kind = "look-alike" if group[qs].startswith(LOOKALIKE) and group[cs].startswith(LOOKALIKE) else "other"
            n[kind] += 1
            for m, th in modes.items():
                ev = whole_evidence(q, c, th)
                if ev.matched:
                    fp_count[m][kind] += 1
                    guarded[m] += SHORT_EVIDENCE.whole_ok(ev.level2, min(_seconds(q), _seconds(c)))
                if kind == "other" and ev.level2 == ev.level2 and ev.level2 > worst[m][0]:
                    worst[m] = (ev.level2, f"{qs} vs {cs} ({ev.view})")
    print(f"\nunrelated ordered pairs: {n['look-alike']} inside the ASL look-alike set, {n['other']} outside")
    for m in modes:
        print(f"{m:9s}: false positives {fp_count[m]['look-alike']} look-alike, {fp_count[m]['other']} outside; "
              f"highest level 2 outside {worst[m][0]:.3f} ({worst[m][1]}); "
              f"{guarded[m]} left with the look-alike guard (shorter video < {SHORT_EVIDENCE.min_seconds:g} s "
              f"needs level 2 >= {SHORT_EVIDENCE.level2})")


def _seconds(fp) -> float:
    return float(fp.compact.duration_s)


if __name__ == "__main__":
    main()
