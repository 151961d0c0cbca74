"""`mitoshape fit-scenes | sim2real | models` and `dataset --scene-config` of a fitted scene,
on tiny real-like folders: the path works, and each bad real folder is one line, nothing
written."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from shapelib.io import write_tiff
from simulator import EPI1, Acquisition, CellSceneConfig, TubuleConfig, render_cell_scene

MIC = EPI1.model_copy(update={"optics": EPI1.optics.model_copy(update={"pixel_size_nm": 80.0})})
SCENE = CellSceneConfig(
    acquisition=Acquisition(size_px=96), randomize=None, empty_fraction=0.0, cells=(2, 2),
    cell_radius_um=(8.0, 9.0), focal_height_nm=(700.0, 700.0),
    tubules=TubuleConfig(density_um_per_um2=(1.0, 1.0)),
)  # fmt: skip


def _real_folder(path, n=4, *, eight_bit=True):
    """Rendered scenes standing in for real images: 8-bit PNGs (no pixel size), like the
    H9c2 tiles, or 16-bit TIFFs with their pixel size."""
    path.mkdir(parents=True)
    for k in range(n):
        x = render_cell_scene([], MIC, SCENE, rng=k).image.astype(float)
        if eight_bit:
            y = np.round((x - x.min()) / np.ptp(x) * 250).astype(np.uint8)
            Image.fromarray(np.stack([y] * 3, -1)).save(path / f"tile_{k}.png")  # grey RGB
        else:
            write_tiff(path / f"tile_{k}.tif", x.astype(np.uint16), pixel_size_nm=80.0)
    return path


def test_fit_scenes_writes_a_scene_that_dataset_renders(invoke, tmp_path):
    real = _real_folder(tmp_path / "real")
    out = tmp_path / "fit" / "scene.yaml"
    r = invoke("fit-scenes", real, "-o", out, "--pixel-size-nm", 80, "--rounds", 1,
               "--images-per-round", 2)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    for suffix in ("_stats.csv", "_summary.csv", "_rounds.csv", ".png"):
        assert (tmp_path / "fit" / f"scene{suffix}").is_file()
    import pandas as pd

    stats = pd.read_csv(tmp_path / "fit" / "scene_stats.csv")
    assert set(stats["set"]) == {"real", "synthetic"} and (stats["set"] == "real").sum() == 4
    # the 8-bit real images set an 8-bit export; the fitted microscope renders the set
    ds = tmp_path / "ds"
    r = invoke("dataset", "-o", ds, "--scene-config", out, "--n", 2, "--size", 64, "--workers", 1)
    assert r.exit_code == 0, r.stderr
    img = tifffile.imread(ds / "images" / "img_000000.tif")
    assert img.dtype == np.uint8 and img.shape == (64, 64)
    meta = json.loads((ds / "dataset.json").read_text())
    assert meta["scene"]["kind"] == "cell" and meta["scene"]["export"]["mode"] == "stretch8"
    assert meta["pixel_size_nm"] == pytest.approx(80.0)


@pytest.mark.parametrize(
    "case, fix",
    [
        ("no_pixel_size", "--pixel-size-nm"),
        ("mixed_depths", "bit depths"),
        ("colour", "colour"),
        ("background_only", "no mitochondria"),
        ("empty_folder", "no images"),
    ],
)
def test_bad_real_folders_are_one_line_and_write_nothing(invoke, tmp_path, case, fix):
    real = tmp_path / "real"
    args = ["--pixel-size-nm", 80]
    if case == "no_pixel_size":
        _real_folder(real, 2)
        args = []
    elif case == "mixed_depths":
        _real_folder(real, 2)
        tifffile.imwrite(real / "deep.tif", np.zeros((32, 32), np.uint16))
    elif case == "colour":
        real.mkdir()
        rgb = np.zeros((32, 32, 3), np.uint8)
        rgb[..., 0] = 200
        Image.fromarray(rgb).save(real / "colour.png")
    elif case == "background_only":
        real.mkdir()
        rng = np.random.default_rng(0)
        for k in range(2):
            Image.fromarray(rng.poisson(20, (96, 96)).astype(np.uint8)).save(real / f"n{k}.png")
    else:
        real.mkdir()
    out = tmp_path / "fit" / "scene.yaml"
    r = invoke("fit-scenes", real, "-o", out, "--rounds", 1, "--images-per-round", 2, *args)
    assert r.exit_code == 2 and fix in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "fit").exists() or not any((tmp_path / "fit").iterdir())


def test_models_lists_what_ships(invoke):
    r = invoke("models")
    assert r.exit_code == 0, r.stderr
    from segtrain import shipped_models

    for name in shipped_models():
        assert name in r.stdout


@pytest.mark.slow
def test_sim2real_runs_the_whole_path(invoke, tmp_path):
    real = _real_folder(tmp_path / "real", 3, eight_bit=False)
    out = tmp_path / "s2r"
    r = invoke("sim2real", real, "-o", out, "--n", 8, "--max-steps", 3, "--workers", 1)
    assert r.exit_code == 0, r.stderr
    page = (out / "index.html").read_text()
    assert "ROC AUC" in page and "predictions_00.png" in page
    for sub in ("fit/scene.yaml", "dataset/dataset.json", "run/best.pt", "realism/realism.json"):
        assert (out / sub).is_file(), sub
    assert len(list((out / "predictions" / "masks").iterdir())) == 3
