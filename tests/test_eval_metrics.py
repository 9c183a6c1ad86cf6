"""vidprint.eval.metrics on small hand-built score sets whose answers are worked out by hand."""
import math

import numpy as np
import pytest

from vidprint.eval import metrics as M

POS = [0.9, 0.8, 0.7, 0.4]
NEG = [0.75, 0.5, 0.3, 0.2, 0.1, -np.inf, -np.inf, -np.inf, -np.inf, -np.inf]


def test_roc_points():
    c = M.roc(POS, NEG)
    # thresholds: the distinct finite scores ascending, then +inf
    assert c.thresholds.tolist() == [0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.75, 0.8, 0.9, math.inf]
    assert c.tpr.tolist() == [1, 1, 1, 1, 0.75, 0.75, 0.5, 0.5, 0.25, 0]
    assert c.fpr.tolist() == [0.5, 0.4, 0.3, 0.2, 0.2, 0.1, 0.1, 0, 0, 0]
    assert c.n_pos == 4 and c.n_neg == 10
    assert np.isnan(c.precision[-1]) and c.precision[0] == pytest.approx(4 / 9)


def test_at_threshold_counts():
    op = M.at_threshold(POS, NEG, 0.7)
    assert (op.true_positives, op.false_positives, op.recall, op.fpr) == (3, 1, 0.75, 0.1)
    assert op.precision == 0.75


def test_threshold_for_fpr_steps():
    # 10 unrelated pairs: 10% allows one false positive -> threshold just above the 2nd highest (0.5)
    t = M.threshold_for_fpr(NEG, 0.1)
    assert 0.5 < t < 0.5 + 1e-12
    assert M.at_threshold(POS, NEG, t).false_positives == 1
    # below 1/n: no false positive allowed -> just above the maximum
    t0 = M.threshold_for_fpr(NEG, 0.001)
    assert 0.75 < t0 < 0.75 + 1e-12
    op = M.recall_at_fpr(POS, NEG, 0.001)
    assert op.recall == 0.5 and op.false_positives == 0 and op.n_neg == 10
    # 100% allows everything
    assert M.threshold_for_fpr(NEG, 1.0) == -math.inf
    with pytest.raises(ValueError):
        M.threshold_for_fpr(NEG, 1.5)


def test_recall_at_precision():
    # precision 1 is reached at t = 0.8 (recall 0.5); at 0.75 it drops to 2/3
    op = M.recall_at_precision(POS, NEG, 0.999)
    assert op.threshold == 0.8 and op.recall == 0.5 and op.precision == 1.0
    # precision >= 0.75 first allows t = 0.7 (3 TP, 1 FP)
    op = M.recall_at_precision(POS, NEG, 0.75)
    assert op.threshold == 0.7 and op.recall == 0.75
    # unreachable -> nothing accepted
    op = M.recall_at_precision([0.1], [0.9], 0.999)
    assert op.recall == 0.0 and op.threshold == math.inf


def test_nan_rejected():
    with pytest.raises(ValueError):
        M.roc([np.nan], [0.1])


def test_location_errors():
    e = M.location_errors([10, 20, 5], [15, 25, 9], [10.4, np.nan, 3.0], [15.2, np.nan, 9.0])
    assert np.allclose(e[0], [0.4, 0.2]) and np.isnan(e[1]).all() and np.allclose(e[2], [2, 0])
    assert M.located_within(e, 1.0) == pytest.approx(1 / 3)
    assert M.located_within(e, 2.0) == pytest.approx(2 / 3)


# ------------------------------------------------------------------------------------------------
# The short-evidence rule (vidprint.eval.methods.ShortEvidence) and its vectorised form
# (vidprint.eval.lookalikes.decide), on hand-built evidence.


def _segment(span_s: float, mean_distance: float):
    from vidprint.vpdq import Segment

    return Segment(query_start_s=1.0, query_end_s=1.0 + span_s, compared_start_s=0.0, compared_end_s=span_s,
                   matched_frames=10, score=1.0, speed=1.0, offset_s=-1.0, mean_distance=mean_distance)


def test_short_evidence_rule():
    from vidprint.eval.methods import ShortEvidence

    r = ShortEvidence(min_seconds=5.0, level2=0.9, max_mean_distance=16.0)
    assert r.whole_ok(0.61, 5.0) and r.whole_ok(0.61, math.inf)  # long enough: the usual thresholds
    assert not r.whole_ok(0.89, 4.99) and r.whole_ok(0.9, 2.0)  # short: level 2 >= 0.9
    assert r.segment_ok(_segment(5.0, 30.0))  # a 5 s aligned stretch counts at any distance <= 31
    assert not r.segment_ok(_segment(2.0, 16.5)) and r.segment_ok(_segment(2.0, 16.0))


def test_lookalike_decide_by_hand():
    from vidprint.eval.lookalikes import Evidence, decide
    from vidprint.eval.methods import ShortEvidence

    ev = Evidence(rows=np.arange(5), whole_level2=np.array([0.95, 0.7, 0.7, -np.inf, -np.inf]),
                  duration_s=np.array([2.0, 2.0, 8.0, 2.0, 2.0]),
                  seg_pair=np.array([1, 3, 4, 4]), seg_span_s=np.array([1.0, 1.0, 1.0, 6.0]),
                  seg_mean_distance=np.array([20.0, 10.0, 25.0, 25.0]))
    # 0: short, L2 0.95 -> kept; 1: short, L2 0.7, its only segment 20 bits -> dropped; 2: 8 s -> kept;
    # 3: a near-identical 1 s segment -> kept; 4: one 6 s segment -> kept
    assert decide(ev, ShortEvidence(5.0, 0.9, 16.0)).tolist() == [True, False, True, True, True]
    # a rule that never bites keeps every match
    assert decide(ev, ShortEvidence(0.0, 2.0, 0.0)).all()
