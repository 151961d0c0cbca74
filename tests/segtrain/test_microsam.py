"""micro-sam's protocol: the mean segmentation accuracy against hand-computed cases, the
object's predicted instance, and the protocol on a hand-made interactive network."""

import numpy as np
import pytest

from segtrain import (
    Click,
    DataSource,
    InferenceConfig,
    RefineConfig,
    Run,
    SimulatedUser,
    TrainConfig,
    match_instances,
)
from segtrain.inference._clicks import click_settings
from segtrain.interactive._microsam import MICROSAM_CLICKS, object_instance, run_microsam

from .test_refine import _net, _scene


def _two_objects():
    gt = np.zeros((20, 20), np.int32)
    gt[1:6, 1:6] = 1  # 25 px
    gt[10:15, 10:15] = 2  # 25 px
    pred = np.zeros_like(gt)
    pred[1:6, 1:6] = 7  # object 1 exactly
    pred[10:15, 10:15] = 8
    pred[13:15, 10:15] = 0  # 15 of object 2's 25 px ...
    pred[13, 10:13] = 8  # ... and 3 more: 18 of 25, IoU 0.72
    return gt, pred


def test_mean_segmentation_accuracy_by_hand():
    gt, pred = _two_objects()
    s = match_instances(pred, gt)
    assert s.thresholds == (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
    # t <= 0.70 (5 thresholds): both match, SA = 2 / 2 = 1; t >= 0.75 (5): one matches, one
    # predicted and one true object left over, SA = 1 / (1 + 1 + 1).
    assert s.mean_accuracy == pytest.approx((5 * 1 + 5 * (1 / 3)) / 10)
    # A spurious third prediction: SA = 2 / 3 at t <= 0.70, 1 / (1 + 2 + 1) above.
    pred[17:19, 17:19] = 9
    assert match_instances(pred, gt).mean_accuracy == pytest.approx((5 * 2 / 3 + 5 / 4) / 10)
    assert match_instances(np.zeros_like(gt), gt).mean_accuracy == 0.0


def test_an_objects_instance_is_what_its_positive_clicks_touch():
    mask = np.zeros((10, 10), np.uint8)
    mask[1:4, 1:4] = 1
    mask[6:9, 6:9] = 1
    valid = np.ones((10, 10), bool)
    inst = object_instance(mask, valid, [Click(2, 2, True), Click(7, 7, False)])
    assert inst.sum() == 9 and inst[2, 2] and not inst[7, 7]
    assert not object_instance(mask, valid, []).any()
    valid[1:4, 1] = False  # another object's pixels do not count
    assert object_instance(mask, valid, [Click(2, 2, True)]).sum() == 6


def test_the_protocol_on_a_hand_made_network():
    image, truth, dim = _scene()
    net = _net()
    cfg = TrainConfig(train=[DataSource(path="-")], interactive=True, clicks=click_settings(net))
    run = Run.from_model(net, cfg, InferenceConfig(tile_px=64, overlap_px=16, device="cpu"))
    user = SimulatedUser(max_clicks=MICROSAM_CLICKS, min_object_px=10, min_crop_px=32)
    res = run_microsam(run, image[None], truth, user=user, options=RefineConfig(samples=1))
    assert res.n_objects == 2 and len(res.msa) == MICROSAM_CLICKS + 1
    # From nothing: no object predicted; one point at each object's centre finds both (the
    # dim one by its click's disk, which is the object).
    assert res.msa[0] == 0.0 and res.msa[1:] == (1.0,) * MICROSAM_CLICKS
    assert all(len(tr.clicks) == 1 and tr.clicks[0].positive for _, tr in res.traces)
    assert all(tr.ious[0] == 0.0 and tr.ious[1] == 1.0 for _, tr in res.traces)
