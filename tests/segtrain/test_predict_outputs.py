"""What predict writes beside its masks: instance labels matching quantify's `label` column,
and OME-Zarr stores that ome-zarr-py reads with their scale."""

from types import SimpleNamespace

import numpy as np
import pytest

from segtrain import InferenceConfig, Run, predict_folder, quantify_folder
from segtrain.workflows._predict import write_prediction
from shapelib import InputError
from shapelib.io import open_output_folder, output_format, read_tiff, write_tiff

from ._tiny import disks, train_tiny_run


def _seg(mask):
    prob = mask.astype(np.float32) * 0.9
    return SimpleNamespace(probability=prob, mask=mask.astype(np.uint8), uncertainty=None)


def test_instances_are_the_labels_of_the_quantify_table(tmp_path):
    _, lab = disks(96, 5, 3)
    mask = lab > 0
    mask[0:3, 0:3] = True  # a tiny object too (quantify keeps its label, whatever its size)
    out = open_output_folder(tmp_path / "pred", command="predict", inputs=[])
    write_prediction(out, "a", _seg(mask), ((6.0, 6.0), None))
    inst = read_tiff(tmp_path / "pred/instances/a.tif")
    assert inst.data.dtype == np.uint16
    assert inst.pixel_size_nm == pytest.approx((6.0, 6.0))
    np.testing.assert_array_equal(inst.data > 0, mask)
    table = quantify_folder(tmp_path / "pred/masks").objects
    assert len(table) == int(inst.data.max()) >= 3
    for row in table.itertuples():  # each row is traceable to its object: same pixels
        assert int((inst.data == row.label).sum()) == row.area_px
        cy, cx = np.argwhere(inst.data == row.label).mean(0)
        assert (cy, cx) == pytest.approx((row.centroid_y_px, row.centroid_x_px))


def test_output_format_follows_the_name_unless_given():
    assert output_format("out/pred.zarr", None) == "ome-zarr"
    assert output_format("out/pred", None) == "tiff"
    assert output_format("out/pred", "ome-zarr-0.5") == "ome-zarr-0.5"
    with pytest.raises(InputError, match="unknown output format"):
        output_format("out/pred", "n5")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("fmt"))


@pytest.mark.parametrize("fmt", [None, "ome-zarr-0.5"])
def test_predict_writes_ome_zarr_that_ome_zarr_py_reads(tmp_path, run, fmt):
    pytest.importorskip("ome_zarr", reason="ome-zarr (ome-zarr-py) is not installed")
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    (tmp_path / "images").mkdir()
    img = disks(32, 2, 0)[0]
    write_tiff(tmp_path / "images/a0.tif", img, pixel_size_nm=7.5)
    opened = Run.open(run, InferenceConfig(tile_px=32, overlap_px=8))
    out = predict_folder(opened, tmp_path, tmp_path / "pred.zarr", out_format=fmt)
    store = out / "a0.ome.zarr"
    image, _, *labels = list(Reader(parse_url(str(store)))())
    np.testing.assert_array_equal(np.asarray(image.data[0]), img)
    assert image.metadata["coordinateTransformations"][0][0]["scale"] == pytest.approx(
        [0.0075, 0.0075]
    )
    names = sorted(n.metadata["name"] for n in labels)
    assert names == ["instances", "mask"]
    inst = next(n for n in labels if n.metadata["name"] == "instances")
    assert np.asarray(inst.data[0]).dtype == np.uint32
    # The same prediction as TIFFs: the OME-Zarr mask equals the TIFF mask.
    tif = predict_folder(opened, tmp_path, tmp_path / "pred_tif")
    mask = next(n for n in labels if n.metadata["name"] == "mask")
    np.testing.assert_array_equal(np.asarray(mask.data[0]), read_tiff(tif / "masks/a0.tif").data)
    # --overwrite replaces the store whole.
    predict_folder(opened, tmp_path, tmp_path / "pred.zarr", out_format=fmt, overwrite=True)
    assert (store / "labels").is_dir()
