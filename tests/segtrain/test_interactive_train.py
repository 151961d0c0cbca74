"""Interactive training: the simulated feedback of a batch, checkpoints that say they are
interactive, and (slow) a trained network that follows a click."""

import json

import numpy as np
import pytest
import torch

from segtrain import (
    Click,
    ClickConfig,
    DataSource,
    InferenceConfig,
    RefineConfig,
    Run,
    TrainConfig,
    build_model,
    load_run,
    predict_folder,
    refine,
    train,
)
from segtrain.inference._clicks import click_settings, mark_interactive
from segtrain.io import load_checkpoint, read_run_config, write_run_config
from segtrain.training._data import Batch
from segtrain.training._feedback import add_feedback
from shapelib import InputError

from ._tiny import disks, write_pairs


@pytest.fixture(autouse=True)
def one_thread():
    from segtrain.inference._device import torch_threads

    with torch_threads(1):
        yield


def _batch(n=4, size=48):
    ims, ms = zip(*(disks(size, 2, rng=i) for i in range(n)), strict=True)
    image = torch.from_numpy(np.stack([(im - 100) / 400 for im in ims]).astype(np.float32))
    mask = torch.from_numpy((np.stack(ms) > 0).astype(np.float32))
    return Batch(image=image[:, None], mask=mask[:, None])


def _net():
    net = build_model("unet", {"depth": 2, "width": 4, "in_channels": 4})
    return mark_interactive(net, ClickConfig(radius_px=4))


def test_feedback_fills_the_click_and_previous_mask_channels():
    batch, net, dev = _batch(), _net(), torch.device("cpu")
    none = add_feedback(net, batch, ClickConfig(zero_click_p=1.0), rng=0, device=dev, amp=False)
    assert none.image.shape == (4, 4, 48, 48) and float(none.image[:, 1:].abs().sum()) == 0
    torch.testing.assert_close(none.image[:, :1], batch.image)
    one = ClickConfig(radius_px=4, zero_click_p=0.0, max_clicks=1, iterative_clicks=0)
    out = add_feedback(net, batch, one, rng=0, device=dev, amp=False)
    disk_px = 49  # pixels of a radius-4 disk (4 x 4 + 1: the integer points y^2 + x^2 <= 16)
    for b in range(4):
        drawn = out.image[b, 1:3].sum().item()
        assert 0 < drawn <= disk_px  # exactly one click (a disk, cut by the border)
        truth = batch.mask[b, 0] > 0.5
        pos = out.image[b, 1] > 0
        if pos.any():  # a positive click sits on the object
            assert truth[pos].float().mean() > 0.3
    # The previous mask is the network's zero-click prediction, the same for the same seed.
    assert float(out.image[:, 3].std()) > 0
    again = add_feedback(net, batch, one, rng=0, device=dev, amp=False)
    torch.testing.assert_close(again.image, out.image)
    many = ClickConfig(radius_px=4, zero_click_p=0.0, max_clicks=6, iterative_clicks=3)
    net.train()
    out = add_feedback(net, batch, many, rng=1, device=dev, amp=False)
    assert net.training and out.image.shape == (4, 4, 48, 48)  # the mode is given back


def _cfg(data, run, **kw):
    base = dict(
        train=[DataSource(path=str(data))], run_dir=str(run), model="unet",
        model_params={"depth": 2, "width": 4}, patch_px=32, batch_size=2, val_patches=2,
        max_steps=3, val_every=3, amp=False, num_threads=1, interactive=True,
        clicks=ClickConfig(radius_px=5),
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def test_an_interactive_run_says_so_and_loading_checks_it(tmp_path):
    data = write_pairs(tmp_path / "data", n=2, size=48)
    run = train(_cfg(data, tmp_path / "run"))
    ck = load_checkpoint(run / "best.pt")
    assert ck["interactive"] is True and json.loads(ck["clicks_json"])["radius_px"] == 5
    net, cfg = load_run(run)
    assert cfg.input_channels == 4 and click_settings(net).radius_px == 5
    # Predicting with it means no clicks; refining takes them.
    opened = Run.open(run, InferenceConfig(tile_px=32, overlap_px=8))
    assert opened.clicks == click_settings(net) and opened.click_radius_px == 5
    out = predict_folder(opened, data / "images", tmp_path / "pred")
    assert len(list((out / "masks").iterdir())) == 2
    img = np.asarray(disks(48, 2, rng=0)[0], np.float32)
    r = opened.refine(img, [Click(5, 5, True)], options=RefineConfig(samples=1))
    assert r.mask[5, 5] == 1 and r.clicks == (Click(5, 5, True),)
    # A config.json that says otherwise: the folder mixes two runs.
    raw = read_run_config(run)
    write_run_config(run, {**raw, "interactive": False})
    with pytest.raises(InputError, match="is interactive but the run's config.json says"):
        load_run(run)
    write_run_config(run, {**raw, "clicks": {**raw["clicks"], "radius_px": 7}})
    with pytest.raises(InputError, match="trained with clicks"):
        load_run(run)
    write_run_config(run, raw)
    with pytest.raises(InputError, match=r"differs in \['clicks'\]"):
        train(_cfg(data, run, max_steps=4, clicks=ClickConfig(radius_px=9)), resume=True)
    # A non-interactive run is refused by refine with how to train one.
    plain = train(_cfg(data, tmp_path / "plain", interactive=False))
    net, _ = load_run(plain)
    assert click_settings(net) is None
    with pytest.raises(InputError, match="train --interactive"):
        refine(net, img, [Click(5, 5, True)])


@pytest.mark.slow
def test_a_trained_interactive_network_follows_a_positive_click(tmp_path):
    """The issue's toy case with a network that learned clicks: an object it misses (faint in
    the image) becomes object after one positive click."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    import tifffile

    for i in range(6):
        img, lab = disks(96, 4, rng=rng)
        faint = lab == 4  # one object per image hardly differs from the background
        img = np.where(faint, 140, img).astype(np.uint16)  # faint: 140 on 100 +- 40
        tifffile.imwrite(root / "images" / f"i{i}.tif", img)
        tifffile.imwrite(root / "masks" / f"i{i}.tif", (lab > 0).astype(np.uint8))
    cfg = _cfg(root, tmp_path / "run", model_params={"depth": 3, "width": 8}, patch_px=48,
               batch_size=8, max_steps=400, val_every=400, lr=3e-3,
               clicks=ClickConfig(radius_px=6, zero_click_p=0.2, iterative_clicks=1))  # fmt: skip
    net, _ = load_run(train(cfg), which="last")
    kw = dict(
        config=InferenceConfig(tile_px=96, overlap_px=0),
        options=RefineConfig(samples=1, enforce_px=0),
    )

    def iou(m, truth):
        return (m.astype(bool) & truth).sum() / (m.astype(bool) | truth).sum()

    gains, covered = [], []
    for seed in (123, 124, 125, 126):
        img, lab = disks(96, 4, rng=seed)
        faint, truth = lab == 4, lab > 0
        img = np.where(faint, 140, img).astype(np.uint16)
        first = refine(net, img, [], **kw)
        ys, xs = np.nonzero(faint)
        c = Click(int(np.median(ys)), int(np.median(xs)), True)
        after = refine(net, img, [c], first.probability, **kw)
        gains.append(iou(after.mask, truth) - iou(first.mask, truth))
        covered.append(after.mask[faint].mean() - first.mask[faint].mean())
    assert np.mean(covered) > 0.1 and np.mean(gains) > 0, (covered, gains)


@pytest.mark.parametrize("name", ["unet", "attention_res_unet", "efficientnet_unet", "prob_unet"])
def test_an_interactive_network_started_from_a_plain_one_predicts_as_it_does(name):
    """Zero weights for the click channels: with any clicks, at first the same output."""
    from segtrain.inference._clicks import load_plain_weights

    # width 8: at width 4 attention_res_unet's first block would switch from a 1x1 shortcut to
    # the identity when the input grows to 4 channels (another architecture, refused)
    tiny = {"depth": 2, "width": 8} | ({"repeats": 1} if name == "efficientnet_unet" else {})
    torch.manual_seed(0)
    plain = build_model(name, tiny).eval()
    inter = build_model(name, {**tiny, "in_channels": 4}).eval()
    widened = load_plain_weights(inter, plain.state_dict())
    new, old = inter.state_dict(), plain.state_dict()
    assert widened and all(new[k].shape[1] == old[k].shape[1] + 3 for k in widened)
    if name == "prob_unet":  # the posterior reads [image, clicks, mask]: the mask weights moved
        k = next(k for k in widened if k.startswith("posterior"))
        torch.testing.assert_close(new[k][:, 4], old[k][:, 1])
        assert not new[k][:, 1:4].any()
    x = torch.randn(1, 1, 32, 32)
    clicks = torch.rand(1, 3, 32, 32)  # any click disks and previous mask
    with torch.no_grad():
        torch.manual_seed(1)
        want = plain(x)
        torch.manual_seed(1)
        got = inter(torch.cat([x, clicks], 1))
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    with pytest.raises(InputError, match="interactive already"):
        load_plain_weights(inter, inter.state_dict())
    other = build_model(name, {**tiny, "width": 16})
    with pytest.raises(InputError, match="only the input layers may differ"):
        load_plain_weights(inter, other.state_dict())


def test_an_interactive_run_fine_tunes_a_plain_run(tmp_path, caplog):
    data = write_pairs(tmp_path / "data", n=2, size=48)
    plain = train(_cfg(data, tmp_path / "plain", interactive=False))
    with caplog.at_level("INFO", logger="segtrain"):
        run = train(_cfg(data, tmp_path / "ft", max_steps=1, val_every=1, init_from=str(plain)))
    assert "click channels of" in caplog.text and "start at zero" in caplog.text
    net, cfg = load_run(run)
    assert cfg.interactive and click_settings(net) is not None
    with pytest.raises(InputError, match="same model_params"):
        train(_cfg(data, tmp_path / "ft2", max_steps=1, model_params={"depth": 1, "width": 4},
                   init_from=str(plain)))  # fmt: skip


def test_an_interactive_run_starts_from_a_plain_one_by_default(tmp_path):
    from segtrain.workflows._train import plain_stage

    data = write_pairs(tmp_path / "data", n=2, size=48)
    seen = []
    cfg = _cfg(data, tmp_path / "run", max_steps=5, val_every=5)
    plain, inter = plain_stage(cfg)
    assert (plain.max_steps, inter.max_steps, plain.interactive) == (2, 3, False)
    assert inter.init_from == str(tmp_path / "run_plain") and plain.val_every == 2
    run = train(cfg, progress=lambda d, t: seen.append((d, t)))
    first = tmp_path / "run_plain"
    _, pcfg = load_run(first)
    _, icfg = load_run(run)
    assert pcfg.interactive is False and pcfg.max_steps == 2 and pcfg.input_channels == 1
    assert icfg.interactive is True and icfg.init_from == str(first) and icfg.max_steps == 3
    assert seen[-1] == (5, 5) and all(t == 5 for _, t in seen)
    assert load_checkpoint(run / "last.pt")["step"] == 3
    # The guard holds for both folders; resume keeps the finished plain stage.
    with pytest.raises(FileExistsError, match="--overwrite"):
        train(cfg)
    before = (first / "last.pt").stat().st_mtime_ns
    train(cfg.model_copy(update={"max_steps": 5}), resume=True)
    assert (first / "last.pt").stat().st_mtime_ns == before
    # plain_share 0, or an init_from: no plain stage.
    train(_cfg(data, tmp_path / "scratch", plain_share=0.0))
    assert not (tmp_path / "scratch_plain").exists()
    with pytest.raises(ValueError, match="max_steps >= 2"):
        train(_cfg(data, tmp_path / "one", max_steps=1))
