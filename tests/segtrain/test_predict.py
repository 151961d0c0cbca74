"""Tiled prediction equals whole-image prediction away from the borders."""

import numpy as np
import torch

from segtrain import InferenceConfig, blend_window, build_model, predict_image


def test_tiles_equal_whole_image():
    torch.manual_seed(0)
    net = build_model("unet", {"depth": 1, "width": 4}).eval()
    x = np.random.default_rng(0).random((150, 170)).astype(np.float32)
    tiled = predict_image(net, x, InferenceConfig(tile_px=96, overlap_px=48), normalize=None)
    with torch.no_grad():
        whole = torch.sigmoid(net(torch.from_numpy(x)[None, None]))[0, 0].numpy()
    np.testing.assert_allclose(tiled[16:-16, 16:-16], whole[16:-16, 16:-16], atol=1e-4)


def test_window_covers_and_tta_shape():
    w = blend_window(32, 16)
    assert w.max() == 1 and w[0, 0] < 1e-5
    net = build_model("patch_cnn", {"width": 2, "fc": 4}).eval()
    image = np.random.default_rng(1).random((40, 30))
    p = predict_image(net, image, InferenceConfig(tile_px=32, overlap_px=8, tta=True))
    assert p.shape == (40, 30) and p.min() >= 0 and p.max() <= 1


def test_stack_slice_by_slice():
    from segtrain import predict_stack

    net = build_model("unet", {"depth": 1, "width": 2}).eval()
    vol = np.random.default_rng(2).random((3, 40, 36)).astype(np.float32)
    tiles = InferenceConfig(tile_px=32, overlap_px=8)
    p = predict_stack(net, vol, tiles)
    assert p.shape == vol.shape
    np.testing.assert_allclose(p[1], predict_image(net, vol[1], tiles))


def test_tta_modes_are_exact_symmetries():
    torch.manual_seed(1)
    net = build_model("unet", {"depth": 2, "width": 4}).eval()
    # A 16 px square in one 32 px tile is padded alike on every side: transforms commute.
    x = np.random.default_rng(3).random((16, 16)).astype(np.float32)
    tiles = InferenceConfig(tile_px=32, overlap_px=8)

    def predict(image, tta="none"):
        return predict_image(net, image, tiles.replace(tta=tta), normalize=None)

    flips = predict(x, "flips")
    np.testing.assert_allclose(predict(x[::-1].copy(), "flips")[::-1], flips, atol=1e-5)
    d4 = predict(x, "d4")
    np.testing.assert_allclose(predict(x.T.copy(), "d4").T, d4, atol=1e-5)
    np.testing.assert_allclose(predict(x, True), flips)
    assert np.abs(d4 - predict(x)).max() > 1e-4  # TTA does change the output
    import pytest

    with pytest.raises(ValueError, match="'none', 'flips' or 'd4'"):
        tiles.replace(tta="rot45")


def test_multichannel_and_2p5d_stack():
    from segtrain import predict_stack, stack_context

    net = build_model("unet", {"depth": 1, "width": 2, "in_channels": 3}).eval()
    vol = np.random.default_rng(4).random((4, 24, 20)).astype(np.float32)
    tiles = InferenceConfig(tile_px=16, overlap_px=4)
    p = predict_stack(net, vol, tiles, context=1)
    assert p.shape == vol.shape
    ctx = stack_context(vol, 0, 1)
    np.testing.assert_array_equal(ctx[0], vol[0])  # the first slice stands in for z = -1
    np.testing.assert_allclose(p[0], predict_image(net, ctx, tiles))


def test_batched_tiles_equal_one_tile_at_a_time():
    from segtrain import predict_stack
    from segtrain.inference._predict import tiles_per_call

    torch.manual_seed(4)
    x = np.random.default_rng(4).random((70, 90)).astype(np.float32)
    cfg = InferenceConfig(tile_px=32, overlap_px=8)
    for name, params in (
        ("unet", {"depth": 2, "width": 4}),
        ("prob_unet", {"depth": 2, "width": 4}),
    ):
        net = build_model(name, params).eval()
        for tta in ("none", "d4"):
            c = cfg.replace(tta=tta)
            one = predict_image(net, x, c, batch_size=1)
            many = predict_image(net, x, c)  # every tile and view in one forward call
            np.testing.assert_allclose(many, one, atol=1e-5)
    assert tiles_per_call(cfg) == 2**22 // 32**2 and tiles_per_call(cfg.replace(batch_px=1)) == 1
    assert tiles_per_call(cfg, 8) == 2**22 // (8 * 32**2)
    # A stack: the tiles of several slices share calls, as one slice at a time.
    vol = np.random.default_rng(5).random((5, 40, 36)).astype(np.float32)
    together = predict_stack(net, vol, cfg)
    alone = predict_stack(net, vol, cfg.replace(batch_px=32 * 32))  # one tile per call
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(together[3], predict_image(net, vol[3], cfg), atol=1e-5)


def test_a_folder_predicts_on_every_core(tmp_path, monkeypatch):
    from segtrain import DataSource, Run, TrainConfig, predict_folder
    from segtrain.inference import _device

    from ._tiny import write_pairs

    data = write_pairs(tmp_path / "d", n=1, size=40)
    net = build_model("unet", {"depth": 1, "width": 2})
    seen = []
    net.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
    cfg = TrainConfig(train=[DataSource(path=str(data))], amp=False)
    tiles = InferenceConfig(tile_px=32, overlap_px=8)
    monkeypatch.setattr(_device, "all_cores", lambda: 3)
    predict_folder(Run.from_model(net, cfg, tiles), data / "images", tmp_path / "p")
    assert seen and set(seen) == {3}  # threads None: every core of the process
    seen.clear()
    predict_folder(Run.from_model(net, cfg, tiles.replace(threads=1)), data / "images",
                   tmp_path / "q")  # fmt: skip
    assert set(seen) == {1}  # --threads wins
    assert torch.get_num_threads() != 3  # restored after
