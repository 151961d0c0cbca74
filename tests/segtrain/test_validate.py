"""Scores during training and the post-processing chosen on validation data."""

import numpy as np
import pytest

from segtrain import choose_postprocess
from segtrain.training._validate import pooled_scores, probability_loss


def test_pooled_scores_and_loss_from_probabilities():
    t = np.zeros((4, 4), np.uint8)
    t[:2] = 1
    p = t.astype(np.float32)
    assert pooled_scores([p], [t]) == {"dice": 1.0, "iou": 1.0}
    half = p.copy()
    half[:, :2] = 0
    assert pooled_scores([half, p], [t, t])["iou"] == pytest.approx(12 / 16)
    assert probability_loss([p], [t], "bce") < 1e-5
    assert probability_loss([1 - p], [t], "dice") == pytest.approx(1 - 1 / 17)
    assert pooled_scores([np.zeros((2, 2))], [np.zeros((2, 2))])["iou"] == 1.0


def test_postprocess_removes_speckles_chosen_on_validation():
    rng = np.random.default_rng(0)
    truths, probs = [], []
    for _ in range(3):
        t = np.zeros((64, 64), np.uint8)
        t[10:40, 10:40] = 1
        p = t.astype(np.float32) * 0.9
        # Speckles: false 2x2 objects outside, 2x2 holes inside.
        for y, x in rng.integers(44, 62, size=(6, 2)):
            p[y : y + 2, x : x + 2] = 0.8
        for y, x in rng.integers(14, 34, size=(4, 2)):
            p[y : y + 2, x : x + 2] = 0.1
        truths.append(t)
        probs.append(p)
    choice = choose_postprocess(probs, truths)
    assert choice.min_size_px > 4 and choice.max_hole_px > 4
    assert choice.min_size_px < 900  # the true object stays
    best = next(r for r in choice.table if (r["min_size_px"], r["max_hole_px"])
                == (choice.min_size_px, choice.max_hole_px))  # fmt: skip
    none = next(r for r in choice.table if r["min_size_px"] == r["max_hole_px"] == 0)
    assert best["betti_error"] == 0 < none["betti_error"]
    assert "validation" in choice.rule and choice.as_dict()["candidates"] == choice.table
