"""`phantom` and `extract` as OME-Zarr: the label volume (uint32 ids under labels/instances,
the foreground as the image) with its scale, read back by ome-zarr-py."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tifffile

from shapelib.io import write_volume

pytest.importorskip("ome_zarr", reason="ome-zarr (ome-zarr-py) is not installed")

FAST = ("--points", "500", "--occupancy-points", "500", "--workers", "1")


def _read(store):
    """(image node, label node) of a store, as ome-zarr-py reads it."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    image, _labels_group, label = Reader(parse_url(str(store)))()
    assert [type(s).__name__ for s in label.specs] == ["Label", "Multiscales"]
    assert "color" in label.metadata  # image-label colours, one per id
    return image, label


def _scale_um(node) -> list[float]:
    return node.metadata["coordinateTransformations"][0][0]["scale"]


@pytest.mark.parametrize("fmt", [None, "ome-zarr-0.5"])
def test_phantom_writes_its_label_volume_as_ome_zarr(tmp_path, invoke, fmt):
    args = ["--objects", 2, "--touching-pairs", 0, "--seed", 3, "--voxel-size-nm", 40]
    r = invoke("phantom", "-o", tmp_path / "p.tif", *args)
    assert r.exit_code == 0, r.stderr
    store = tmp_path / "zarr" / "p.ome.zarr"
    r = invoke("phantom", "-o", store, *args, *(["--format", fmt] if fmt else []))
    assert r.exit_code == 0, r.stderr
    truth = json.loads((tmp_path / "zarr" / "p.objects.json").read_text())
    want = tifffile.imread(tmp_path / "p.tif")
    image, label = _read(store)
    assert [a["unit"] for a in image.metadata["axes"]] == ["micrometer"] * 3
    assert _scale_um(image) == pytest.approx([0.04, 0.04, 0.04])
    assert _scale_um(label) == pytest.approx([0.04, 0.04, 0.04])
    ids = np.asarray(label.data[0])
    assert ids.dtype == np.uint32
    np.testing.assert_array_equal(ids, want)  # the same phantom as the TIFF, id for id
    assert set(np.unique(ids)) - {0} == {o["id"] for o in truth["objects"]}
    np.testing.assert_array_equal(np.asarray(image.data[0]), (want > 0).astype(np.uint8))


def test_phantom_refuses_a_store_name_for_tiff_and_a_tiff_name_for_a_store(tmp_path, invoke):
    r = invoke("phantom", "-o", tmp_path / "p.tif", "--format", "ome-zarr", "--objects", 2)
    assert r.exit_code == 2 and "NAME.ome.zarr" in r.stderr
    (tmp_path / "x.ome.zarr").mkdir()
    (tmp_path / "x.ome.zarr" / "mine.txt").write_text("keep")
    r = invoke("phantom", "-o", tmp_path / "x.ome.zarr", "--objects", 2, "--overwrite")
    assert r.exit_code == 2 and "not a Zarr store" in r.stderr
    assert (tmp_path / "x.ome.zarr" / "mine.txt").read_text() == "keep"
    assert not (tmp_path / "p.tif").exists() and not (tmp_path / "x.objects.json").exists()


def test_extract_writes_the_instance_label_volume_beside_the_library(tmp_path, invoke):
    vol = np.zeros((16, 30, 40), np.uint8)
    vol[3:11, 4:12, 4:34] = 1  # a rod
    vol[4:10, 18:26, 10:18] = 1  # a blob
    tif = write_volume(tmp_path / "v.tif", vol, voxel_size_nm=(20, 10, 10))
    lib = tmp_path / "lib"
    r = invoke("extract", tif, "-o", lib, *FAST, "--erode-radius-vox", 0, "--format", "ome-zarr")
    assert r.exit_code == 0, r.stderr
    image, label = _read(lib / "instances.ome.zarr")
    assert _scale_um(label) == pytest.approx([0.02, 0.01, 0.01])
    ids = np.asarray(label.data[0])
    assert ids.dtype == np.uint32 and ids.shape == vol.shape
    table = pd.read_csv(lib / "library.csv")
    assert sorted(set(np.unique(ids)) - {0}) == sorted(table["id"])
    np.testing.assert_array_equal(ids > 0, vol > 0)
    # Each object's voxels carry its library id: the id whose row has that voxel count.
    for row in table.itertuples():
        assert int((ids == row.id).sum()) == row.voxel_count
    manifest = (lib / ".mitoshape-manifest.jsonl").read_text()
    assert '"instances.ome.zarr"' in manifest  # --overwrite removes it with the library
    # Another volume (or other settings) would paint ids that are not the library's: refused.
    from shapelib import ExtractParams, InputError, write_library_labels

    other = write_volume(tmp_path / "o.tif", vol[:, :, :20], voxel_size_nm=(20, 10, 10))
    with pytest.raises(InputError, match="was not extracted from"):
        write_library_labels(other, lib, extract=ExtractParams(erode_radius_vox=0))


def test_extract_refuses_a_store_of_a_volume_read_by_blocks(tmp_path, invoke):
    vol = np.zeros((8, 20, 20), np.uint8)
    vol[2:6, 4:12, 4:12] = 1
    tif = write_volume(tmp_path / "v.tif", vol, voxel_size_nm=10)
    r = invoke("extract", tif, "-o", tmp_path / "lib", *FAST, "--chunked", "--format", "ome-zarr")
    assert r.exit_code == 2 and "--in-memory" in r.stderr, r.stderr
    assert not (tmp_path / "lib" / "instances.ome.zarr").exists()
