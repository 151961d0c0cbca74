"""Hungarian instance matching at IoU thresholds."""

import numpy as np
import pytest

from segtrain import match_instances


def test_split_object_counts_one_match():
    gt = np.zeros((10, 10), int)
    gt[2:8, 2:8] = 1
    pred = np.zeros((10, 10), int)
    pred[2:8, 2:6] = 1  # IoU 24/36 with gt
    pred[2:8, 6:8] = 2  # IoU 12/36
    s = match_instances(pred, gt)
    i50 = s.at(0.5)
    assert (s.tp[i50], s.fp[i50], s.fn[i50]) == (1, 1, 0)
    assert s.f1[i50] == pytest.approx(2 / 3)
    assert s.pq[i50] == pytest.approx((24 / 36) / (1 + 0.5))
    i75 = s.at(0.75)
    assert (s.tp[i75], s.fp[i75], s.fn[i75]) == (0, 2, 1)
    assert s.mean_accuracy == pytest.approx(0.5 * 4 / 10)


def test_one_to_one_assignment_and_empty():
    a = np.zeros((6, 6), int)
    a[1:3, 1:3] = 5
    a[3:6, 3:6] = 9
    s = match_instances(a, a)
    assert list(s.tp) == [2] * 10 and s.mean_accuracy == 1.0
    e = np.zeros((6, 6), int)
    s2 = match_instances(e, e)
    assert s2.f1[0] == 1.0 and s2.pq[0] == 1.0
    s3 = match_instances(e, a)
    assert s3.fn[0] == 2 and s3.f1[0] == 0.0
