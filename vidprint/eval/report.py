"""The evaluation report: Markdown tables and PNG plots (matplotlib, Agg backend) from :class:`Scores`.

:func:`tables` computes every figure as plain data (used by the notebook and the tests);
:func:`write_report` writes ``report.md`` and ``plots/*.png`` into a directory.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from vidprint.eval import metrics as M
from vidprint.eval.harness import SAME_GROUP, Scores
from vidprint.eval.transforms import TRANSFORMS

MIN_PRECISION = 0.999
LOCATE_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class MethodSummary:
    """Per-method figures on all unrelated pairs."""

    method: str
    default: str
    n_unrelated: int
    fp_default: int
    fpr_default: float
    max_unrelated: float
    thresholds: dict[float, float]  # target FPR -> calibrated threshold
    seconds_per_pair: float


def _labels_in_order(labels: np.ndarray) -> list[str]:
    present = set(labels.tolist())
    order = [SAME_GROUP] + list(TRANSFORMS)
    return [x for x in order if x in present] + sorted(present - set(order) - {""})


def tables(s: Scores, target_fprs: Sequence[float] = (1e-3, 1e-4)) -> dict:
    """All figures of the report as nested dicts.

    Keys: ``summary`` (method -> :class:`MethodSummary`), ``default`` / ``at_precision`` /
    ``at_fpr`` (label -> method -> :class:`metrics.OperatingPoint`; ``at_fpr`` at the first target
    FPR, threshold calibrated on all unrelated pairs), ``clips`` (label -> method -> dict of found,
    located, median errors, n), ``false_positives`` (method -> list of (score, query, compared)),
    ``labels`` (transform labels in report order), ``flip`` (method -> fraction of hflip positives
    matched through the mirrored orientation).
    """
    labels = s.labels()
    order = _labels_in_order(labels[s.positive])
    out = {"summary": {}, "default": {}, "at_precision": {}, "at_fpr": {}, "clips": {},
           "false_positives": {}, "labels": order, "flip": {}}
    for mname in s.methods:
        sel = s.select(mname)
        neg = sel & ~s.positive
        nscore = s.score[neg]
        ths = {t: M.threshold_for_fpr(nscore, t) for t in target_fprs}
        fp = int(s.matched[neg].sum())
        finite = nscore[np.isfinite(nscore)]
        out["summary"][mname] = MethodSummary(
            mname, s.defaults.get(mname, ""), int(neg.sum()), fp, fp / max(1, int(neg.sum())),
            float(finite.max()) if finite.size else -math.inf, ths,
            s.seconds.get(mname, math.nan) / max(1, int(sel.sum())))
        idx = np.flatnonzero(neg & s.matched)
        idx = idx[np.argsort(-s.score[idx], kind="stable")][:15]
        out["false_positives"][mname] = [
            (float(s.score[i]), s.videos[s.query[i]].name, s.videos[s.compared[i]].name,
             s.videos[s.query[i]].group, s.videos[s.compared[i]].group) for i in idx]
        for lab in order:
            p = sel & s.positive & (labels == lab)
            # the unrelated pairs of the same queries: a copy's, or an original's for same-group pairs
            n_lab = sel & ~s.positive & (labels == ("" if lab == SAME_GROUP else lab))
            ps = s.score[p]
            out["default"].setdefault(lab, {})[mname] = M.OperatingPoint(
                math.nan, float(s.matched[p].mean()) if p.any() else math.nan,
                float(s.matched[n_lab].mean()) if n_lab.any() else math.nan, math.nan,
                int(s.matched[p].sum()), int(s.matched[n_lab].sum()), int(p.sum()), int(n_lab.sum()))
            out["at_precision"].setdefault(lab, {})[mname] = M.recall_at_precision(
                ps, s.score[n_lab], MIN_PRECISION)
            out["at_fpr"].setdefault(lab, {})[mname] = M.at_threshold(ps, nscore, ths[target_fprs[0]])
            qv = [s.videos[i] for i in s.query[p]]
            if qv and all(v.source_start_s is not None for v in qv) and not np.isnan(s.start_s[p]).all():
                err = M.location_errors([v.source_start_s for v in qv], [v.source_end_s for v in qv],
                                        np.where(s.matched[p], s.start_s[p], np.nan),
                                        np.where(s.matched[p], s.end_s[p], np.nan))
                ok = ~np.isnan(err).any(axis=1)
                out["clips"].setdefault(lab, {})[mname] = {
                    "n": int(p.sum()), "found": float(s.matched[p].mean()),
                    "located": M.located_within(err, LOCATE_TOLERANCE_S),
                    "median_start_err": float(np.median(err[ok, 0])) if ok.any() else math.nan,
                    "median_end_err": float(np.median(err[ok, 1])) if ok.any() else math.nan,
                    "errors": err}
        hp = sel & s.positive & (labels == "hflip") & s.matched
        if hp.any():
            out["flip"][mname] = float((s.orientation[hp] == 1).mean())
    return out


# ------------------------------------------------------------------------------------------------
# Markdown


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def _thr(x: float) -> str:
    if math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    return f"{x:.3f}"


def _grid(tab: dict, labels: list[str], methods: list[str], cell) -> list[str]:
    lines = ["| transform | n | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
    for lab in labels:
        row = tab[lab]
        n = next(iter(row.values())).n_pos
        lines.append(f"| {lab} | {n} | " + " | ".join(cell(row[m]) for m in methods) + " |")
    return lines


def markdown(s: Scores, t: dict, target_fprs: Sequence[float], plots: dict[str, str], command: str = "") -> str:
    methods = s.methods
    n_src = sum(1 for v in s.videos if not v.transform)
    groups = len({v.group for v in s.videos if not v.transform})
    L = ["# vidprint evaluation", ""]
    if command:
        L += ["Produced by:", "", "```", command, "```", ""]
    L += [f"{n_src} source videos in {groups} groups, {len(s.videos) - n_src} transformed copies "
          f"({len(t['labels'])} labels); pairs: every video against every original. "
          "Positive pairs: a copy against its source, or two originals of one group (`same-group`). "
          "Unrelated pairs: different groups.", ""]
    L += ["## Methods and their false-positive rate at the defaults", "",
          "| method | default decision | unrelated pairs | false positives | FPR | max unrelated score | "
          + " | ".join(f"threshold for FPR {f:g}" for f in target_fprs) + " | ms / pair |",
          "|---|---|---|---|---|---|" + "---|" * len(target_fprs) + "---|"]
    for m in methods:
        ms = t["summary"][m]
        L.append(f"| {m} | {ms.default} | {ms.n_unrelated:,} | {ms.fp_default} | {ms.fpr_default:.2e} | "
                 f"{_thr(ms.max_unrelated)} | " + " | ".join(_thr(ms.thresholds[f]) for f in target_fprs)
                 + f" | {1000 * ms.seconds_per_pair:.2f} |")
    L += ["", "Scores: TMK methods sweep level 2 with level 1 at its default (pairs that level 1 rejects "
          "score -inf); vPDQ rules sweep the percentage the rule thresholds; `vpdq-align` the best "
          "segment's score (0 without a segment); derived policies are decisions only (1 = matched), so "
          "their recall at a target FPR or precision is their recall at the defaults when the defaults meet "
          "the target, else 0. A threshold of +inf means the target FPR is below 1 / (unrelated pairs) or "
          "unrelated pairs score as high as anything.", ""]
    L += ["## Recall at the defaults", ""]
    L += _grid(t["default"], t["labels"], methods, lambda op: _pct(op.recall))
    if "recall_defaults" in plots:
        L += ["", f"![recall at defaults]({plots['recall_defaults']})"]
    L += ["", f"## Recall at precision >= {100 * MIN_PRECISION:g}%", "",
          "Per transform, the precision counts the unrelated pairs of that transform's copies (every copy "
          "against every original of another group).", ""]
    L += _grid(t["at_precision"], t["labels"], methods, lambda op: _pct(op.recall))
    L += ["", f"## Recall at FPR {target_fprs[0]:g} (threshold calibrated on all unrelated pairs of the method)", ""]
    L += _grid(t["at_fpr"], t["labels"], methods, lambda op: _pct(op.recall))
    if t["clips"]:
        L += ["", f"## Clips: found at the defaults and located within {LOCATE_TOLERANCE_S:g} s", "",
              "| transform | method | n | found | start and end within 1 s | median start error (s) | "
              "median end error (s) |", "|---|---|---|---|---|---|---|"]
        for lab, row in t["clips"].items():
            for m, c in row.items():
                L.append(f"| {lab} | {m} | {c['n']} | {_pct(c['found'])} | {_pct(c['located'])} | "
                         f"{c['median_start_err']:.2f} | {c['median_end_err']:.2f} |")
    if t["flip"]:
        L += ["", "## Mirrored copies", "", "Of the `hflip` copies matched, the fraction matched through the "
              "mirrored orientation:", ""]
        L += [f"* {m}: {_pct(f)}" for m, f in t["flip"].items()]
    L += ["", "## False positives at the defaults (highest scores first, up to 15 per method)", ""]
    any_fp = False
    for m in methods:
        fps = t["false_positives"][m]
        if not fps:
            continue
        any_fp = True
        L += [f"**{m}**", "", "| score | query | compared | groups |", "|---|---|---|---|"]
        L += [f"| {sc:.3f} | {q} | {c} | {gq} / {gc} |" for sc, q, c, gq, gc in fps]
        L.append("")
    if not any_fp:
        L.append("None.")
    if plots:
        L += ["", "## Plots", ""]
        L += [f"* `{p}`" for k, p in plots.items()]
    if s.errors:
        L += ["", f"## Failures ({len(s.errors)})", ""] + [f"* {e}" for e in s.errors[:50]]
    return "\n".join(L) + "\n"


# ------------------------------------------------------------------------------------------------
# Plots


def plots(s: Scores, t: dict, out_dir: str | os.PathLike) -> dict[str, str]:
    """Write the PNG plots into ``out_dir/plots``; returns name -> path relative to ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from scipy.stats import norm

    pdir = Path(out_dir) / "plots"
    pdir.mkdir(parents=True, exist_ok=True)
    made: dict[str, str] = {}
    methods, labels = s.methods, t["labels"]
    row_labels = s.labels()

    # recall at defaults: transforms x methods heat map
    grid = np.array([[t["default"][lab][m].recall for m in methods] for lab in labels], dtype=float)
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(methods), 0.9 + 0.32 * len(labels)))
    im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(methods)), methods, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            if not math.isnan(grid[i, j]):
                ax.text(j, i, f"{100 * grid[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if grid[i, j] < 0.6 else "black")
    fig.colorbar(im, ax=ax, label="recall at defaults")
    ax.set_title("Recall at each method's default thresholds")
    fig.tight_layout()
    fig.savefig(pdir / "recall_defaults.png", dpi=110)
    plt.close(fig)
    made["recall_defaults"] = "plots/recall_defaults.png"

    # DET: all positives against all unrelated pairs, per method (normal-deviate axes)
    fig, ax = plt.subplots(figsize=(6.5, 5))
    lo = 1e-4
    clip = lambda x: norm.ppf(np.clip(x, lo, 1 - lo))  # noqa: E731
    for m in methods:
        sel = s.select(m)
        c = M.roc(s.score[sel & s.positive], s.score[sel & ~s.positive])
        keep = c.fpr < 0.5  # the accept-everything end of the curve says nothing
        ax.plot(clip(c.fpr[keep]), clip(c.fnr[keep]), label=m, lw=1.2, marker=".", ms=3)
    ticks = [1e-4, 1e-3, 1e-2, 0.1, 0.5]
    ax.set_xticks(clip(np.array(ticks)), [f"{x:g}" for x in ticks])
    ax.set_yticks(clip(np.array(ticks + [0.9])), [f"{x:g}" for x in ticks + [0.9]])
    ax.set_xlim(clip(lo) - 0.1, clip(0.5))
    ax.set_xlabel(f"false-positive rate (unrelated pairs; {lo:g} or less drawn at {lo:g})")
    ax.set_ylabel("miss rate (all positive pairs)")
    ax.set_title("DET, all transforms pooled")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(pdir / "det.png", dpi=110)
    plt.close(fig)
    made["det"] = "plots/det.png"

    # ROC per transform for each method (log FPR)
    for m in methods:
        sel = s.select(m)
        neg = s.score[sel & ~s.positive]
        fig, ax = plt.subplots(figsize=(6.5, 5))
        for lab in labels:
            p = s.score[sel & s.positive & (row_labels == lab)]
            c = M.roc(p, neg)
            ax.plot(np.maximum(c.fpr, 1e-6), c.tpr, label=lab, lw=1)
        ax.set_xscale("log")
        ax.set_xlabel("false-positive rate (all unrelated pairs)")
        ax.set_ylabel("recall")
        ax.set_title(f"ROC per transform: {m}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, ncol=2)
        fig.tight_layout()
        fn = f"roc_{_fname(m)}.png"
        fig.savefig(pdir / fn, dpi=100)
        plt.close(fig)
        made[f"roc_{m}"] = f"plots/{fn}"

        # score histograms
        pos = s.score[sel & s.positive]
        fig, ax = plt.subplots(figsize=(6.5, 3.5))
        fin_p, fin_n = pos[np.isfinite(pos)], neg[np.isfinite(neg)]
        lo = min([0.0] + [x.min() for x in (fin_p, fin_n) if x.size])
        hi = max([1.0] + [x.max() for x in (fin_p, fin_n) if x.size])
        bins = np.linspace(lo, hi, 60)
        if fin_n.size:
            ax.hist(fin_n, bins=bins, alpha=0.6, label=f"unrelated ({fin_n.size:,} scored, "
                    f"{neg.size - fin_n.size:,} rejected by level 1)", density=True, color="tab:red")
        if fin_p.size:
            ax.hist(fin_p, bins=bins, alpha=0.6, label=f"same content ({fin_p.size:,} scored)",
                    density=True, color="tab:blue")
        ax.set_yscale("log")
        ax.set_xlabel("score")
        ax.set_title(f"Score histogram: {m}")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fn = f"hist_{_fname(m)}.png"
        fig.savefig(pdir / fn, dpi=100)
        plt.close(fig)
        made[f"hist_{m}"] = f"plots/{fn}"

    # clip location errors
    rows = [(lab, m, c["errors"]) for lab, r in t["clips"].items() for m, c in r.items()]
    if rows:
        fig, ax = plt.subplots(figsize=(6.5, 3.5))
        for lab, m, e in rows:
            ok = ~np.isnan(e).any(axis=1)
            if ok.any():
                ax.hist(np.maximum(e[ok].max(axis=1), 1e-3), bins=np.logspace(-3, 2, 40), alpha=0.5,
                        label=f"{lab}, {m}")
        ax.set_xscale("log")
        ax.axvline(LOCATE_TOLERANCE_S, color="k", lw=0.8)
        ax.set_xlabel("max(|start error|, |end error|), seconds")
        ax.set_title("Clip location error (found clips)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(pdir / "clip_errors.png", dpi=100)
        plt.close(fig)
        made["clip_errors"] = "plots/clip_errors.png"
    return made


def _fname(m: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in m)


def write_report(s: Scores, out_dir: str | os.PathLike, *, target_fprs: Sequence[float] = (1e-3, 1e-4),
                 command: str = "", with_plots: bool = True) -> Path:
    """Write ``out_dir/report.md`` (and ``out_dir/plots/*.png``); returns the report's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t = tables(s, target_fprs)
    made = plots(s, t, out) if with_plots else {}
    path = out / "report.md"
    from vidprint.atomic import atomic_write

    atomic_write(path, markdown(s, t, target_fprs, made, command))
    return path
