"""What one command writes, the next reads right: scales in TIFFs, masks of any foreground
value, overwrite without stale files, meta.json's axis order, border-cut instances."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tifffile

from tests.cli._world import tiny_volume
from tests.segtrain._tiny import write_pairs
from tests.simulator._shapes import capsule, sphere, write_library

FAST = ("--points", "500", "--occupancy-points", "500", "--workers", "1")


@pytest.mark.parametrize("value", [2, 65535, 255, 1])
def test_a_two_valued_mask_is_binary_whatever_its_foreground_value(tmp_path, invoke, value):
    data = write_pairs(tmp_path / "d", n=2, size=48)  # three disks per image, masks 0/1
    gt = tmp_path / "gt"
    gt.mkdir()
    for p in (data / "masks").iterdir():
        tifffile.imwrite(gt / p.name, (tifffile.imread(p) > 0).astype(np.uint16) * value)
    r = invoke("evaluate", "--pred", data / "masks", "--gt", gt, "-o", tmp_path / "m.csv")
    assert r.exit_code == 0, r.stderr
    table = pd.read_csv(tmp_path / "m.csv")
    assert (table["dice"] == 1).all() and (table["f1_50"] == 1).all()  # 3 objects, not 1


def _library(tmp_path):
    return write_library(
        tmp_path / "lib", {1: (capsule(800.0, 200.0), "rod"), 2: (sphere(300), "dot")}
    )


def test_dataset_overwrite_with_fewer_images_leaves_no_stale_image(tmp_path, invoke):
    lib = _library(tmp_path)
    out = tmp_path / "ds"
    args = ["dataset", lib, "-o", out, "--size", 32, "--objects", "1", "--workers", 1]
    assert invoke(*args, "--n", 3).exit_code == 0
    (out / "notes.txt").write_text("the user's")
    r = invoke(*args, "--n", 1, "--overwrite")
    assert r.exit_code == 0, r.stderr
    listed = [e["name"] for e in json.loads((out / "dataset.json").read_text())["images"]]
    for sub in ("images", "masks", "instances"):
        assert sorted(p.name for p in (out / sub).iterdir()) == listed == ["img_000000.tif"]
    assert (out / "notes.txt").read_text() == "the user's"


def test_quantify_reads_the_pixel_size_that_dataset_wrote(tmp_path, invoke):
    lib = _library(tmp_path)
    out = tmp_path / "ds"
    r = invoke("dataset", lib, "-o", out, "--size", 32, "--n", 2, "--objects", "1", "--workers", 1)
    assert r.exit_code == 0, r.stderr
    r = invoke("quantify", out / "masks", "-o", tmp_path / "q.csv")
    assert r.exit_code == 0, r.stderr
    px = json.loads((out / "dataset.json").read_text())["pixel_size_nm"]
    objects = pd.read_csv(tmp_path / "q.csv")
    mask = tifffile.imread(out / "masks" / "img_000000.tif")
    first = objects[objects["image"] == "img_000000"]
    assert first["area_um2"].sum() == pytest.approx(mask.sum() * px**2 / 1e6, rel=1e-6)


def test_quantify_3d_reads_the_voxel_size_that_phantom_wrote(tmp_path, invoke):
    r = invoke("phantom", "-o", tmp_path / "v" / "vol.tif", "--objects", 2,
               "--touching-pairs", 0, "--voxel-size-nm", 25)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    (tmp_path / "v" / "vol.objects.json").unlink()  # only the volume in the folder
    r = invoke("quantify", tmp_path / "v", "-o", tmp_path / "q3.csv", "--3d")
    assert r.exit_code == 0, r.stderr
    vol = tifffile.imread(tmp_path / "v" / "vol.tif")
    table = pd.read_csv(tmp_path / "q3.csv")
    assert table["voxel_volume_um3"].sum() == pytest.approx((vol > 0).sum() * 25**3 / 1e9)


def test_meta_json_names_its_axis_order_and_agrees_with_the_table(tmp_path, invoke):
    from shapelib.io import write_volume

    tif = write_volume(tmp_path / "vol.tif", tiny_volume(), voxel_size_nm=(24, 12, 12))
    r = invoke("extract", tif, "-o", tmp_path / "lib", *FAST)
    assert r.exit_code == 0, r.stderr
    table = pd.read_csv(tmp_path / "lib" / "library.csv", dtype={"folder": str})
    for row in table.itertuples():
        meta = json.loads((tmp_path / "lib" / row.folder / "meta.json").read_text())
        assert meta["axis_order"]["centroid_nm"] == "x, y, z"
        assert meta["axis_order"]["bbox"].startswith("z0")
        x, y, z = meta["measurements"]["centroid_nm"]
        assert (z, y, x) == pytest.approx(
            (row.centroid_z_nm, row.centroid_y_nm, row.centroid_x_nm), abs=1e-2
        )


def test_exclude_border_and_the_warning_when_most_touch_it(tmp_path, invoke, caplog):
    from shapelib.io import write_volume

    vol = np.zeros((12, 30, 60), np.uint8)
    vol[0:6, 5:12, 5:40] = 1  # touches z = 0
    vol[4:10, 18:26, 10:50] = 1  # inside
    vol[3:9, 14:18, 52:60] = 1  # touches x = end
    tif = write_volume(tmp_path / "vol.tif", vol, voxel_size_nm=10)
    with caplog.at_level("WARNING"):
        r = invoke("extract", tif, "-o", tmp_path / "all", *FAST)
    assert r.exit_code == 0 and "wrote 3 instances" in r.stdout
    assert "2 of 3 instances touch the border" in caplog.text and "--exclude-border" in caplog.text
    r = invoke("extract", tif, "-o", tmp_path / "inner", "--exclude-border", *FAST)
    assert r.exit_code == 0 and "wrote 1 instances" in r.stdout, r.stderr
    assert pd.read_csv(tmp_path / "inner" / "library.csv")["touches_border"].tolist() == [False]


def test_extract_overwrite_keeps_the_users_folders_and_files(tmp_path, invoke):
    from shapelib.io import write_volume

    tif = write_volume(tmp_path / "vol.tif", tiny_volume(), voxel_size_nm=12)
    lib = tmp_path / "lib"
    assert invoke("extract", tif, "-o", lib, *FAST).exit_code == 0
    (lib / "2024").mkdir()
    (lib / "2024" / "notes.txt").write_text("mine")
    (lib / "000001" / "annotation.txt").write_text("mine too")
    r = invoke("extract", tif, "-o", lib, *FAST, "--seed", 5, "--overwrite")
    assert r.exit_code == 0, r.stderr
    assert (lib / "2024" / "notes.txt").read_text() == "mine"
    assert (lib / "000001" / "annotation.txt").read_text() == "mine too"
    assert json.loads((lib / "library.json").read_text())["run"]["seed"] == 5


def test_predict_writes_nothing_when_one_input_is_bad(tmp_path, invoke):
    from segtrain import TrainConfig, train

    data = write_pairs(tmp_path / "d", n=2, size=32)
    run = train(TrainConfig(train=[{"path": str(data)}], run_dir=str(tmp_path / "run"),
                            model_params={"depth": 2, "width": 4}, patch_px=32, batch_size=2,
                            max_steps=1, val_every=1, val_patches=2, amp=False))  # fmt: skip
    tifffile.imwrite(data / "images" / "im01.tif", np.full((32, 32), np.nan, np.float32))
    r = invoke("predict", run, data, "-o", tmp_path / "pred")
    assert r.exit_code == 2 and "NaN" in r.stderr
    assert not (tmp_path / "pred").exists()
