"""The napari plugin's readers and sample data give the right layer types and scales (no
viewer needed: npe2 calls these functions); the manifest validates; with napari installed the
layers open in a viewer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_mitoshape import get_reader, phantom_sample, read_dataset, read_library, segment_image
from shapelib.io import write_ome_zarr, write_tiff
from tests.segtrain._tiny import disks
from tests.simulator._shapes import capsule, sphere, write_library

MANIFEST = Path(__file__).resolve().parents[2] / "napari_mitoshape" / "napari.yaml"


def test_the_manifest_validates():
    npe2 = pytest.importorskip("npe2", reason="npe2 is not installed")
    pm = npe2.PluginManifest.from_file(MANIFEST)
    assert pm.name == "mitoshape"
    assert [r.command for r in pm.contributions.readers] == ["mitoshape.get_reader"]
    assert [s.key for s in pm.contributions.sample_data] == ["phantoms"]


def test_a_library_opens_as_surfaces_in_nm(tmp_path):
    lib = write_library(
        tmp_path / "lib", {1: (capsule(800.0, 200.0), "rod"), 2: (sphere(300), "dot")}
    )
    reader = get_reader(str(lib))
    assert reader is read_library
    layers = reader(str(lib))
    assert [t for _, _, t in layers] == ["surface", "surface"]
    (verts, faces), kwargs, _ = layers[0]
    assert kwargs["metadata"]["class"] == "rod"
    # capsule along x in (x, y, z) -> the last napari axis after the flip; extent in nm
    assert np.ptp(verts, axis=0).max() == pytest.approx(1200.0, rel=0.05)
    assert faces.shape[1] == 3


def test_a_dataset_opens_as_an_image_stack_and_labels_at_its_pixel_size(tmp_path):
    for sub in ("images", "instances"):
        (tmp_path / "ds" / sub).mkdir(parents=True)
    for i in range(2):
        img, lab = disks(32, 2, i)
        write_tiff(tmp_path / f"ds/images/a{i}.tif", img, pixel_size_nm=7.5)
        write_tiff(tmp_path / f"ds/instances/a{i}.tif", lab, pixel_size_nm=7.5)
    assert get_reader(str(tmp_path / "ds")) is read_dataset
    (img, ik, it), (lab, lk, lt) = read_dataset(tmp_path / "ds")
    assert (it, lt) == ("image", "labels")
    assert img.shape == lab.shape == (2, 32, 32)
    assert ik["scale"] == lk["scale"] == (1.0, 7.5, 7.5)
    np.testing.assert_array_equal(lab[1], disks(32, 2, 1)[1])


def test_an_ome_zarr_store_opens_with_its_labels_in_nm(tmp_path):
    img, lab = disks(64, 3, 0)
    store = write_ome_zarr(
        tmp_path / "a.ome.zarr",
        img,
        voxel_size_nm=(6.0, 6.0),
        labels={"instances": lab.astype(np.uint32)},
    )
    layers = get_reader(str(store))(str(store))
    assert [(k["name"], t) for _, k, t in layers] == [
        ("a.ome.zarr", "image"),
        ("instances", "labels"),
    ]
    assert layers[1][1]["scale"] == pytest.approx((6.0, 6.0))
    np.testing.assert_array_equal(layers[1][0], lab)


def test_other_folders_are_left_to_other_readers(tmp_path):
    assert get_reader(str(tmp_path)) is None
    assert get_reader(str(tmp_path / "x.tif")) is None


def test_sample_data_is_phantoms_with_their_meshes():
    layers = phantom_sample()
    labels, kwargs, kind = layers[0]
    assert kind == "labels" and kwargs["scale"] == (40.0, 40.0, 40.0)
    assert int(labels.max()) == len(layers) - 1 == 4
    classes = {k["metadata"]["class"] for _, k, t in layers[1:]}
    assert len(classes) >= 3


def test_the_layers_open_in_a_viewer(tmp_path):
    """napari's viewer takes the layer data as it is (headless: needs napari and a display,
    e.g. under xvfb-run; skipped otherwise)."""
    import os

    napari = pytest.importorskip("napari", reason="napari is not installed (mitoshape[napari])")
    if not os.environ.get("DISPLAY"):
        pytest.skip("no display: run under xvfb-run")
    viewer = napari.Viewer(show=False)
    try:
        for data, kwargs, kind in phantom_sample()[:2]:
            getattr(viewer, f"add_{kind}")(data, **kwargs)
        assert [type(layer).__name__ for layer in viewer.layers] == ["Labels", "Surface"]
        assert tuple(viewer.layers[0].scale) == (40.0, 40.0, 40.0)
    finally:
        viewer.close()


def test_segment_gives_instances_and_probability_at_the_image_scale(run):
    from segtrain import Run
    from segtrain.evaluate import label_objects

    img = disks(32, 2, 0)[0]
    (prob, pk, pt), (inst, ik, it) = segment_image(img, str(run), scale=(5.0, 5.0))
    assert (pt, it) == ("image", "labels")
    assert pk["scale"] == ik["scale"] == (5.0, 5.0)
    seg = Run.open(run).segment(img)
    np.testing.assert_array_equal(prob, seg.probability)
    np.testing.assert_array_equal(inst, label_objects(seg.mask))
    stack = np.stack([img, img])  # a stack: slice by slice
    (sprob, _, _), _ = segment_image(stack, str(run))
    np.testing.assert_allclose(sprob[1], seg.probability, atol=1e-6)


def test_segment_refuses_a_4d_layer_in_one_line(run):
    from shapelib import InputError

    with pytest.raises(InputError, match="2D image or a \\(Z, Y, X\\) stack"):
        segment_image(np.zeros((2, 2, 8, 8)), str(run))
