"""Prediction at the training pixel size: `predict_image(zoom=...)` on a network with a known
minimum object size, the training pixel size in ``split.json``, and `predict_folder(resample=)`
with its errors and its warning."""

import logging

import numpy as np
import pytest
import torch

from segtrain import (
    DataSource,
    InferenceConfig,
    Run,
    TrainConfig,
    predict_folder,
    predict_image,
    read_split,
    resample_zoom,
    train,
)
from shapelib import InputError
from shapelib.io import read_tiff, write_tiff

from ._tiny import disks

TILES = InferenceConfig(tile_px=32, overlap_px=8)


def _predict(run_dir, images, out, *, threshold=0.5, **kw):
    """`predict_folder` with the run opened on 32 px tiles."""
    return predict_folder(Run.open(run_dir, TILES.replace(threshold=threshold)), images, out, **kw)


class _BoxDetector(torch.nn.Module):
    """Foreground where the mean of a 9 x 9 box exceeds 0.5: a network that has learned that
    objects are at least about 9 px across (a disk of radius r px fills the box at its centre
    only when r >= 5)."""

    def forward(self, x):
        mean = torch.nn.functional.avg_pool2d(x[:, :1], 9, stride=1, padding=4,
                                              count_include_pad=False)  # fmt: skip
        return 40.0 * (mean - 0.5)


def _disk(size: int, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    c = (size - 1) / 2
    return ((yy - c) ** 2 + (xx - c) ** 2 <= r * r).astype(np.float32)


def test_zoom_brings_small_objects_to_the_size_the_network_knows():
    net = _BoxDetector().eval()
    disk = _disk(64, 3.0)  # 7 px across: too small for the 9 x 9 box
    kw = dict(config=InferenceConfig(tile_px=64, overlap_px=16), normalize=None)
    plain = predict_image(net, disk, **kw)
    assert plain.max() < 0.5  # missed at its own scale
    # Pixels of 48 nm for a network trained at 24 nm: zoom 2 makes the disk 13 px across.
    zoom = resample_zoom(48.0, 24.0)
    assert zoom == (2.0, 2.0)
    prob = predict_image(net, disk, zoom=zoom, **kw)
    assert prob.shape == disk.shape and prob.dtype == np.float32
    found = prob >= 0.5
    iou = (found & (disk > 0)).sum() / (found | (disk > 0)).sum()
    assert iou > 0.5 and found[32, 32]  # found, and back at the image's own pixels
    # Shrinking (zoom 0.5) a disk that is found at its own scale loses it.
    big = _disk(64, 6.0)  # 13 px across; 6 px at zoom 0.5
    assert predict_image(net, big, **kw)[32, 32] > 0.5
    assert predict_image(net, big, zoom=0.5, **kw)[32, 32] < 0.5


def test_zoom_is_identity_on_smooth_images_for_a_pointwise_network():
    net = torch.nn.Conv2d(1, 1, 1).eval()
    with torch.no_grad():
        net.weight.fill_(4.0)
        net.bias.fill_(-2.0)
    yy, xx = np.mgrid[:90, :70] / 90.0
    image = (0.5 + 0.4 * np.sin(3 * yy) * np.cos(2 * xx)).astype(np.float32)
    kw = dict(config=TILES, normalize=None)
    ref = predict_image(net, image, **kw)
    for zoom in (0.6, 1.7, (0.8, 1.3)):
        np.testing.assert_allclose(predict_image(net, image, zoom=zoom, **kw), ref, atol=0.02)


def test_zoom_and_pixel_sizes_are_checked():
    net = torch.nn.Conv2d(1, 1, 1).eval()
    with pytest.raises(InputError, match="zoom"):
        predict_image(net, np.zeros((8, 8)), InferenceConfig(tile_px=16, overlap_px=0), zoom=0)
    with pytest.raises(InputError, match="positive"):
        resample_zoom(-1.0, 5.0)
    assert resample_zoom((10.0, 20.0), 5.0) == (2.0, 4.0)


def _write_images(folder, n, size, pixel_size_nm, masks=True):
    (folder / "images").mkdir(parents=True)
    if masks:
        (folder / "masks").mkdir()
    for i in range(n):
        img, lab = disks(size, 3, i)
        write_tiff(folder / "images" / f"im{i}.tif", img, pixel_size_nm=pixel_size_nm)
        if masks:
            m = (lab > 0).astype(np.uint8)
            write_tiff(folder / "masks" / f"im{i}.tif", m, pixel_size_nm=pixel_size_nm)
    return folder


def _train(root, pixel_size_nm, model="unet"):
    data = _write_images(root / "d", 2, 32, pixel_size_nm)
    cfg = TrainConfig(
        train=[DataSource(path=str(data))], run_dir=str(root / "run"), model=model,
        model_params={"depth": 1, "width": 2}, patch_px=32, batch_size=2, max_steps=2,
        val_every=2, val_patches=2, amp=False,
    )  # fmt: skip
    return train(cfg)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("rs"), 10.0)


def test_split_records_the_training_pixel_size(run, tmp_path):
    split = read_split(run)
    assert split["pixel_size_nm"] == [10.0, 10.0]
    assert all(e["pixel_size_nm"] == [10.0, 10.0] for e in split["training"])
    # Images without a pixel size (plain TIFFs): the run's size is unknown.
    import tifffile

    (tmp_path / "d" / "images").mkdir(parents=True)
    (tmp_path / "d" / "masks").mkdir()
    for i in range(2):
        img, lab = disks(32, 3, i)
        tifffile.imwrite(tmp_path / "d" / "images" / f"im{i}.tif", img)
        tifffile.imwrite(tmp_path / "d" / "masks" / f"im{i}.tif", (lab > 0).astype(np.uint8))
    cfg = TrainConfig(
        train=[DataSource(path=str(tmp_path / "d"))], run_dir=str(tmp_path / "run"),
        model_params={"depth": 1, "width": 2}, patch_px=32, batch_size=2, max_steps=1,
        val_every=1, val_patches=2, amp=False,
    )  # fmt: skip
    assert read_split(train(cfg))["pixel_size_nm"] is None


def test_predict_folder_resamples_to_the_training_pixel_size(run, tmp_path):
    from segtrain import load_run

    inp = _write_images(tmp_path / "in", 1, 40, 5.0, masks=False)
    out = _predict(run, inp, tmp_path / "pred", resample=True)
    prob = read_tiff(out / "probabilities" / "im0.tif")
    assert prob.data.shape == (40, 40) and prob.pixel_size_nm == pytest.approx((5.0, 5.0))
    # The same as predict_image with the zoom from the two pixel sizes (5 nm / 10 nm = 0.5).
    net, cfg = load_run(run)
    img = read_tiff(inp / "images" / "im0.tif").data
    norm = tuple(cfg.normalize_percentiles)
    want = predict_image(net, img, TILES, zoom=(0.5, 0.5), normalize=norm)
    np.testing.assert_allclose(prob.data, want, atol=1e-5)
    # Clean-up sizes are in training pixels: 40 px of 10 nm are 160 px of 5 nm.
    from segtrain import postprocess_mask

    t = float(np.median(prob.data))  # a speckled mask (two steps of training), half foreground
    sized = _predict(
        run, inp, tmp_path / "sized", resample=True, min_size_px=40, max_hole_px=8, threshold=t
    )
    want_mask = postprocess_mask(prob.data, threshold=t, min_size_px=160, max_hole_px=32)
    np.testing.assert_array_equal(read_tiff(sized / "masks" / "im0.tif").data, want_mask)
    unscaled = postprocess_mask(prob.data, threshold=t, min_size_px=40, max_hole_px=8)
    assert not np.array_equal(want_mask, unscaled)
    plain = _predict(run, inp, tmp_path / "plain")
    assert np.abs(read_tiff(plain / "probabilities" / "im0.tif").data - want).max() > 1e-5
    # --pixel-size-nm overrides the file's (10 nm: the run's own, so no resampling at all).
    given = _predict(run, inp, tmp_path / "given", resample=True, pixel_size_nm=10.0)
    np.testing.assert_allclose(
        read_tiff(given / "probabilities" / "im0.tif").data,
        read_tiff(plain / "probabilities" / "im0.tif").data,
        atol=1e-6,
    )


def test_resample_errors_and_warning(run, tmp_path, caplog):
    import tifffile

    bare = tmp_path / "bare"
    bare.mkdir()
    tifffile.imwrite(bare / "a.tif", disks(32, 2, 0)[0])  # no pixel size
    with pytest.raises(InputError, match="pixel-size-nm"):
        _predict(run, bare, tmp_path / "p1", resample=True)
    assert not (tmp_path / "p1").exists()  # refused before anything was written
    with pytest.raises(InputError, match="pixel_size_nm must be finite and > 0"):
        _predict(run, bare, tmp_path / "p2", pixel_size_nm=-3)
    # A 72 dpi TIFF (352778 nm pixels) against 10 nm: refused, not resampled 35000x.
    dpi = tmp_path / "dpi"
    dpi.mkdir()
    tifffile.imwrite(dpi / "a.tif", disks(32, 2, 0)[0], resolution=(72, 72), resolutionunit=2)
    with pytest.raises(InputError, match=r"352778 nm pixels .*\(more than 16x\)"):
        _predict(run, dpi, tmp_path / "p3", resample=True)
    assert not (tmp_path / "p3").exists()
    far = _write_images(tmp_path / "far", 2, 32, 30.0, masks=False)
    with caplog.at_level(logging.WARNING, logger="segtrain"):
        _predict(run, far, tmp_path / "p4")
    warned = [r.getMessage() for r in caplog.records if "resampl" in r.getMessage()]
    assert len(warned) == 1 and "2 of 2 images" in warned[0] and "10 nm" in warned[0]
    caplog.clear()
    near = _write_images(tmp_path / "near", 1, 32, 11.0, masks=False)
    with caplog.at_level(logging.WARNING, logger="segtrain"):
        _predict(run, near, tmp_path / "p5")
    assert not [r for r in caplog.records if "resampl" in r.getMessage()]


def test_a_zoom_too_large_for_memory_is_refused_before_allocating():
    net = _BoxDetector().eval()  # 64 px x 1e5 per side: 3e14 bytes, more than any machine's half
    with pytest.raises(InputError, match="the resampled image would need"):
        predict_image(net, np.zeros((64, 64), np.float32), TILES, zoom=1e5)


def test_resample_needs_a_run_that_knows_its_pixel_size(tmp_path):
    import shutil

    run = _train(tmp_path / "r", 10.0)
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(run / "best.pt", lone / "best.pt")  # a checkpoint without its split.json
    inp = _write_images(tmp_path / "in", 1, 32, 5.0, masks=False)
    with pytest.raises(InputError, match="training images"):
        _predict(lone / "best.pt", inp, tmp_path / "p", resample=True)


def test_bench_reports_outputs_at_the_training_pixel_size(tmp_path):
    from segtrain import BenchConfig, run_bench

    real = _write_images(tmp_path / "real", 2, 32, 10.0)
    same = _write_images(tmp_path / "same", 2, 32, 10.0)
    fine = _write_images(tmp_path / "fine", 2, 48, 5.0)
    cfg = BenchConfig(
        models={"unet": {"depth": 1, "width": 2}}, real=[{"path": str(real)}],
        test_sets={"same": str(same), "fine": str(fine)}, seeds=[0],
        train={"max_steps": 2, "val_every": 2, "patch_px": 32, "batch_size": 2, "amp": False,
               "val_patches": 2, "num_threads": 1},
        tile_px=32, overlap_px=8, resample=True, save_predictions="none",
    )  # fmt: skip
    table = run_bench(cfg, tmp_path / "out").set_index(["test_set", "output"])
    assert set(table.index.get_level_values("output")) == {"plain", "plain+clean",
                                                           "plain@train_px"}  # fmt: skip
    # Test images at the training pixel size: resampling is the identity, the scores agree.
    assert table.loc[("same", "plain@train_px"), "iou_mean"] == pytest.approx(
        table.loc[("same", "plain"), "iou_mean"]
    )
    assert ("fine", "plain@train_px") in table.index  # (predict_folder's test: the zoom)


def test_samples_are_resampled_back_to_the_input_pixels(tmp_path):
    from segtrain import unzoom_probabilities, zoom_planes

    run_dir = _train(tmp_path / "r", 10.0, model="prob_unet")
    inp = _write_images(tmp_path / "in", 1, 40, 5.0, masks=False)
    out = _predict(run_dir, inp, tmp_path / "pred", resample=True, samples=4)
    prob = read_tiff(out / "probabilities" / "im0.tif")
    std = read_tiff(out / "uncertainty" / "im0.tif")
    assert prob.data.shape == std.data.shape == (40, 40)
    assert prob.pixel_size_nm == pytest.approx((5.0, 5.0))
    # The samples of the image zoomed by 0.5 (two samplers, one seed: the same draws), each
    # mapped back: the written mean is their mean, the uncertainty their std.
    img = read_tiff(inp / "images" / "im0.tif").data
    run = Run.open(run_dir, TILES)
    seed = np.random.SeedSequence(0).spawn(1)[0]  # predict_folder's draws of its first image
    small = run.sample(zoom_planes(img, (0.5, 0.5)), samples=4, rng=seed)
    assert small.mean.shape == (20, 20)
    s = run.sample(img, samples=4, rng=seed, zoom=(0.5, 0.5))
    suggestions = run.segment(img, samples=4, rng=seed, zoom=(0.5, 0.5)).suggestions
    back = unzoom_probabilities(small.samples, (40, 40))
    np.testing.assert_array_equal(s.samples, back)
    np.testing.assert_allclose(prob.data, back.mean(0), atol=1e-6)
    np.testing.assert_allclose(std.data, back.std(0), atol=1e-6)
    assert all(0 <= g.row < 40 and 0 <= g.col < 40 for g in suggestions)


def test_images_outside_what_a_run_was_trained_for_are_said(caplog):
    from segtrain.inference._zoom import image_zooms

    sizes = {"near.tif": (90.0, 90.0), "far.tif": (170.0, 170.0), "fine.tif": (38.0, 38.0)}
    with caplog.at_level(logging.WARNING, logger="segtrain"):
        zooms = image_zooms((80.0, 80.0), sizes, resample=True)
    assert zooms["far.tif"] == pytest.approx((170 / 80, 170 / 80))
    said = [r.getMessage() for r in caplog.records if "outside what the run" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("2 of 3 images")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="segtrain"):
        image_zooms((80.0, 80.0), {"a.tif": (45.0, 45.0), "b.tif": (150.0, 150.0)}, resample=True)
    assert not [r for r in caplog.records if "outside what the run" in r.getMessage()]
