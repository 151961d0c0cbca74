"""Refinement by clicks: a hand-made interactive network whose answer is known, windows, the
order of clicks, and every refused input."""

import numpy as np
import pytest
import torch
from torch import nn

from segtrain import (
    Click,
    ClickConfig,
    InferenceConfig,
    RefineConfig,
    build_model,
    predict_image,
    refine,
)
from segtrain.inference._clicks import mark_interactive
from segtrain.interactive._refine import click_window
from shapelib import InputError


@pytest.fixture(autouse=True)
def one_thread():
    from segtrain.inference._device import torch_threads

    with torch_threads(1):
        yield


class ClickNet(nn.Module):
    """Sees bright pixels as object; a positive click's disk is object, a negative one's
    background (the channels: image, positive, negative, previous)."""

    def __init__(self):
        super().__init__()
        self.params = type("P", (), {"in_channels": 4})()
        self.w = nn.Parameter(torch.ones(1))  # a parameter, for the device

    def forward(self, x):
        return self.w * (20 * (x[:, :1] - 0.6) + 60 * x[:, 1:2] - 60 * x[:, 2:3])


def _scene():
    yy, xx = np.mgrid[:120, :160]
    bright = (yy - 40) ** 2 + (xx - 40) ** 2 <= 12**2
    dim = (yy - 80) ** 2 + (xx - 120) ** 2 <= 6**2  # an object the network cannot see
    image = np.where(bright, 1.0, np.where(dim, 0.3, 0.0)).astype(np.float32)
    return image, bright | dim, dim


def _iou(mask, truth):
    return (mask.astype(bool) & truth).sum() / (mask.astype(bool) | truth).sum()


def _net(radius=6):
    return mark_interactive(ClickNet().eval(), ClickConfig(radius_px=radius))


def test_a_positive_click_on_a_missed_object_raises_its_iou():
    image, truth, dim = _scene()
    net = _net()
    kw = dict(
        normalize=None,
        options=RefineConfig(samples=1, enforce_px=0),
        config=InferenceConfig(tile_px=64, overlap_px=16),
    )
    first = refine(net, image, [], **kw)
    assert first.mask[dim].sum() == 0 and first.clicks == ()
    after = refine(net, image, [Click(80, 120, True)], first.probability, **kw)
    assert after.mask[dim].all() and _iou(after.mask, truth) > _iou(first.mask, truth) + 0.15
    # Only the window around the click changed.
    y0, y1, x0, x1 = after.window
    outside = np.ones(image.shape, bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(after.probability[outside], first.probability[outside])
    assert (y1 - y0, x1 - x0) == (120, 160) or max(y1 - y0, x1 - x0) >= 64
    # A negative click on the bright object removes its disk; the clicks replay in order.
    both = refine(net, image, [Click(80, 120, True), Click(40, 40, False)], **kw)
    assert both.mask[80, 120] == 1 and both.mask[40, 40] == 0
    step = refine(net, image, [Click(80, 120, True), Click(40, 40, False)], after, **kw)
    np.testing.assert_array_equal(step.mask, both.mask)
    # The whole image instead of a window gives the same answer for this local network.
    whole = refine(net, image, [Click(80, 120, True)], first.probability, window=None, **kw)
    np.testing.assert_array_equal(whole.mask, after.mask)


def test_clicks_are_honoured_at_their_pixels_and_suggestions_avoid_them():
    image, _, _ = _scene()
    net = _net()

    class Ignores(ClickNet):
        def forward(self, x):
            return 20 * (x[:, :1] - 0.6) * self.w

    deaf = mark_interactive(Ignores().eval(), ClickConfig(radius_px=6))
    one = RefineConfig(samples=1)
    r = refine(deaf, image, [Click(80, 120, True)], normalize=None, options=one)
    assert r.mask[80, 120] == 1 and r.mask[80, 124] == 0 and r.uncertainty[80, 120] == 0
    alone = one.replace(enforce_px=0, directional=False)
    r = refine(deaf, image, [Click(80, 120, True)], normalize=None, options=alone)
    assert r.mask[80, 120] == 0  # the network alone
    # Directional with enforce_px 0: the click's own pixel still takes its label.
    r = refine(
        deaf, image, [Click(80, 120, True)], normalize=None, options=alone.replace(directional=True)
    )
    assert r.mask[80, 120] == 1 and r.mask[80, 121] == 0
    # Flip spread of a deterministic network as its uncertainty; suggestions never on clicks.
    r = refine(net, image, [Click(40, 40, True)], normalize=None, options=one.replace(samples=4))
    assert r.uncertainty.shape == image.shape
    assert all((s.row - 40) ** 2 + (s.col - 40) ** 2 > 36 for s in r.suggestions)


def test_the_window_holds_the_click_and_the_objects_it_touches():
    mask = np.zeros((300, 400), bool)
    mask[100:150, 100:300] = True
    box = click_window(mask, Click(120, 110), radius_px=20, window_px=64, max_window_px=None)
    assert box[0] <= 100 and box[1] >= 150 and box[2] <= 100 and box[3] >= 300
    # A limit: the long object is cut about the click.
    box = click_window(mask, Click(120, 110), radius_px=20, window_px=64, max_window_px=128)
    assert box[0] <= 100 and box[1] >= 150 and (box[2], box[3]) == (90, 218)
    box = click_window(mask, Click(5, 395), radius_px=20, window_px=64)
    assert box == (0, 64, 336, 400)  # grown to 64, inside the image
    box = click_window(np.zeros((40, 40), bool), Click(20, 20), radius_px=5, window_px=64)
    assert box == (0, 40, 0, 40)


def test_refused_inputs():
    image, _, _ = _scene()
    net = _net()
    with pytest.raises(InputError, match="outside the image of 120 rows x 160 columns"):
        refine(net, image, [Click(120, 3)])
    with pytest.raises(InputError, match="mitoshape train --interactive"):
        refine(build_model("unet", {"depth": 2, "width": 4}).eval(), image, [Click(1, 1)])
    with pytest.raises(InputError, match="takes 1 image channel"):
        refine(net, np.stack([image] * 3, -1), [Click(1, 1)])
    with pytest.raises(InputError, match="prev_mask has shape"):
        refine(net, image, [Click(1, 1)], np.zeros((10, 10)))
    with pytest.raises(InputError, match="window"):
        refine(net, image, [Click(1, 1)], np.zeros(image.shape), window=(0, 500, 0, 10))


def test_an_interactive_network_predicts_without_clicks_at_any_size():
    net = mark_interactive(build_model("unet", {"depth": 2, "width": 4, "in_channels": 4}).eval(),
                           ClickConfig())  # fmt: skip
    img = np.random.default_rng(0).random((150, 97))
    tiles = InferenceConfig(tile_px=64, overlap_px=16)
    p = predict_image(net, img, tiles)
    assert p.shape == (150, 97)
    r = refine(net, img, [Click(10, 10, True)], config=tiles, options=RefineConfig(samples=1))
    assert r.mask.shape == (150, 97) and r.mask[10, 10] == 1


# Tiny untrained networks of every interactive model kind: the direction of a click must hold
# by construction, whatever the network answers.
TINY = {
    "unet": {"depth": 2, "width": 4},
    "attention_res_unet": {"depth": 2, "width": 4},
    "efficientnet_unet": {"depth": 2, "width": 4},
    "patch_cnn": {"width": 4, "fc": 8},
    "prob_unet": {"depth": 2, "width": 4},
}


def _tiny_interactive(name, seed):
    from segtrain.inference._clicks import CLICK_CHANNELS

    torch.manual_seed(seed)
    net = build_model(name, {**TINY[name], "in_channels": 1 + CLICK_CHANNELS}).eval()
    with torch.no_grad():  # weights of std 0.3: a network that answers clicks wildly
        for p in net.parameters():
            p.normal_(0, 0.3)
    return mark_interactive(net, ClickConfig(radius_px=4))


@pytest.mark.parametrize("name", list(TINY))
def test_every_error_click_acts_in_its_direction_and_never_lowers_iou(name):
    from segtrain import MODELS, next_click

    from ._tiny import disks

    assert set(TINY) == set(MODELS)  # every model kind can be interactive
    opts = RefineConfig(samples=2, window_px=32, context_px=8)
    cfg = InferenceConfig(tile_px=64, overlap_px=16)
    n_clicks = 0
    for k in range(4):  # a small set: 4 images of disks on noise, a network of its own each
        net = _tiny_interactive(name, seed=k)
        image, labels = disks(48, 3, rng=k)
        truth = labels > 0
        state = refine(net, image, [], config=cfg, options=opts)
        clicks = []
        for _ in range(4):
            c = next_click(state.mask, truth, clicker="error", clicks=clicks)
            if c is None:
                break
            clicks.append(c)
            new = refine(net, image, clicks, state, config=cfg, options=opts)
            before, after = state.mask.astype(bool), new.mask.astype(bool)
            if c.positive:  # no foreground lost; the click's pixel is foreground
                assert (after | ~before).all() and after[c.row, c.col]
            else:  # no foreground added; the click's pixel is background
                assert (before | ~after).all() and not after[c.row, c.col]
            assert _iou(after, truth) >= _iou(before, truth)
            state, n_clicks = new, n_clicks + 1
    assert n_clicks >= 8


def test_a_contrary_network_cannot_undo_what_a_click_did_not_ask_for():
    image, truth, dim = _scene()
    bright = truth & ~dim

    class Contrary(ClickNet):  # a positive click anywhere erases every object, a bad network
        def forward(self, x):
            anywhere = x[:, 1:2].amax(dim=(2, 3), keepdim=True)
            return self.w * (20 * (x[:, :1] - 0.6) - 80 * anywhere + 120 * x[:, 1:2])

    net = mark_interactive(Contrary().eval(), ClickConfig(radius_px=6))
    kw = dict(normalize=None, config=InferenceConfig(tile_px=64, overlap_px=16))
    first = refine(net, image, [], options=RefineConfig(samples=1), **kw)
    assert first.mask[bright].all() and not first.mask[dim].any()
    raw = RefineConfig(samples=1, directional=False)
    alone = refine(net, image, [Click(80, 120, True)], first, options=raw, **kw)
    assert not alone.mask[bright].any()  # the network alone: the bright object is lost
    kept = refine(net, image, [Click(80, 120, True)], first, options=RefineConfig(samples=1), **kw)
    assert kept.mask[bright].all() and kept.mask[dim].all()  # nothing lost, the click's added
    assert _iou(kept.mask, truth) == 1.0 and _iou(alone.mask, truth) < 0.3


def test_a_window_is_pasted_with_a_feather_so_the_maps_have_no_square_seam():
    from segtrain.interactive._refine import feather

    a = feather((10, 50, 0, 40), (100, 40), 8)
    assert a.shape == (40, 40)
    assert np.all(a[0] == 0) and np.all(a[-1] == 0)  # window edges inside the image: the old
    assert np.all(a[8:-8, 0] == 1) and np.all(a[8:-8, -1] == 1)  # the image's borders: the new
    assert a[20, 20] == 1 and 0 < a[4, 20] < 1
    # A window in the middle, the network's whole answer (directional off): along the window's
    # edge the maps keep the previous state, deep inside they are the hard paste's.
    img, _, _ = _scene()
    net = _tiny_interactive("prob_unet", 1)
    before = refine(net, img, [], options=RefineConfig(samples=4))
    box = (30, 90, 40, 120)
    go = {"samples": 4, "directional": False, "enforce_px": 0}
    soft = refine(net, img, [Click(60, 80, True)], before, options=RefineConfig(**go), window=box)
    hard = refine(net, img, [Click(60, 80, True)], before, options=RefineConfig(**go, blend_px=0),
                  window=box)  # fmt: skip
    y0, y1, x0, x1 = box
    for k in ("probability", "uncertainty"):
        old, new, cut = getattr(before, k), getattr(soft, k), getattr(hard, k)
        assert not np.allclose(cut[y0:y1, x0:x1], old[y0:y1, x0:x1])  # the click changed them
        for edge in (
            np.s_[y0, x0:x1],
            np.s_[y1 - 1, x0:x1],
            np.s_[y0:y1, x0],
            np.s_[y0:y1, x1 - 1],
        ):
            np.testing.assert_array_equal(new[edge], old[edge])
        deep = np.s_[y0 + 16 : y1 - 16, x0 + 16 : x1 - 16]
        np.testing.assert_allclose(new[deep], cut[deep], atol=1e-6)


@pytest.mark.parametrize("positive", [True, False])
def test_the_direction_of_a_click_worked_out_in_its_window_is_the_whole_images(positive):
    from segtrain.interactive._direction import directional_update

    rng = np.random.default_rng(5)
    p0, u0 = rng.random((90, 120), dtype=np.float32), rng.random((90, 120), dtype=np.float32)
    p1, u1 = p0.copy(), u0.copy()
    box = (20, 70, 30, 100)  # the network's answer differs from before only in here
    p1[20:70, 30:100] = rng.random((50, 70), dtype=np.float32)
    u1[20:70, 30:100] = rng.random((50, 70), dtype=np.float32)
    click = Click(45, 60, positive)
    kw = {"threshold": 0.5, "radius_px": 3}
    whole = directional_update((p0, u0), (p1, u1), click, **kw)
    part = directional_update((p0, u0), (p1, u1), click, box=box, **kw)
    assert not np.array_equal(whole[0], p0)  # the click changed something
    for a, b in zip(whole, part, strict=True):
        np.testing.assert_array_equal(a, b)
