"""Folder workflows: predictions keep the input's pixel size, each input folder is read once."""

import numpy as np
import pytest
import tifffile

from segtrain import (
    InferenceConfig,
    Run,
    predict_folder,
    quantify_folder,
)
from shapelib import InputError
from shapelib.io import read_tiff, write_tiff

from ._tiny import disks, train_tiny_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("wf"))


def test_predict_then_quantify_needs_no_pixel_size(tmp_path, run):
    (tmp_path / "images").mkdir()
    for i in range(2):
        write_tiff(tmp_path / "images" / f"a{i}.tif", disks(32, 2, i)[0], pixel_size_nm=7.5)
    calls = []
    out = predict_folder(
        Run.open(run, InferenceConfig(tile_px=32, overlap_px=8)),
        tmp_path,
        tmp_path / "pred",
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(1, 2), (2, 2)]
    for sub in ("masks", "probabilities"):
        assert read_tiff(out / sub / "a0.tif").pixel_size_nm == pytest.approx((7.5, 7.5))
    # The masks carry 7.5 nm: quantify reads it (image area = 32 x 32 pixels of 7.5 nm).
    res = quantify_folder(out / "masks")
    assert list(res.per_image["image"]) == ["a0", "a1"]
    np.testing.assert_allclose(res.per_image["image_area_um2"], 32 * 32 * 0.0075**2)
    given = quantify_folder(out / "masks", pixel_size_nm=15).per_image["image_area_um2"]
    np.testing.assert_allclose(given, 4 * 32 * 32 * 0.0075**2)


def test_quantify_names_the_file_without_a_scale(tmp_path):
    (tmp_path / "m").mkdir()
    write_tiff(tmp_path / "m" / "ok.tif", np.eye(8, dtype=np.uint8), pixel_size_nm=5)
    tifffile.imwrite(tmp_path / "m" / "bare.tif", np.eye(8, dtype=np.uint8))
    with pytest.raises(InputError, match="bare.tif carries no pixel size"):
        quantify_folder(tmp_path / "m")
    write_tiff(tmp_path / "m" / "bare.tif", np.eye(8, dtype=np.uint8), pixel_size_nm=(5, 6))
    with pytest.raises(InputError, match="non-square"):
        quantify_folder(tmp_path / "m")


def test_quantify_3d_takes_the_voxel_size_from_the_tiff(tmp_path):
    v = np.zeros((6, 10, 10), np.uint8)
    v[1:5, 2:6, 2:8] = 1
    write_tiff(tmp_path / "v.tif", v, pixel_size_nm=10, z_step_nm=20)
    t = quantify_folder(tmp_path / "v.tif", three_d=True).objects
    assert t["voxel_volume_um3"].item() == pytest.approx(96 * 10 * 10 * 20 * 1e-9)
