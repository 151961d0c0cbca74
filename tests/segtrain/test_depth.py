"""XM-DL's model shape: attention_res_unet six levels deep on 256 px patches, shapes at every
depth, and a depth the patch cannot support refused when the config is made."""

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from segtrain import (
    DataSource,
    InferenceConfig,
    TrainConfig,
    build_model,
    load_run,
    predict_image,
    train,
)
from tests.segtrain._tiny import write_pairs


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("name", ["attention_res_unet", "unet"])
@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5, 6])
def test_shapes_at_every_depth_on_256_px(name, depth):
    net = build_model(name, {"depth": depth, "width": 2})
    shapes = {}
    for i, block in enumerate(net.down):
        block.register_forward_hook(lambda m, a, out, i=i: shapes.__setitem__(i, out.shape))
    out = net(torch.randn(2, 1, 256, 256))
    assert out.shape == (2, 1, 256, 256)
    assert [shapes[i][-1] for i in range(depth + 1)] == [256 // 2**i for i in range(depth + 1)]
    assert shapes[depth][1] == 2 * 2**depth  # width doubles per level
    out.mean().backward()  # trains: gradients reach the first layer
    first = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    assert first.weight.grad.abs().sum() > 0


def test_depth_six_trains_and_predicts_on_256_px_patches(tmp_path):
    data = write_pairs(tmp_path / "d", n=2, size=256)
    cfg = TrainConfig(
        train=[DataSource(path=str(data))],
        run_dir=str(tmp_path / "run"),
        model="attention_res_unet",
        model_params={"depth": 6, "width": 2},
        patch_px=256,
        batch_size=2,
        max_steps=2,
        val_every=2,
        val_patches=2,
        amp=False,
    )
    run = train(cfg)
    net, _ = load_run(run)
    image = np.random.default_rng(0).random((300, 260))
    prob = predict_image(net, image, InferenceConfig(tile_px=256))
    assert prob.shape == (300, 260) and np.isfinite(prob).all()


def test_a_depth_the_patch_cannot_support_is_refused_at_config_time():
    src = [DataSource(path="data")]
    with pytest.raises(ValidationError, match="patches must be >= 128 px"):
        TrainConfig(train=src, model="attention_res_unet", model_params={"depth": 6}, patch_px=64)
    with pytest.raises(ValidationError, match="patch_px 16 is too small for unet"):
        TrainConfig(train=src, model="unet", patch_px=16)  # default depth 4 needs 32
    assert TrainConfig(train=src, model="patch_cnn", model_params={}, patch_px=16).patch_px == 16
