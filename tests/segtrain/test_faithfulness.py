"""Deletion curves: a faithful heatmap beats random order on a trained model; the verdicts."""

import numpy as np
import pytest
import torch

from segtrain import InferenceConfig, build_model, explain_image, measure_faithfulness
from segtrain.explain._explain import tiled_probability
from segtrain.explain._faithfulness import (
    blur_sigma_for,
    deletion_curve,
    deletion_order,
    mass_in_mask,
)
from segtrain.inference._normalise import normalize_percentile
from segtrain.training._losses import loss_fn
from tests.segtrain._tiny import disks


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """One torch thread: on a shared 2-core machine two threads of tiny ops spin-wait (30x)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def trained_net():
    """A tiny U-Net trained for 40 steps to find bright disks (a couple of seconds)."""
    torch.manual_seed(0)
    net = build_model("unet", {"depth": 2, "width": 4})
    rng = np.random.default_rng(0)
    pairs = [disks(32, 2, rng) for _ in range(8)]
    x = torch.from_numpy(np.stack([normalize_percentile(i) for i, _ in pairs]))[:, None]
    y = torch.from_numpy(np.stack([(lab > 0).astype(np.float32) for _, lab in pairs]))[:, None]
    opt = torch.optim.Adam(net.parameters(), 2e-2)
    net.train()
    for _ in range(40):
        opt.zero_grad()
        loss = loss_fn(net(x), y, "bce+dice")
        loss.backward()
        opt.step()
    return net.eval()


@pytest.mark.parametrize("method", ["gradcam", "hirescam"])
def test_deletion_by_the_heatmap_beats_random_order(trained_net, method):
    image, labels = disks(48, 3, 5)
    tiles = InferenceConfig(tile_px=64, overlap_px=16)
    ex = explain_image(trained_net, image, tiles, layer="dec.1", methods=(method,))
    dice = 2 * (ex.mask & (labels > 0)).sum() / (ex.mask.sum() + (labels > 0).sum())
    assert dice > 0.8  # the model learned the task

    def score(x):
        return float(tiled_probability(trained_net, x, tiles)[ex.target].mean())

    f = measure_faithfulness(score, ex.input, ex.heatmaps[method], ex.target, rng=0)
    assert f.heatmap_curve[0] > 0.8 and f.fractions[1] == pytest.approx(0.05)
    assert len(f.fractions) == 21 and f.random_curves.shape == (2, 21)
    assert f.auc < f.auc_random - 0.2 and f.auc < f.auc_inverse
    assert f.better_than_random and f.verdict == "better than random"
    assert f.mass_in_mask > 0.9 > f.mask_fraction


def test_a_heatmap_no_better_than_random_is_reported_so():
    # The score is the mean of the input over the mask: deleting inside the mask lowers it.
    x = np.ones((1, 20, 20), np.float32)
    mask = np.zeros((20, 20), bool)
    mask[5:15, 5:15] = True

    def score(xi):
        return float(xi[0][mask].mean())

    base = np.zeros_like(x)
    good = measure_faithfulness(score, x, mask.astype(float), mask, baseline=base, rng=0)
    bad = measure_faithfulness(score, x, (~mask).astype(float), mask, baseline=base, rng=0)
    flat = measure_faithfulness(score, x, np.zeros((20, 20)), mask, baseline=base, rng=0)
    assert good.auc < good.auc_random < good.auc_inverse and good.better_than_random
    # Mask pixels are 25 % of the image: the first 5 steps delete exactly them.
    np.testing.assert_allclose(good.heatmap_curve[:6], [1, 0.8, 0.6, 0.4, 0.2, 0], atol=1e-9)
    assert bad.verdict == "no better than random" and bad.mass_in_mask == 0
    assert flat.verdict == "no better than random (empty heatmap)"
    empty = measure_faithfulness(score, x, mask, np.zeros((20, 20), bool), baseline=base)
    assert empty.verdict == "no verdict (empty target)"


def test_orders_mass_and_blur():
    h = np.array([[0.0, 3.0], [1.0, 3.0]])
    order = deletion_order(h, rng=0)
    assert set(order[:2]) == {1, 3} and list(order[2:]) == [2, 0]
    assert mass_in_mask(h, h > 2) == pytest.approx(6 / 7)
    assert np.isnan(mass_in_mask(np.zeros((2, 2)), np.ones((2, 2))))
    m = np.zeros((50, 50), bool)
    m[10:20, 10:20] = True  # 100 px -> equivalent diameter 11.3
    assert blur_sigma_for(m) == pytest.approx(np.sqrt(400 / np.pi))
    calls = []
    curve = deletion_curve(lambda xi: calls.append(xi.sum()) or xi.sum(), np.ones((1, 2, 2)),
                           np.zeros((1, 2, 2)), order, step=0.25)  # fmt: skip
    np.testing.assert_allclose(curve, [4, 3, 2, 1, 0])
