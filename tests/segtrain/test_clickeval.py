"""NoC / mIoU bookkeeping against hand-computed sequences, AUROC, the uncertainty quality and
the two scopes of the simulated user on a hand-made interactive network."""

import math

import numpy as np
import pandas as pd
import pytest

from segtrain import (
    ClickTrace,
    DataSource,
    InferenceConfig,
    RefineConfig,
    Run,
    SimulatedUser,
    TrainConfig,
    auroc,
    iou_curve,
    noc,
    summarize_traces,
    uncertainty_quality,
)
from segtrain.inference._clicks import click_settings
from segtrain.interactive._clickeval import (
    object_crops,
    run_image_scope,
    run_object_scope,
    trace_rows,
)
from segtrain.interactive._refine import Refinement

from .test_refine import _net, _scene


def test_noc_against_a_hand_computed_sequence():
    ious = [0.50, 0.80, 0.86, 0.91, 0.96]
    assert [noc(ious, t, 20) for t in (0.85, 0.90, 0.95)] == [(2, True), (3, True), (4, True)]
    assert noc([0.9], 0.85, 20) == (0, True)  # reached without clicks
    assert noc([0.5, 0.6, 0.7], 0.85, 20) == (20, False)  # never: 20, a failure
    np.testing.assert_array_equal(iou_curve([0.5, 0.7], 4), [0.5, 0.7, 0.7, 0.7, 0.7])


def _trace(ious, counts):
    inter = tuple(c[0] for c in counts)
    union = tuple(c[1] for c in counts)
    return ClickTrace(tuple(ious), inter, union, (), tuple(0.1 for _ in ious[1:]), "no_error")


def test_summary_by_hand():
    a = _trace([0.5, 0.9, 1.0], [(5, 10), (9, 10), (10, 10)])  # stops after 2 clicks
    b = _trace([0.2, 0.4, 0.6, 0.8], [(2, 10), (4, 10), (6, 10), (8, 10)])
    rows = trace_rows(a, 4, scope="image", clicker="error", image="a", object=0)
    rows += trace_rows(b, 4, scope="image", clicker="error", image="b", object=0)
    assert [r["clicked"] for r in rows[:5]] == [True, True, True, False, False]
    summary, curves = summarize_traces(pd.DataFrame(rows), max_clicks=4)
    r = summary.iloc[0]
    assert r["n"] == 2
    # mIoU@k: a carries 1.0 forward from click 2; b carries 0.8 from click 3.
    expect = [(0.5 + 0.2) / 2, (0.9 + 0.4) / 2, (1.0 + 0.6) / 2, (1.0 + 0.8) / 2, 0.9]
    assert [r[f"miou@{k}"] for k in range(5)] == pytest.approx(expect)
    assert r["pooled_iou@1"] == pytest.approx((9 + 4) / 20)
    # NoC@85 and @90: a at 1, b never (4, a failure); NoC@95: a at 2, b never.
    assert r["noc@85"] == pytest.approx((1 + 4) / 2) and r["nof@85"] == 1
    assert r["noc@90"] == pytest.approx((1 + 4) / 2) and r["nof@90"] == 1
    assert r["noc@95"] == pytest.approx((2 + 4) / 2) and r["nof@95"] == 1
    assert r["seconds_per_click"] == pytest.approx(0.1)
    assert list(curves["miou"]) == pytest.approx(expect)


def test_auroc_and_uncertainty_quality():
    assert auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert auroc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert auroc([0.5] * 4, [0, 1, 0, 1]) == 0.5
    assert math.isnan(auroc([0.1, 0.2], [0, 0]))
    rng = np.random.default_rng(0)
    s, y = rng.random(200), rng.random(200) < 0.3
    pairs = np.mean([(si > sj) + 0.5 * (si == sj) for si, yi in zip(s, y, strict=True) if yi
                     for sj, yj in zip(s, y, strict=True) if not yj])  # fmt: skip
    assert auroc(s, y) == pytest.approx(pairs)
    # 100 x 100 pixels, 50 wrong; the std is high on 40 of them and on 10 right pixels.
    truth = np.zeros((100, 100), bool)
    mask = truth.copy()
    mask.flat[:50] = True  # wrong
    std = np.zeros((100, 100))
    std.flat[:40] = 1.0
    std.flat[5000:5010] = 0.9
    q = uncertainty_quality(std, mask, truth)
    # The top 100 px: the 50 above 0 (40 wrong) and 50 of the 9,950 tied at 0 (10 wrong).
    assert q.wrong_in_top[0.01] == pytest.approx((40 + 10 * 50 / 9950) / 50)
    assert q.wrong_in_top[0.05] == pytest.approx((40 + 10 * 450 / 9950) / 50)
    assert q.wrong_fraction == 50 / 10000 and 0.85 < q.auroc < 0.95


def test_object_crops_grow_the_box_and_skip_specks():
    truth = np.zeros((200, 200), bool)
    truth[50:70, 60:100] = True  # 20 x 40
    truth[150:152, 10:12] = True  # 4 px: a speck
    labels, crops = object_crops(truth, min_object_px=10, min_crop_px=30)
    assert len(crops) == 1
    oid, (y0, y1, x0, x1) = crops[0]
    assert (y0, y1) == (42, 78)  # 20 rows grown by 40 % (8) each side
    assert (x0, x1) == (44, 116)  # 40 columns grown by 16 each side


def test_both_scopes_on_a_hand_made_network():
    image, truth, dim = _scene()
    net = _net()
    cfg = TrainConfig(train=[DataSource(path="-")], interactive=True, clicks=click_settings(net))
    run = Run.from_model(net, cfg, InferenceConfig(tile_px=64, overlap_px=16, device="cpu"))
    kw = dict(clicker="error", options=RefineConfig(samples=1, enforce_px=0))
    x = image[None]
    prob = (image > 0.6).astype(np.float32)
    first = Refinement((prob >= 0.5).astype(np.uint8), prob, np.zeros_like(prob), (), 0.0)
    tr = run_image_scope(run, x, truth, first, user=SimulatedUser(max_clicks=5), **kw)
    assert tr.ious[0] < 0.9 and tr.ious[1] > tr.ious[0]  # the first click finds the dim object
    assert tr.clicks[0].row == 80 and tr.clicks[0].col == 120 and tr.clicks[0].positive
    user = SimulatedUser(max_clicks=3, min_object_px=10, min_crop_px=32)
    per = run_object_scope(run, x, truth, first, user=user, **kw)
    assert len(per) == 2
    found = dict(per)
    # The bright object is right without clicks; the dim one needs its click.
    assert found[1].ious == (1.0,) and found[1].stop == "no_error"
    assert found[2].ious[0] == 0.0 and found[2].ious[1] == 1.0
