"""`mitoshape explain` and `mitoshape report` on a tiny run, and their one-line errors."""

import json

import numpy as np
import pytest
import tifffile
import torch

from shapelib.io import write_tiff
from tests.segtrain._tiny import disks, write_pairs


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from segtrain import DataSource, TrainConfig, train

    root = tmp_path_factory.mktemp("cli_explain")
    data = write_pairs(root / "train", n=3, size=48)
    cfg = TrainConfig(
        train=[DataSource(path=str(data))], run_dir=str(root / "run"), model="unet",
        model_params={"depth": 2, "width": 4}, patch_px=32, batch_size=4, max_steps=20,
        lr=2e-2, val_every=20, val_patches=2, amp=False,
    )  # fmt: skip
    run = train(cfg)
    img, lab = disks(48, 3, 7)
    write_tiff(root / "test" / "images" / "a.tif", img, pixel_size_nm=25)
    write_tiff(root / "test" / "masks" / "a.tif", (lab > 0).astype(np.uint8), pixel_size_nm=25)
    return run, root


def test_list_layers(tiny, invoke):
    run, _ = tiny
    r = invoke("explain", run, "--list-layers")
    assert r.exit_code == 0, r.stderr
    assert "unet:" in r.stdout and "* dec.1" in r.stdout and "* down.2" in r.stdout
    assert "  head" in r.stdout


def test_explain_and_report(tiny, invoke):
    run, root = tiny
    images = root / "test" / "images"
    out = root / "ex"
    r = invoke("explain", run, images, "-o", out, "--method", "hirescam", "--layer", "dec.1",
               "--tile-px", 64, "--overlap-px", 8)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "hirescam dec.1: deletion AUC" in r.stdout and "better than random on" in r.stdout
    heat = tifffile.imread(out / "heatmaps" / "hirescam" / "dec.1" / "a.tif")
    assert heat.dtype == np.float32 and heat.shape == (48, 48)
    meta = json.loads((out / "explain.json").read_text())
    assert meta["layers"] == ["dec.1"] and meta["methods"] == ["hirescam"]
    r = invoke("explain", run, images, "-o", out, "--tile-px", 64, "--overlap-px", 8)
    assert r.exit_code == 2 and "pass --overwrite" in r.stderr
    rep = root / "rep"
    r = invoke("report", run, images, "-o", rep, "--gt", root / "test" / "masks",
               "--pixel-size-nm", 25, "--tile-px", 64, "--overlap-px", 8)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "1 images" in r.stdout and "relative error" in r.stdout
    assert (rep / "figures" / "a.png").is_file() and (rep / "summary.png").is_file()


def test_one_line_errors(tiny, invoke, tmp_path):
    run, root = tiny
    images = root / "test" / "images"
    r = invoke("explain", run, images, "-o", tmp_path / "e1", "--layer", "decoder")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    assert "layer 'decoder' is not a layer of UNet; valid layers: down.0" in r.stderr
    r = invoke("explain", run, images, "-o", tmp_path / "e2", "--object", 99, "--tile-px", 64,
               "--overlap-px", 8)  # fmt: skip
    assert r.exit_code == 2 and "object 99 is not in the predicted mask" in r.stderr
    r = invoke("explain", run, images, "-o", tmp_path / "e3", "--method", "lime")
    assert r.exit_code == 2 and "choose from: gradcam, hirescam" in r.stderr
    rgb = tmp_path / "rgb"
    rgb.mkdir()
    tifffile.imwrite(rgb / "c.tif", np.zeros((3, 32, 32), np.uint16), photometric="minisblack")
    r = invoke("explain", run, rgb, "-o", tmp_path / "e4")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    assert "3 channel(s)), but the run's UNet takes 1 image channel(s)" in r.stderr
    r = invoke("explain", run)
    assert r.exit_code == 2 and "explain needs IMAGES and -o OUT" in r.stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    tifffile.imwrite(plain / "p.tif", np.zeros((32, 32), np.uint16))
    r = invoke("report", run, plain, "-o", tmp_path / "r1")
    assert r.exit_code == 2 and "needs a pixel size (--pixel-size-nm N)" in r.stderr
    r = invoke("report", run, images, "-o", tmp_path / "r2", "--gt", plain)
    assert r.exit_code == 2 and "no true mask in" in r.stderr
