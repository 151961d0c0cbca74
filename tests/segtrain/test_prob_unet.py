"""The probabilistic U-Net: KL, its mean output, its loss, and sampled predictions."""

import numpy as np
import pytest
import torch

from segtrain import (
    DataSource,
    InferenceConfig,
    TrainConfig,
    build_model,
    flip_samples,
    kl_diag_gaussians,
    load_run,
    predict_image,
    sample_prediction,
    train,
)
from segtrain.training._losses import compute_loss
from shapelib import InputError

from ._tiny import disks, write_pairs


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks run faster on one thread (and on a busy machine much faster)."""
    from segtrain.inference._device import torch_threads

    with torch_threads(1):
        yield


def test_kl_of_identical_gaussians_is_zero_and_a_known_value():
    mu, lv = torch.randn(3, 6), torch.randn(3, 6)
    assert torch.allclose(kl_diag_gaussians(mu, lv, mu, lv), torch.zeros(3), atol=1e-6)
    # KL(N(1, 1) || N(0, 1)) = 1/2 per dimension; KL(N(0, 4) || N(0, 1)) = (4 - 1 - ln 4) / 2.
    one = torch.ones(1, 2)
    assert kl_diag_gaussians(one, 0 * one, 0 * one, 0 * one).item() == pytest.approx(1.0)
    lv4 = torch.full((1, 1), np.log(4.0))
    expect = 0.5 * (4 - 1 - np.log(4))
    assert kl_diag_gaussians(0 * lv4, lv4, 0 * lv4, 0 * lv4).item() == pytest.approx(expect)


def test_forward_is_the_mean_of_fixed_latent_draws_and_the_loss_has_a_kl():
    net = build_model("prob_unet", {"depth": 2, "width": 4}).eval()
    x = torch.randn(2, 1, 30, 41)
    with torch.no_grad():
        logits = net(x)
        per = torch.sigmoid(net.sample_logits(x, net.mean_eps))
    assert logits.shape == (2, 1, 30, 41)
    torch.testing.assert_close(torch.sigmoid(logits), per.mean(0), atol=1e-5, rtol=1e-4)
    assert torch.allclose(net.mean_eps.mean(0), torch.zeros(6), atol=1e-6)  # antithetic pairs
    # The elbo loss: a posterior sample's BCE plus beta x KL, differentiable.
    from segtrain.training._data import Batch

    net.train()
    batch = Batch(image=torch.randn(2, 1, 32, 32), mask=(torch.rand(2, 1, 32, 32) > 0.5).float())
    out = compute_loss("elbo", net, batch)
    out.loss.backward()
    assert out.logits.shape == (2, 1, 32, 32) and torch.isfinite(out.loss)
    assert net.posterior.out.weight.grad is not None
    with pytest.raises(InputError, match="needs a probabilistic model"):
        compute_loss("elbo", build_model("unet", {"depth": 2, "width": 4}), batch)
    with pytest.raises(ValueError, match="prob_unet trains with elbo or elbo\\+dice"):
        TrainConfig(train=[DataSource(path=".")], model="prob_unet", loss="bce")
    assert TrainConfig(train=[DataSource(path=".")], model="prob_unet").loss == "elbo+dice"


@pytest.fixture(scope="module")
def prob_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("prob")
    data = write_pairs(root / "data", n=3, size=64)
    cfg = TrainConfig(
        train=[DataSource(path=str(data))], run_dir=str(root / "run"), model="prob_unet",
        model_params={"depth": 2, "width": 8}, patch_px=32, batch_size=4, val_patches=4,
        max_steps=30, val_every=30, amp=False, num_threads=1,
    )  # fmt: skip
    return train(cfg)


TILES48 = InferenceConfig(tile_px=48, overlap_px=8)


def test_samples_of_a_trained_model_differ_and_agree_where_they_agree(prob_run):
    net, _ = load_run(prob_run)
    image, _ = disks(70, 3, rng=5)  # another size than the patches: tiled
    s = sample_prediction(net, image, TILES48, samples=8, rng=1)
    assert s.samples.shape == (8, 70, 70) and s.kind == "latent"
    assert float(s.std.max()) > 1e-4  # the latent draws give different masks
    np.testing.assert_allclose(s.mean, s.samples.mean(0), atol=1e-6)
    np.testing.assert_allclose(s.std, s.samples.std(0), atol=1e-6)
    same = s.samples.max(0) == s.samples.min(0)
    assert np.all(s.std[same] == 0)
    # The same seed gives the same samples; another seed others.
    again = sample_prediction(net, image, TILES48, samples=8, rng=1)
    np.testing.assert_array_equal(again.samples, s.samples)
    other = sample_prediction(net, image, TILES48, samples=8, rng=2)
    assert not np.array_equal(other.samples, s.samples)
    # Where every draw agrees the std is exactly 0: z cut off from the head, all draws equal.
    with torch.no_grad():
        net.head.z.weight.zero_()
    flat = sample_prediction(net, image, TILES48, samples=8, rng=1)
    assert np.all(flat.std == 0) and np.all(flat.samples == flat.samples[0])
    # predict_image gives the mean output (no error, same shape), in [0, 1].
    p = predict_image(net, image, InferenceConfig(tile_px=32, overlap_px=8))
    assert p.shape == (70, 70) and 0 <= p.min() <= p.max() <= 1


def test_sampling_refuses_deterministic_runs_and_wrong_channels():
    unet = build_model("unet", {"depth": 2, "width": 4}).eval()
    with pytest.raises(InputError, match="this run is not probabilistic"):
        sample_prediction(unet, np.zeros((32, 32)))
    image = np.random.default_rng(0).random((40, 33))
    f = flip_samples(unet, image, InferenceConfig(tile_px=32, overlap_px=8))
    assert f.kind == "flips" and f.samples.shape == (4, 40, 33)
    net = build_model("prob_unet", {"depth": 2, "width": 4}).eval()
    with pytest.raises(InputError, match="takes 1 image channel"):
        sample_prediction(net, np.zeros((32, 32, 3)))
    with pytest.raises(InputError, match="takes no clicks"):
        from segtrain import Click

        sample_prediction(net, np.zeros((32, 32)), clicks=[Click(1, 1)])
