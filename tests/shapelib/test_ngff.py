"""OME-Zarr round trips: ome-zarr-py reads what mitoshape writes, and mitoshape reads what
ome-zarr-py writes (NGFF 0.4 on Zarr v2, 0.5 on Zarr v3)."""

import json

import numpy as np
import pytest

from shapelib import InputError
from shapelib.io import read_volume, write_ome_zarr

ome_zarr = pytest.importorskip("ome_zarr", reason="ome-zarr (ome-zarr-py) is not installed")


def _labels(shape):
    lab = np.zeros(shape, np.uint32)
    lab[:, 10:50, 10:60] = 1
    lab[:, 100:150, 90:150] = 70000  # above uint16: instance ids stay uint32
    return lab


def _read_nodes(path):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    return list(Reader(parse_url(str(path)))())


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_py_reads_what_mitoshape_writes(tmp_path, version):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (3, 300, 200), dtype=np.uint8)
    lab = _labels(img.shape)
    prob = rng.random(img.shape).astype(np.float32)
    store = write_ome_zarr(
        tmp_path / "a.ome.zarr",
        img,
        voxel_size_nm=(50, 5, 5),
        labels={"instances": lab},
        images={"probabilities": prob},
        version=version,
    )
    image, labels_group, label = _read_nodes(store)
    # The image: two levels (y, x halved), scale in micrometer on named axes.
    assert [d.shape for d in image.data] == [(3, 300, 200), (3, 150, 100)]
    np.testing.assert_array_equal(np.asarray(image.data[0]), img)
    axes = image.metadata["axes"]
    assert [a["name"] for a in axes] == ["z", "y", "x"]
    assert {a["unit"] for a in axes} == {"micrometer"}
    scales = [t[0]["scale"] for t in image.metadata["coordinateTransformations"]]
    assert scales[0] == pytest.approx([0.05, 0.005, 0.005])
    assert scales[1] == pytest.approx([0.05, 0.01, 0.01])
    # The label image: uint32 ids kept, image-label metadata with a colour per id and a source.
    got = np.asarray(label.data[0])
    assert got.dtype == np.uint32
    np.testing.assert_array_equal(got, lab)
    name = ".zattrs" if version == "0.4" else "zarr.json"
    meta = json.loads((store / "labels" / "instances" / name).read_text())
    meta = meta if version == "0.4" else meta["attributes"]["ome"]
    il = meta["image-label"]
    assert il["source"] == {"image": "../../"}
    assert [c["label-value"] for c in il["colors"]] == [1, 70000]
    # The probabilities beside the image, and the level-0 label volume through read_volume.
    vol = read_volume(f"{store}/labels/instances")
    assert vol.voxel_size_nm == pytest.approx((50, 5, 5))
    np.testing.assert_array_equal(vol.data, lab)
    import zarr

    np.testing.assert_array_equal(zarr.open_group(str(store / "probabilities"))["0"][...], prob)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_the_spec_model_validates_what_mitoshape_writes(tmp_path, version):
    models = pytest.importorskip("ome_zarr_models", reason="ome-zarr-models is not installed")
    del models
    import zarr

    img = np.zeros((2, 64, 64), np.uint16)
    store = write_ome_zarr(
        tmp_path / "b.ome.zarr",
        img,
        voxel_size_nm=(40, 4, 4),
        labels={"mask": (img > 0).astype(np.uint8)},
        version=version,
    )
    group = zarr.open_group(str(store), mode="r")
    if version == "0.4":
        from ome_zarr_models.v04 import Image
    else:
        from ome_zarr_models.v05 import Image
    parsed = Image.from_zarr(group)  # raises on anything the spec forbids
    assert parsed is not None


def test_mitoshape_reads_what_ome_zarr_py_writes(tmp_path):
    import zarr
    from ome_zarr.writer import write_image, write_labels

    img = np.random.default_rng(1).integers(0, 255, (4, 128, 96), dtype=np.uint8)
    lab = _labels(img.shape)
    root = zarr.open_group(str(tmp_path / "c.ome.zarr"), mode="w", zarr_format=2)
    kw = {
        "axes": "zyx",
        "scale": {"z": 0.06, "y": 0.008, "x": 0.008},
        "axes_units": dict.fromkeys("zyx", "micrometer"),
    }
    write_image(img, root, **kw)
    write_labels(lab, root, name="cells", **kw)
    vol = read_volume(tmp_path / "c.ome.zarr/labels/cells")
    assert vol.voxel_size_nm == pytest.approx((60, 8, 8))
    np.testing.assert_array_equal(vol.data, lab)


def test_bad_shapes_are_refused_before_writing(tmp_path):
    img = np.zeros((32, 32), np.uint8)
    with pytest.raises(InputError, match="must match the image"):
        write_ome_zarr(tmp_path / "d.ome.zarr", img, voxel_size_nm=None, labels={"m": img[:8]})
    with pytest.raises(InputError, match="must hold integers"):
        write_ome_zarr(tmp_path / "d.ome.zarr", img, voxel_size_nm=None, labels={"m": img * 0.5})
    with pytest.raises(InputError, match="version"):
        write_ome_zarr(tmp_path / "d.ome.zarr", img, voxel_size_nm=None, version="0.3")
    assert not (tmp_path / "d.ome.zarr").exists()
    assert not list(tmp_path.iterdir())
