"""Metrics against hand-computed cases (REFERENCES.md conventions)."""

import numpy as np
import pandas as pd
import pytest

from segtrain import betti_error, betti_numbers, binary_scores, evaluate_pair, summarize


def test_ring_has_one_hole():
    ring = np.zeros((9, 9), bool)
    ring[2:7, 2:7] = True
    ring[4, 4] = False
    assert betti_numbers(ring) == (1, 1)


def test_squares_touching_at_a_corner():
    m = np.zeros((8, 8), bool)
    m[1:4, 1:4] = True
    m[4:7, 4:7] = True
    assert betti_numbers(m, connectivity=4) == (2, 0)
    assert betti_numbers(m, connectivity=8) == (1, 0)


def test_diamond_ring_depends_on_connectivity():
    # Pixels touching only at corners around the centre: with 8-connected foreground (4-connected
    # background) one ring with one hole; with 4-connected foreground eight dots, no hole.
    m = np.zeros((7, 7), bool)
    for y, x in [(1, 3), (2, 2), (2, 4), (3, 1), (3, 5), (4, 2), (4, 4), (5, 3)]:
        m[y, x] = True
    assert betti_numbers(m, connectivity=8) == (1, 1)
    assert betti_numbers(m, connectivity=4) == (8, 0)


def test_perfect_prediction():
    rng = np.random.default_rng(0)
    gt = rng.random((32, 32)) > 0.6
    r = evaluate_pair(gt.astype(np.float32), gt)
    assert r["dice"] == 1.0 and r["iou"] == 1.0 and r["betti_error"] == 0
    assert r["f1_50"] == 1.0 and r["pq_50"] == 1.0 and r["mean_accuracy"] == 1.0


def test_empty_vs_empty_is_perfect_and_empty_vs_object_is_zero():
    e = np.zeros((10, 10), np.uint8)
    r = evaluate_pair(e, e)
    assert r["dice"] == r["iou"] == r["precision"] == r["recall"] == 1.0
    assert r["betti_error"] == 0 and r["f1_50"] == 1.0
    o = e.copy()
    o[2:5, 2:5] = 1
    r2 = evaluate_pair(e, o)
    assert r2["dice"] == 0 and r2["iou"] == 0 and r2["precision"] == 0 and r2["recall"] == 0
    assert r2["betti0_error"] == 1 and r2["f1_50"] == 0


def test_hand_computed_scores():
    gt = np.zeros((4, 4), bool)
    gt[0, :] = True  # 4 pixels
    pred = np.zeros((4, 4), bool)
    pred[0, :2] = True
    pred[1, 0] = True  # tp 2, fp 1, fn 2
    s = binary_scores(pred, gt)
    assert (s["tp"], s["fp"], s["fn"], s["tn"]) == (2, 1, 2, 11)
    assert s["dice"] == pytest.approx(4 / 7)
    assert s["iou"] == pytest.approx(2 / 5)
    assert s["iou_mean_fg_bg"] == pytest.approx((2 / 5 + 11 / 14) / 2)
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(0.5)


def test_probability_threshold_and_betti_error_sum():
    gt = np.zeros((10, 10), bool)
    gt[2:8, 2:8] = True
    gt[4, 4] = False  # b1 = 1
    prob = gt.astype(np.float32) * 0.9
    prob[4, 4] = 0.9  # hole filled
    prob[0, 9] = 0.6  # an extra component
    e = betti_error(prob, gt)
    assert e == {"betti0_error": 1, "betti1_error": 1, "betti_error": 2}


def test_summary_mean_std_and_pooled_differ():
    a = np.zeros((10, 10), bool)
    a[:5] = True
    b = np.zeros((10, 10), bool)
    b[0, 0] = True
    rows = [evaluate_pair(a, a), evaluate_pair(np.zeros_like(b), b)]
    s = summarize(pd.DataFrame(rows))
    assert s["iou_mean"] == pytest.approx(0.5)
    assert s["iou_std"] == pytest.approx(np.std([1, 0], ddof=1))
    assert s["iou_pooled"] == pytest.approx(50 / 51)
    assert s["n_images"] == 2
