"""Clicks: parsing, the disk encoding, and the simulated clickers on hand-made masks."""

import math

import numpy as np
import pytest

from segtrain import Click, encode_clicks, next_click, parse_click, simulate_clicks
from segtrain.inference._clicks import check_clicks, clicks_from_rows, disk
from segtrain.interactive._suggest import suggest_clicks
from shapelib import InputError


def _disk_mask(shape, centre, r):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= r * r


def test_a_radius_20_disk_holds_1257_pixels():
    # Gauss's circle problem: the integer points with y^2 + x^2 <= 400.
    assert disk(20).sum() == 1257
    assert abs(disk(20).sum() - math.pi * 400) < 1
    ch = encode_clicks([Click(50, 60, True), Click(10, 10, False)], (100, 120), radius_px=20)
    assert ch.shape == (2, 100, 120) and ch.dtype == np.float32
    assert ch[0].sum() == 1257 and ch[0, 50, 60] == 1 and ch[0, 50, 81] == 0
    # A click near the corner draws the part of its disk inside the image.
    assert 0 < ch[1].sum() < 1257 and ch[1, 0, 0] == 1
    # A window: the origin shifts the grid.
    win = encode_clicks([Click(50, 60, True)], (30, 30), radius_px=20, origin=(40, 50))
    np.testing.assert_array_equal(win[0], ch[0, 40:70, 50:80])


def test_parse_clicks_and_their_errors():
    assert parse_click("10, 20, +") == Click(10, 20, True)
    assert parse_click("3,4,-") == Click(3, 4, False)
    with pytest.raises(InputError, match="sign must be \\+ \\(object\\) or - \\(background\\)"):
        parse_click("3,4,x")
    with pytest.raises(InputError, match="ROW,COL,\\+"):
        parse_click("3,4")
    with pytest.raises(InputError, match="whole pixel numbers"):
        parse_click("a,4,+")
    rows = [{"row": "1", "col": "2", "sign": "+"}, {"row": "3", "col": "4", "sign": "-"}]
    assert clicks_from_rows(rows) == (Click(1, 2, True), Click(3, 4, False))
    with pytest.raises(InputError, match=r"misses the column\(s\) \['col'\]"):
        clicks_from_rows([{"row": "1", "sign": "+"}], where="c.csv")
    with pytest.raises(InputError, match="line 2: sign must be"):
        clicks_from_rows([{"row": "1", "col": "2", "sign": "maybe"}])
    with pytest.raises(InputError, match="outside the image of 10 rows x 20 columns"):
        check_clicks([Click(10, 3)], (10, 20), where="the image")
    with pytest.raises(InputError, match="outside"):
        check_clicks([Click(-1, 3)], (10, 20))


def test_the_first_error_click_is_the_centre_of_the_largest_error_region():
    shape = (100, 100)
    truth = _disk_mask(shape, (30, 30), 12) | _disk_mask(shape, (70, 75), 5)
    pred = np.zeros(shape, bool)
    assert next_click(pred, truth) == Click(30, 30, True)
    # A false object larger than any miss: a negative click at its centre.
    pred = truth.copy()
    pred[50:71, 5:26] = True  # 21 x 21 square, centre (60, 15)
    pred[_disk_mask(shape, (70, 75), 5)] = False  # a small miss stays
    assert next_click(pred, truth) == Click(60, 15, False)
    # The image border counts as an edge: a region on the border has its centre inside.
    pred = np.zeros(shape, bool)
    truth = np.zeros(shape, bool)
    truth[0:11, 40:61] = True
    assert next_click(pred, truth) == Click(5, 50, True)


def test_a_click_already_given_is_not_given_again_and_a_perfect_mask_stops():
    shape = (60, 60)
    truth = _disk_mask(shape, (30, 30), 10)
    pred = np.zeros(shape, bool)
    first = next_click(pred, truth)
    second = next_click(pred, truth, clicks=[first])
    assert first == Click(30, 30, True) and second != first and second.positive
    assert truth[second.row, second.col]  # still the same missed region, another pixel
    assert next_click(truth, truth) is None

    # The loop: a fake model that gets an object right once it is clicked.
    truth = _disk_mask(shape, (15, 15), 6) | _disk_mask(shape, (45, 45), 8)

    class State:
        def __init__(self, mask):
            self.mask, self.uncertainty, self.seconds = mask, None, 0.0

    def predict(clicks, prev):
        from scipy import ndimage

        labels, _ = ndimage.label(truth)
        hit = {labels[c.row, c.col] for c in clicks if c.positive}
        return State(np.isin(labels, list(hit - {0})))

    trace = simulate_clicks(predict, truth, max_clicks=20)
    assert trace.stop == "no_error" and len(trace.clicks) == 2
    assert trace.clicks[0] == Click(45, 45, True)  # the larger miss first
    assert trace.ious[0] == 0 and trace.ious[-1] == 1.0
    assert len(trace.ious) == len(trace.intersections) == 3
    # Perfect from the start: no click at all.
    assert simulate_clicks(predict, truth, first=State(truth)).clicks == ()
    # Clicks only where valid: the second object is out of bounds.
    valid = np.zeros(shape, bool)
    valid[:30, :30] = True
    trace = simulate_clicks(predict, truth, valid=valid)
    assert trace.clicks == (Click(15, 15, True),) and trace.ious[-1] == 1.0


def test_uncertainty_and_random_clickers():
    shape = (80, 80)
    truth = _disk_mask(shape, (20, 20), 8)
    pred = np.zeros(shape, bool)
    unc = np.zeros(shape, np.float32)
    unc[60:63, 60:63] = 0.5  # a background blob: the most uncertainty mass
    unc[61, 61] = 0.6
    unc[20, 20] = 0.3
    c = next_click(pred, truth, clicker="uncertainty", uncertainty=unc)
    assert (c.row, c.col) == (61, 61) and c.positive is False  # labelled from the truth
    # Its disk is corrected: the next suggestion is elsewhere.
    c2 = next_click(pred, truth, clicker="uncertainty", uncertainty=unc, clicks=[c])
    assert (c2.row, c2.col, c2.positive) == (20, 20, True)
    with pytest.raises(InputError, match="needs the uncertainty map"):
        next_click(pred, truth, clicker="uncertainty")
    a = next_click(pred, truth, clicker="random", rng=3)
    assert (
        truth[a.row, a.col] and a.positive and a == next_click(pred, truth, clicker="random", rng=3)
    )
    with pytest.raises(InputError, match="unknown clicker 'lazy'"):
        next_click(pred, truth, clicker="lazy")


def test_suggestions_cluster_the_most_uncertain_pixels_and_avoid_clicked_disks():
    u = np.zeros((200, 200), np.float32)
    u[20:26, 20:26] = 1.0  # mass 36
    u[100:103, 150:153] = 0.9  # mass 8.1
    u[180, 10] = 0.8
    s = suggest_clicks(u, n=3, top_fraction=0.002, radius_px=10)
    assert [(g.row, g.col) for g in s] == [(22, 22), (101, 151), (180, 10)]
    assert [round(g.score, 3) for g in s] == [36.0, 8.1, 0.8]  # ordered by uncertainty mass
    # Nothing inside an earlier click's disk; nothing on an empty map.
    s = suggest_clicks(u, clicks=[Click(22, 22)], n=3, top_fraction=0.002, radius_px=10)
    assert all((g.row - 22) ** 2 + (g.col - 22) ** 2 > 100 for g in s)
    assert suggest_clicks(np.zeros((50, 50)), n=3) == ()
    # Two suggestions on one blob are one.
    v = np.zeros((100, 100), np.float32)
    v[40:60, 40:60] = 1.0
    assert len(suggest_clicks(v, n=3, top_fraction=0.04, radius_px=20)) == 1
