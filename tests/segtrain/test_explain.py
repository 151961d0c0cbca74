"""Grad-CAM and HiResCAM: a known answer, captum's numbers, tiling, layers and bad input."""

import numpy as np
import pytest
import torch
from torch import nn

from segtrain import (
    InferenceConfig,
    build_model,
    cam_batch,
    cam_tiled,
    default_layers,
    explain_image,
    list_layers,
    predict_image,
)
from segtrain.explain._explain import prepare_input, target_mask, tiled_probability
from shapelib import InputError


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """One torch thread: on a shared 2-core machine two threads of tiny ops spin-wait (30x)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


class QuadrantNet(nn.Module):
    """Looks only at the top-left quadrant: features of the masked input, pooled over the whole
    map, give one logit broadcast to every pixel. The evidence lies in that quadrant alone."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.ReLU())
        self.head = nn.Linear(4, 1)
        with torch.no_grad():
            self.features[0].weight.copy_(torch.rand(4, 1, 3, 3))
            self.head.weight.fill_(1.0)
            self.head.bias.fill_(0.1)

    def forward(self, x):
        h, w = x.shape[-2:]
        q = torch.zeros_like(x)
        q[..., : h // 2, : w // 2] = 1
        a = self.features(x * q)
        logit = self.head(a.mean(dim=(2, 3)))
        return logit[:, :, None, None].expand(-1, 1, h, w)


@pytest.mark.parametrize("method", ["gradcam", "hirescam"])
def test_heatmap_mass_lies_in_the_quadrant_the_model_looks_at(method):
    torch.manual_seed(0)
    net = QuadrantNet().eval()
    image = np.random.default_rng(0).random((64, 64)) + 0.5
    tiles = InferenceConfig(tile_px=64, overlap_px=0)
    ex = explain_image(net, image, tiles, layer="features", methods=(method,))
    assert ex.mask.all()  # the whole image is foreground, but only one quadrant is evidence
    heat = ex.heatmaps[method]
    in_quadrant = heat[:32, :32].sum() / heat.sum()
    assert heat.sum() > 0 and in_quadrant > 0.95
    assert heat[34:, :].max() == 0 and heat[:, 34:].max() == 0


def test_a_model_may_name_its_default_layers():
    net = QuadrantNet().eval()
    assert default_layers(net) == ["features"]  # the last layer with several channels
    net.explain_layers = ("features.0",)
    assert default_layers(net) == ["features.0"]


def _captum_setup():
    captum = pytest.importorskip("captum.attr", reason="captum (dev dependency) is not installed")
    torch.manual_seed(0)
    net = build_model("unet", {"depth": 2, "width": 4}).eval()
    x = torch.randn(2, 1, 64, 64)
    w = (torch.rand(2, 1, 64, 64) > 0.5).float()
    return captum, net, x, w, lambda t: (net(t) * w).sum(dim=(1, 2, 3))


@pytest.mark.parametrize("layer", ["dec.1", "dec.0", "down.2"])
def test_gradcam_equals_captum(layer):
    captum, net, x, w, score = _captum_setup()
    module = dict(net.named_modules())[layer]
    gc = captum.LayerGradCam(score, module)
    # At the layer's own resolution (captum's relu_attributions=True) ...
    ref = gc.attribute(x, relu_attributions=True).detach()[:, 0]
    mine = cam_batch(net, x, w, layer=layer, upsample=False)
    assert ref.abs().max() > 0
    torch.testing.assert_close(mine, ref, rtol=1e-5, atol=1e-7 * float(ref.abs().max()))
    # ... and on the input grid: interpolated bilinearly before the ReLU.
    raw = gc.attribute(x).detach()
    up = torch.relu(captum.LayerAttribution.interpolate(raw, (64, 64), "bilinear"))[:, 0]
    torch.testing.assert_close(cam_batch(net, x, w, layer=layer), up, rtol=1e-5, atol=1e-9)


def test_hirescam_equals_captum_gradient_times_activation():
    captum, net, x, w, score = _captum_setup()
    module = dict(net.named_modules())["dec.1"]
    ref = torch.relu(captum.LayerGradientXActivation(score, module).attribute(x).detach().sum(1))
    mine = cam_batch(net, x, w, layer="dec.1", method="hirescam", upsample=False)
    torch.testing.assert_close(mine, ref, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("layer", ["dec.0", "down.1"])
def test_tiled_explanation_equals_untiled_away_from_borders(layer):
    torch.manual_seed(1)
    net = build_model("unet", {"depth": 1, "width": 4}).eval()
    x = np.random.default_rng(0).random((1, 112, 128)).astype(np.float32)
    target = np.zeros((112, 128), bool)
    target[20:90, 30:110] = True
    tiles = InferenceConfig(tile_px=96, overlap_px=48)
    tiled = cam_tiled(net, x, target, tiles, layer=layer, methods=("gradcam", "hirescam"))
    t = torch.from_numpy(target.astype(np.float32))[None, None]
    for method in ("gradcam", "hirescam"):
        whole = cam_batch(net, torch.from_numpy(x)[None], t, layer=layer, method=method)[0]
        whole = whole.numpy()
        assert (whole > 0).mean() > 0.1  # a map with something in it
        b = 16
        np.testing.assert_allclose(
            tiled[method][b:-b, b:-b], whole[b:-b, b:-b], atol=1e-4 * whole.max()
        )


def test_tiled_probability_is_predict_image():
    torch.manual_seed(0)
    net = build_model("unet", {"depth": 2, "width": 4}).eval()
    x = np.random.default_rng(3).random((90, 70)).astype(np.float32)
    tiles = InferenceConfig(tile_px=48, overlap_px=16)
    p = tiled_probability(net, x[None], tiles)
    np.testing.assert_array_equal(p, predict_image(net, x, tiles, normalize=None))


TINY = {
    "unet": ({"depth": 3, "width": 4}, ["dec.2", "down.3"]),
    "attention_res_unet": ({"depth": 3, "width": 4}, ["dec.2", "down.3"]),
    "efficientnet_unet": ({"depth": 2, "width": 4, "repeats": 1}, ["dec.1", "stages.1"]),
    "patch_cnn": ({"width": 4, "fc": 8}, ["fc"]),
    # Grad-CAM of the mean output (forward averages fixed latent draws); its own defaults.
    "prob_unet": ({"depth": 3, "width": 4}, ["dec.2", "down.3"]),
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_default_layers_are_decoder_and_bottleneck_and_explain(name):
    params, expected = TINY[name]
    net = build_model(name, params).eval()
    assert default_layers(net) == expected
    info = {i.name: i for i in list_layers(net)}
    if len(expected) == 2:
        assert info[expected[0]].stride == 1 and info[expected[1]].stride == 2 ** params["depth"]
    x = torch.randn(1, 1, 40, 36)
    for layer in expected:
        for method in ("gradcam", "hirescam"):
            cam = cam_batch(net, x, torch.ones(1, 1, 40, 36), layer=layer, method=method)
            assert cam.shape == (1, 40, 36) and torch.isfinite(cam).all()


def test_a_layer_that_does_not_exist_lists_the_valid_ones():
    net = build_model("unet", {"depth": 2, "width": 4}).eval()
    x, w = torch.randn(1, 1, 32, 32), torch.ones(1, 1, 32, 32)
    with pytest.raises(InputError, match=r"'dec\.9' is not a layer of UNet; valid .*dec\.1.*"):
        cam_batch(net, x, w, layer="dec.9")
    # A module that runs several times (the shared pooling) is not explainable.
    with pytest.raises(InputError, match="'pool' gives no single"):
        cam_batch(net, x, w, layer="pool")
    with pytest.raises(InputError, match="unknown method 'gradcam\\+\\+'"):
        cam_batch(net, x, w, layer="dec.1", method="gradcam++")


def test_an_object_not_in_the_mask():
    mask = np.zeros((20, 20), bool)
    mask[2:5, 2:5] = mask[10:15, 10:15] = True
    assert target_mask(mask, 2).sum() == 25
    with pytest.raises(InputError, match=r"object 3 is not in the predicted mask of a\.tif "
                       r"\(objects 1\.\.2"):  # fmt: skip
        target_mask(mask, 3, where="a.tif")


class NoGradNet(nn.Module):
    """A model that computes its logits under no_grad (as a sampling model might)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.head = nn.Conv2d(2, 1, 1)

    def forward(self, x):
        with torch.no_grad():
            return self.head(self.conv(x))


def test_a_model_without_gradients_is_one_clear_error():
    net = NoGradNet().eval()
    with pytest.raises(InputError, match="NoGradNet cannot give gradients at layer 'conv'"):
        image = np.random.default_rng(0).random((16, 16))
        explain_image(net, image, InferenceConfig(tile_px=16, overlap_px=0), layer="conv")


def test_images_of_another_channel_count():
    net = build_model("unet", {"depth": 1, "width": 2}).eval()
    with pytest.raises(InputError, match=r"shape \(3, 16, 16\) \(3 channel\(s\)\).*takes 1 image"):
        prepare_input(net, np.zeros((3, 16, 16)), where="rgb.tif")
    two = build_model("unet", {"depth": 1, "width": 2, "in_channels": 2}).eval()
    with pytest.raises(InputError, match=r"takes 2 image channel\(s\): pass \(2, Y, X\)"):
        prepare_input(two, np.zeros((16, 16)))
    image = np.random.default_rng(0).random((2, 24, 24))
    ex = explain_image(two, image, InferenceConfig(tile_px=24, overlap_px=0))
    assert ex.input.shape == (2, 24, 24) and ex.heatmaps["gradcam"].shape == (24, 24)


def test_an_interactive_prob_unet_is_explained_on_its_mean_output_without_clicks():
    from segtrain import ClickConfig, explain_image
    from segtrain.inference._clicks import mark_interactive

    net = build_model("prob_unet", {"depth": 2, "width": 4, "in_channels": 4}).eval()
    mark_interactive(net, ClickConfig())
    img = np.random.default_rng(1).random((48, 40))
    tiles = InferenceConfig(tile_px=48, overlap_px=8)
    ex = explain_image(net, img, tiles, methods=("gradcam", "hirescam"))
    assert ex.layer == "dec.1" and ex.input.shape == (4, 48, 40)
    assert np.all(ex.input[1:] == 0)  # no clicks, no previous mask
    assert ex.heatmaps["gradcam"].shape == (48, 40)
    assert all(np.isfinite(h).all() for h in ex.heatmaps.values())
    with pytest.raises(InputError, match="takes 1 input channel|takes 1 image channel"):
        explain_image(net, np.zeros((2, 48, 40)))
