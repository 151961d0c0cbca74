"""Reading label volumes: every format, its voxel-size metadata, and each bad input."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from shapelib import InputError
from shapelib.io import read_volume


@pytest.fixture
def labels():
    lab = np.zeros((6, 7, 8), np.uint16)
    lab[1:4, 2:5, 3:7] = 3
    return lab


def test_tiff_imagej_spacing_and_resolution(tmp_path, labels):
    import tifffile

    path = tmp_path / "a.tif"
    # ImageJ: x/y from the resolution tags (pixels per unit), z from "spacing", unit micron
    tifffile.imwrite(
        path, labels, imagej=True, resolution=(1 / 0.008, 1 / 0.006),
        metadata={"spacing": 0.03, "unit": "micron", "axes": "ZYX"},
    )  # fmt: skip
    vol = read_volume(path)
    np.testing.assert_allclose(vol.voxel_size_nm, (30, 6, 8), rtol=1e-5)
    np.testing.assert_array_equal(vol.data, labels)
    assert vol.source == str(path)


def test_tiff_ome_physical_size(tmp_path, labels):
    import tifffile

    path = tmp_path / "a.ome.tif"
    tifffile.imwrite(
        path, labels, ome=True,
        metadata={"axes": "ZYX", "PhysicalSizeX": 0.005, "PhysicalSizeY": 0.005,
                  "PhysicalSizeZ": 0.04, "PhysicalSizeXUnit": "µm"},
    )  # fmt: skip
    vol = read_volume(path)
    np.testing.assert_allclose(vol.voxel_size_nm, (40, 5, 5), rtol=1e-5)


def test_plain_tiff_needs_the_voxel_size(tmp_path, labels):
    import tifffile

    path = tmp_path / "plain.tif"
    tifffile.imwrite(path, labels)
    with pytest.raises(ValueError, match="voxel-size-nm"):
        read_volume(path)
    assert read_volume(path, voxel_size_nm="30,5,5").voxel_size_nm == (30.0, 5.0, 5.0)


def test_argument_overrides_metadata_with_a_warning(tmp_path, labels, caplog):
    import h5py

    path = tmp_path / "a.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("seg/labels", data=labels).attrs["element_size_um"] = (0.03, 0.005, 0.005)
    assert read_volume(f"{path}:/seg/labels").voxel_size_nm == pytest.approx((30, 5, 5))
    with caplog.at_level(logging.WARNING):
        vol = read_volume(f"{path}:/seg/labels", voxel_size_nm=8)
    assert vol.voxel_size_nm == (8.0, 8.0, 8.0)
    assert "overrides" in caplog.text
    assert vol.source == f"{path}:/seg/labels"


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"voxel_size_nm": [40, 8, 8]}, (40, 8, 8)),
        ({"resolution": [40, 4, 4]}, (40, 4, 4)),
        ({"voxel_size": [0.03, 0.01, 0.01], "unit": "um"}, (30, 10, 10)),
    ],
)
def test_hdf5_attributes(tmp_path, labels, attrs, expected):
    import h5py

    path = tmp_path / "b.hdf5"
    with h5py.File(path, "w") as f:
        d = f.create_dataset("volumes/labels", data=labels, chunks=(2, 7, 8))
        for k, v in attrs.items():
            d.attrs[k] = v
    vol = read_volume(f"{path}:volumes/labels")
    assert vol.voxel_size_nm == pytest.approx(expected)
    np.testing.assert_array_equal(vol.data, labels)


def test_hdf5_missing_dataset_lists_what_exists(tmp_path, labels):
    import h5py

    path = tmp_path / "c.h5"
    with h5py.File(path, "w") as f:
        f["raw"] = labels
        f["seg/mito"] = labels
    with pytest.raises(InputError, match="/raw, /seg/mito"):
        read_volume(f"{path}:/seg/nope", voxel_size_nm=8)
    with pytest.raises(ValueError, match="say which one"):
        read_volume(path, voxel_size_nm=8)


def test_zarr_ome_ngff_scale(tmp_path, labels):
    import zarr

    path = tmp_path / "d.zarr"
    root = zarr.open_group(str(path), mode="w")
    root.create_array("0", data=labels, chunks=(2, 7, 8))
    root.attrs["multiscales"] = [
        {
            "version": "0.4",
            "axes": [
                {"name": "z", "type": "space", "unit": "micrometer"},
                {"name": "y", "type": "space", "unit": "micrometer"},
                {"name": "x", "type": "space", "unit": "micrometer"},
            ],
            "datasets": [
                {"path": "0", "coordinateTransformations": [
                    {"type": "scale", "scale": [0.024, 0.008, 0.008]}]}
            ],
        }
    ]  # fmt: skip
    vol = read_volume(path)
    assert vol.voxel_size_nm == pytest.approx((24, 8, 8))
    np.testing.assert_array_equal(vol.data, labels)


def test_zarr_array_with_attrs(tmp_path, labels):
    import zarr

    path = tmp_path / "e.zarr"
    arr = zarr.open_array(str(path), mode="w", shape=labels.shape, dtype=labels.dtype)
    arr[...] = labels
    arr.attrs["voxel_size_nm"] = [30, 6, 6]
    assert read_volume(path).voxel_size_nm == (30.0, 6.0, 6.0)


def test_zarr_missing_array_lists_what_exists(tmp_path, labels):
    import zarr

    path = tmp_path / "g.zarr"
    root = zarr.open_group(str(path), mode="w")
    root.create_array("seg", data=labels)
    root.create_array("raw", data=labels)
    with pytest.raises(InputError, match=r"'nope' is not in Zarr group.*raw.*seg"):
        read_volume(f"{path}:nope", voxel_size_nm=8)


def test_npy_bool_and_float_mask(tmp_path, labels):
    path = tmp_path / "f.npy"
    np.save(path, labels.astype(np.float64) > 0)
    vol = read_volume(path, voxel_size_nm=5)
    assert vol.data.dtype == bool and vol.voxel_size_nm == (5.0, 5.0, 5.0)
    np.save(path, (labels > 0).astype(np.float32))
    assert read_volume(path, voxel_size_nm=5).data.sum() == (labels > 0).sum()


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros((7, 8), np.uint8), "3D array"),
        (np.zeros((2, 3, 7, 8), np.uint8), "3D array"),
        (np.linspace(0, 1, 6 * 7 * 8).reshape(6, 7, 8), "0/1 mask"),
    ],
)
def test_bad_arrays(tmp_path, array, match):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(ValueError, match=match):
        read_volume(path, voxel_size_nm=8)


@pytest.mark.parametrize("size", [0, -1, float("nan"), "a,b,c", (1, 2)])
def test_bad_voxel_size(tmp_path, labels, size):
    path = tmp_path / "g.npy"
    np.save(path, labels)
    with pytest.raises(ValueError, match="voxel_size_nm"):
        read_volume(path, voxel_size_nm=size)


@pytest.mark.parametrize("name", ["h.tif", "h.h5", "h.npy"])
def test_corrupt_files(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\x00\x01 this is not a volume" * 10)
    with pytest.raises(ValueError, match="could not"):
        read_volume(path, voxel_size_nm=8)


def test_missing_and_unknown(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_volume(tmp_path / "nope.tif", voxel_size_nm=8)
    with pytest.raises(FileNotFoundError):
        read_volume(f"{tmp_path / 'nope.h5'}:/x", voxel_size_nm=8)
    (tmp_path / "x.png").write_bytes(b"")
    with pytest.raises(ValueError, match="unknown volume format"):
        read_volume(tmp_path / "x.png", voxel_size_nm=8)


def test_lucchi_volume_reads(shared_data):
    vol = read_volume(shared_data / "lucchi_pp" / "test_labels_3d.tif", voxel_size_nm=5)
    assert vol.data.shape == (165, 768, 1024) and vol.data.dtype == np.uint8
    assert vol.voxel_size_nm == (5.0, 5.0, 5.0)
