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


# -- open_volume: the same volume, read lazily ---------------------------------------------------
def _stores(tmp_path, labels):
    """The same labels as Zarr v2 and v3 (with a leading axis of 1), HDF5, TIFF and .npy."""
    import h5py
    import tifffile
    import zarr

    paths = {}
    a = zarr.open_array(str(tmp_path / "v2.zarr"), mode="w", shape=labels.shape,
                        dtype=labels.dtype, chunks=(2, 3, 4), zarr_format=2)  # fmt: skip
    a[...] = labels
    a.attrs["voxel_size_nm"] = [30, 6, 6]
    paths["zarr2"] = tmp_path / "v2.zarr"
    root = zarr.open_group(str(tmp_path / "v3.zarr"), mode="w")
    arr = root.create_array("0", shape=(1, *labels.shape), dtype=labels.dtype, chunks=(1, 2, 3, 4))
    arr[...] = labels[None]
    root.attrs["multiscales"] = [{"version": "0.4", "datasets": [{"path": "0",
        "coordinateTransformations": [{"type": "scale", "scale": [1, 0.03, 0.006, 0.006]}]}],
        "axes": [{"name": "c", "type": "channel"}] + [
            {"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"]}]  # fmt: skip
    paths["ngff"] = tmp_path / "v3.zarr"
    with h5py.File(tmp_path / "a.h5", "w") as f:
        d = f.create_dataset("seg/x", data=labels, chunks=(2, 3, 4))
        d.attrs["element_size_um"] = [0.03, 0.006, 0.006]
    paths["hdf5"] = f"{tmp_path / 'a.h5'}:/seg/x"
    tifffile.imwrite(tmp_path / "a.tif", labels, imagej=True, resolution=(1 / 0.006, 1 / 0.006),
                     metadata={"spacing": 0.03, "unit": "micron", "axes": "ZYX"})  # fmt: skip
    paths["tiff"] = tmp_path / "a.tif"
    np.save(tmp_path / "a.npy", labels.astype(np.int32))
    paths["npy"] = tmp_path / "a.npy"
    return paths


@pytest.mark.parametrize("fmt", ["zarr2", "ngff", "hdf5", "tiff", "npy"])
def test_open_volume_reads_lazily_what_read_volume_reads(tmp_path, labels, fmt):
    import pickle

    from shapelib.io import LazyVolume, open_volume

    labels = labels.copy()
    labels[5, 6, 7] = 9
    spec = _stores(tmp_path, labels)[fmt]
    kw = {"voxel_size_nm": 5} if fmt == "npy" else {}
    lazy, whole = open_volume(spec, **kw), read_volume(spec, **kw)
    assert isinstance(lazy.data, LazyVolume) and lazy.data.shape == (6, 7, 8)
    assert lazy.source == whole.source and lazy.voxel_size_nm == whole.voxel_size_nm
    if fmt != "npy":
        assert lazy.voxel_size_nm == pytest.approx((30, 6, 6))
    np.testing.assert_array_equal(np.asarray(lazy.data), whole.data)
    np.testing.assert_array_equal(lazy.data[1:3, :, 2:7], whole.data[1:3, :, 2:7])
    np.testing.assert_array_equal(lazy.data[4], whole.data[4])
    again = pickle.loads(pickle.dumps(lazy.data))  # pickles as its path; opens on first read
    np.testing.assert_array_equal(again[..., 3:5], whole.data[..., 3:5])
    assert int(lazy.data.to_dask().sum().compute()) == int(whole.data.sum())


def test_open_volume_refuses_what_read_volume_refuses(tmp_path):
    from shapelib.io import open_volume

    np.save(tmp_path / "two.npy", np.zeros((7, 8), np.uint8))
    with pytest.raises(InputError, match="3D array"):
        open_volume(tmp_path / "two.npy", voxel_size_nm=8)
    np.save(tmp_path / "c.npy", np.zeros((2, 3, 4), np.complex64))
    with pytest.raises(InputError, match="dtype complex64"):
        open_volume(tmp_path / "c.npy", voxel_size_nm=8)
    for name in ("h.tif", "h.h5", "h.npy"):
        (tmp_path / name).write_bytes(b"\x00\x01 this is not a volume" * 10)
        with pytest.raises(InputError, match="could not"):
            open_volume(tmp_path / name, voxel_size_nm=8)
    with pytest.raises(FileNotFoundError):
        open_volume(tmp_path / "nope.zarr", voxel_size_nm=8)


def test_a_damaged_chunk_is_named(tmp_path, labels):
    from shapelib.io import open_volume

    spec = _stores(tmp_path, labels)["zarr2"]
    (spec / "1.1.0").write_bytes(b"broken" * 9)
    vol = open_volume(spec)
    np.testing.assert_array_equal(vol.data[0:2], labels[0:2])  # other chunks still read
    with pytest.raises(InputError, match=r"chunk \(1, 1, 0\) \(voxels 2:4, 3:6, 0:4\) of .*v2"):
        vol.data[...]


def _read_many(vol, starts):
    return [np.asarray(vol[s : s + 7]) for s in starts]


def test_forked_workers_do_not_share_the_parents_file(tmp_path):
    """A TIFF opened (and read) here, then read by forked pool workers at once: every read right."""
    import tifffile

    from shapelib import TaskRunner
    from shapelib.io import open_volume

    rng = np.random.default_rng(0)
    data = rng.integers(0, 5, (60, 64, 64), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "s.tif", data, compression="zlib", rowsperstrip=8)
    vol = open_volume(tmp_path / "s.tif", voxel_size_nm=8).data
    np.testing.assert_array_equal(vol[0:2], data[0:2])  # the parent holds an open handle now
    starts = [[int(s) for s in rng.integers(0, 53, 30)] for _ in range(8)]
    with TaskRunner(vol, n_workers=2) as run:
        for i, got in run.imap_unordered(_read_many, [(s,) for s in starts]):
            for s, g in zip(starts[i], got, strict=True):
                np.testing.assert_array_equal(g, data[s : s + 7])
