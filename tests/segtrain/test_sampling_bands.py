"""Sampling a large image band by band (`blend_tile_rows`, ``keep_samples=False``): the same
mean and std as the whole stack of K maps, in a fraction of the memory."""

import tracemalloc

import numpy as np
import pytest
import torch

from segtrain import InferenceConfig, build_model
from segtrain.inference._sampling import samples_of_input, summarize_samples
from segtrain.inference._tiles import blend_tile_rows, blend_tiles, blend_tiles_many

TILES = InferenceConfig(tile_px=48, overlap_px=16)


@pytest.fixture(autouse=True)
def one_thread():
    from segtrain.inference._device import torch_threads

    with torch_threads(1):
        yield


def _net():
    torch.manual_seed(0)
    return build_model("prob_unet", {"depth": 2, "width": 4}).eval()


def _fake(batch):
    """K = 3 maps per tile that depend on the tile's content (so the tiles disagree)."""
    m = batch.mean(1)
    return np.stack([np.tanh(m) * 0.5 + 0.5, m**2 % 1, (m * 7) % 1]).astype(np.float32)


def test_bands_cover_the_image_in_order_and_equal_the_whole_blend():
    x = np.random.default_rng(0).random((2, 131, 97), dtype=np.float32)
    bands = list(blend_tile_rows(x, 48, 16, _fake, batch_size=3))
    assert len(bands) > 2  # several bands: the band logic ran
    rows = [r for r, _ in bands]
    heights = [b.shape[1] for _, b in bands]
    assert rows == list(np.cumsum([0, *heights[:-1]])) and sum(heights) == 131
    whole = blend_tiles_many([x], 48, 16, _fake, batch_size=3)[0]  # the blend of all at once
    np.testing.assert_array_equal(np.concatenate([b for _, b in bands], 1), whole)
    np.testing.assert_array_equal(blend_tiles(x, 48, 16, _fake, batch_size=3), whole)


def test_mean_and_std_without_the_samples_equal_those_of_the_stack():
    net = _net()
    x = np.random.default_rng(1).random((1, 150, 130), dtype=np.float32)
    kept = samples_of_input(net, x, TILES, samples=6, rng=3)
    lean = samples_of_input(net, x, TILES, samples=6, rng=3, keep_samples=False)
    assert lean.samples is None and kept.samples.shape == (6, 150, 130)
    assert float(kept.std.max()) > 1e-4  # the draws differ: the std is not trivially 0
    np.testing.assert_array_equal(lean.mean, kept.mean)
    np.testing.assert_array_equal(lean.std, kept.std)
    # and the old computation: the K maps blended at once, then summarised
    from segtrain.inference._sampling import _probabilities, draw_eps

    eps = draw_eps(net, 6, 3)

    def tiles(batch):
        with torch.no_grad():
            return _probabilities(net, torch.from_numpy(batch), eps, "latent", False).numpy()

    old = summarize_samples(blend_tiles_many([x], 48, 16, tiles, batch_size=4)[0], "latent")
    np.testing.assert_allclose(lean.mean, old.mean, atol=1e-5)
    np.testing.assert_allclose(lean.std, old.std, atol=1e-5)


def test_sampling_without_the_samples_never_holds_the_k_maps():
    net = _net()
    k, shape = 16, (960, 320)
    x = np.random.default_rng(2).random((1, *shape), dtype=np.float32)
    stack_bytes = k * shape[0] * shape[1] * 4
    samples_of_input(net, x, TILES, samples=k, rng=0, keep_samples=False)  # warm up

    def peak_bytes(keep: bool) -> int:
        tracemalloc.start()
        try:
            samples_of_input(net, x, TILES, samples=k, rng=0, keep_samples=keep)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    lean, kept = peak_bytes(False), peak_bytes(True)
    assert kept > stack_bytes  # the K maps held at once
    assert lean < stack_bytes / 2, (lean, stack_bytes)


def test_head_samples_in_chunks_equal_one_pass():
    net = _net()
    x = torch.from_numpy(np.random.default_rng(4).random((4, 1, 32, 32), dtype=np.float32))
    eps = torch.randn(5, net.params.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        feats = net.features(x)
        mu, logvar = net.prior(x)
        z = mu[None] + torch.exp(0.5 * logvar)[None] * eps[:, None, :]
        chunked = net.head.samples(feats, z)  # one sample at a time for 4 images
        one = net.head.samples(feats, z, chunk=20)  # every pair in one pass
    assert chunked.shape == (5, 4, 1, 32, 32)
    torch.testing.assert_close(chunked, one, atol=1e-5, rtol=1e-5)
