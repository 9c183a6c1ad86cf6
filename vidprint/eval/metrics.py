"""Detection metrics over pair scores: decision "match" means ``score >= threshold``.

All functions take the scores of *positive* pairs (same content) and of *unrelated* pairs (different
groups) as 1-d float arrays. Pairs that a method never scores (a two-level method whose level 1
rejected the pair) carry ``-inf``: no threshold accepts them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _arr(x) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    if np.isnan(a).any():
        raise ValueError("scores must not be NaN (use -inf for pairs a method rejects without scoring)")
    return a


def candidate_thresholds(pos, neg) -> np.ndarray:
    """Every threshold at which a decision changes: the distinct finite scores, ascending, plus +inf
    (nothing accepted)."""
    s = np.concatenate([_arr(pos), _arr(neg)])
    s = np.unique(s[np.isfinite(s)])
    return np.append(s, np.inf)


@dataclass(frozen=True)
class Curve:
    """ROC/DET points, one per candidate threshold (ascending threshold = descending rates).

    ``tpr`` (recall) and ``fpr`` are fractions; ``fnr = 1 - tpr``; ``precision`` is NaN where nothing
    is accepted. ``n_pos`` / ``n_neg``: pairs behind the rates.
    """

    thresholds: np.ndarray
    tpr: np.ndarray
    fpr: np.ndarray
    precision: np.ndarray
    n_pos: int
    n_neg: int

    @property
    def fnr(self) -> np.ndarray:
        return 1.0 - self.tpr


def roc(pos, neg) -> Curve:
    """True- and false-positive rates at every candidate threshold (``score >= t``)."""
    p, n = np.sort(_arr(pos)), np.sort(_arr(neg))
    t = candidate_thresholds(p, n)
    tp = p.size - np.searchsorted(p, t, side="left")
    fp = n.size - np.searchsorted(n, t, side="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), np.nan)
        tpr = tp / p.size if p.size else np.full(t.shape, np.nan)
        fpr = fp / n.size if n.size else np.full(t.shape, np.nan)
    return Curve(t, np.asarray(tpr, float), np.asarray(fpr, float), prec, int(p.size), int(n.size))


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold and what it gives: recall, false-positive rate (with the counts behind them) and
    precision (NaN when nothing is accepted)."""

    threshold: float
    recall: float
    fpr: float
    precision: float
    true_positives: int
    false_positives: int
    n_pos: int
    n_neg: int


def at_threshold(pos, neg, threshold: float) -> OperatingPoint:
    """Recall, false-positive rate and precision when ``score >= threshold`` is a match."""
    p, n = _arr(pos), _arr(neg)
    tp, fp = int(np.sum(p >= threshold)), int(np.sum(n >= threshold))
    return OperatingPoint(
        float(threshold),
        tp / p.size if p.size else float("nan"),
        fp / n.size if n.size else float("nan"),
        tp / (tp + fp) if tp + fp else float("nan"),
        tp, fp, int(p.size), int(n.size),
    )


def threshold_for_fpr(neg, target_fpr: float) -> float:
    """The lowest threshold whose false-positive rate on ``neg`` is ``<= target_fpr``.

    With ``n`` unrelated pairs the rate moves in steps of ``1/n``: a target below ``1/n`` gives the
    threshold just above the highest unrelated score (no false positive on this data, which does not
    mean none in general). Returns +inf when the highest unrelated score is +inf.
    """
    if not 0 <= target_fpr <= 1:
        raise ValueError(f"target_fpr must be in [0, 1], got {target_fpr}")
    n = np.sort(_arr(neg))[::-1]  # descending
    allowed = int(np.floor(target_fpr * n.size + 1e-9))  # false positives allowed
    if n.size == 0 or allowed >= n.size:
        return -np.inf
    # accept strictly fewer than allowed+1: the threshold must sit above the (allowed+1)-th highest
    t = n[allowed]
    return float(np.nextafter(t, np.inf)) if np.isfinite(t) else (np.inf if t > 0 else -np.inf)


def recall_at_fpr(pos, neg, target_fpr: float) -> OperatingPoint:
    """The operating point of :func:`threshold_for_fpr` (``n_neg`` says how many pairs it rests on)."""
    return at_threshold(pos, neg, threshold_for_fpr(neg, target_fpr))


def recall_at_precision(pos, neg, min_precision: float = 0.999) -> OperatingPoint:
    """The highest recall among thresholds whose precision is ``>= min_precision`` (ties: the lowest
    such threshold). If no threshold reaches it, the point at +inf (recall 0, nothing accepted)."""
    c = roc(pos, neg)
    ok = np.nan_to_num(c.precision, nan=-1.0) >= min_precision
    if not ok.any():
        return at_threshold(pos, neg, np.inf)
    i = int(np.flatnonzero(ok)[np.argmax(c.tpr[ok])])
    return at_threshold(pos, neg, float(c.thresholds[i]))


def location_errors(true_start, true_end, found_start, found_end) -> np.ndarray:
    """``float64[n, 2]``: absolute error (seconds) of the located start and end of each clip; NaN
    rows where nothing was found (found start/end NaN)."""
    ts, te = _arr(true_start), _arr(true_end)
    fs = np.asarray(found_start, dtype=np.float64).reshape(-1)
    fe = np.asarray(found_end, dtype=np.float64).reshape(-1)
    return np.stack([np.abs(fs - ts), np.abs(fe - te)], axis=1)


def located_within(errors: np.ndarray, tolerance_s: float = 1.0) -> float:
    """Fraction of clips (rows of :func:`location_errors`, NaN = not found counts as a miss) whose
    start and end are both within ``tolerance_s``."""
    e = np.asarray(errors, dtype=np.float64)
    if e.shape[0] == 0:
        return float("nan")
    ok = np.all(np.nan_to_num(e, nan=np.inf) <= tolerance_s, axis=1)
    return float(ok.mean())
