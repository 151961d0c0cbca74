"""Every registered model maps (B, 1, H, W) to logits of the same size, any H, W."""

import pytest
import torch

from segtrain import build_model, model_names

TINY = {
    "unet": {"depth": 2, "width": 4},
    "attention_res_unet": {"depth": 2, "width": 4},
    "efficientnet_unet": {"depth": 2, "width": 4, "repeats": 1},
    "patch_cnn": {"width": 4, "fc": 8},
    "prob_unet": {"depth": 2, "width": 4},
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_shapes(name):
    net = build_model(name, TINY[name]).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 1, 37, 50))
    assert out.shape == (2, 1, 37, 50)


def test_registry_lists_names():
    assert set(model_names()) == set(TINY)
    with pytest.raises(ValueError, match="unet, attention_res_unet"):
        build_model("resnet")
    with pytest.raises(ValueError, match="bad model_params"):
        build_model("unet", {"depht": 3})
