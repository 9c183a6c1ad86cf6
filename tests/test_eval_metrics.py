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
