"""`mitoshape export`: a run as a bioimage.io package that bioimageio.core's own test passes
and whose output equals `mitoshape predict`; a library as one GLB/PLY with every mesh."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from tests.segtrain._tiny import disks
from tests.simulator._shapes import capsule, sphere, write_library


@pytest.fixture(scope="module")
def run(export_run):
    return export_run


@pytest.mark.slow  # about 30 s: bioimageio.core's test runs both weight formats
def test_bioimageio_package_passes_its_test_and_equals_predict(tmp_path, run, invoke):
    core = pytest.importorskip("bioimageio.core", reason="bioimageio.core is not installed")
    img = disks(64, 3, 7)[0]
    tifffile.imwrite(tmp_path / "t.tif", img)
    out = tmp_path / "model.zip"
    r = invoke("export", run, "-o", out, "--image", tmp_path / "t.tif")
    assert r.exit_code == 0, r.stderr
    # bioimageio.core's own test of the package: both weight formats on the test tensors.
    summary = core.test_model(str(out))
    assert summary.status == "passed", summary.format()
    # The package's output on its test tensor equals `mitoshape predict` (one tile, no TTA).
    r = invoke("predict", run, tmp_path / "t.tif", "-o", tmp_path / "pred",
               "--tile-px", 64, "--overlap-px", 0, "--tta", "none")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    want = tifffile.imread(tmp_path / "pred/probabilities/t.tif")
    model = core.load_model_description(str(out))
    for fmt in ("pytorch_state_dict", "torchscript"):
        # Not as a context manager: bioimageio.core 0.11's PredictionPipeline.__exit__ waits
        # forever on its model queue after a predict.
        pp = core.create_prediction_pipeline(model, weight_format=fmt)
        sample = core.predict(model=pp, inputs={"raw": img.astype(np.float32)[None, None]})
        got = np.asarray(sample.members["probability"].data)
        assert float(np.abs(np.asarray(got)[0, 0] - want).max()) < 1e-4, fmt


def test_an_interactive_run_says_which_layer_cannot_be_exported(tmp_path, run):
    from segtrain import Run, export_bioimageio
    from segtrain.inference._clicks import mark_interactive
    from shapelib import InputError

    opened = Run.open(run)
    net = opened.model
    mark_interactive(net, opened.train_config.clicks)
    with pytest.raises(InputError, match=r"first layer .*Conv2d.* click channels"):
        export_bioimageio(opened, tmp_path / "m.zip")
    assert not (tmp_path / "m.zip").exists()


def test_a_run_exports_only_as_a_zip(tmp_path, run, invoke):
    r = invoke("export", run, "-o", tmp_path / "m.glb")
    assert r.exit_code == 2 and "bioimage.io .zip" in r.stderr
    assert not (tmp_path / "m.glb").exists()


@pytest.mark.parametrize("suffix", [".glb", ".ply"])
def test_library_as_one_scene_file(tmp_path, invoke, suffix):
    import trimesh

    lib = write_library(
        tmp_path / "lib", {1: (capsule(800.0, 200.0), "rod"), 2: (sphere(300), "dot")}
    )
    out = tmp_path / f"lib{suffix}"
    r = invoke("export", lib, "-o", out)
    assert r.exit_code == 0, r.stderr
    loaded = trimesh.load(out)
    if suffix == ".glb":  # one named geometry per shape, in nm
        assert sorted(loaded.geometry) == ["000001", "000002"]
        assert loaded.geometry["000001"].metadata["class"] == "rod"  # from the node's extras
        ext = loaded.geometry["000001"].extents
        assert max(ext) == pytest.approx(800.0 + 2 * 200.0, rel=0.05)  # capsule: length + 2 r
    else:  # one mesh: the shapes joined
        assert len(loaded.split(only_watertight=False)) >= 2
    again = invoke("export", lib, "-o", out)
    assert again.exit_code == 2 and "exists" in again.stderr


def test_dataset_as_ome_zarr_matches_the_tiff_dataset(tmp_path, invoke):
    pytest.importorskip("ome_zarr", reason="ome-zarr (ome-zarr-py) is not installed")
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    lib = write_library(tmp_path / "lib", {1: (capsule(800.0, 200.0), "rod")})
    args = ["dataset", lib, "--size", 32, "--n", 1, "--objects", "1", "--workers", 1]
    assert invoke(*args, "-o", tmp_path / "ds").exit_code == 0
    r = invoke(*args, "-o", tmp_path / "ds.zarr")
    assert r.exit_code == 0, r.stderr
    store = tmp_path / "ds.zarr/img_000000.ome.zarr"
    image, _, *labels = list(Reader(parse_url(str(store)))())
    tif = tmp_path / "ds/images/img_000000.tif"
    np.testing.assert_array_equal(np.asarray(image.data[0]), tifffile.imread(tif))
    by_name = {n.metadata["name"]: np.asarray(n.data[0]) for n in labels}
    want = tifffile.imread(tmp_path / "ds/instances/img_000000.tif")
    np.testing.assert_array_equal(by_name["instances"], want)
    assert by_name["instances"].dtype == np.uint32
    # z-stacks are refused before anything is written
    r = invoke(*args, "-o", tmp_path / "zs.zarr", "--z-planes", 3)
    assert r.exit_code == 2 and "2D scenes" in r.stderr
    assert not (tmp_path / "zs.zarr").exists()


def test_a_layer_that_cannot_be_traced_is_named(tmp_path, run):
    import torch

    from segtrain import Run, export_bioimageio
    from shapelib import InputError

    opened = Run.open(run)

    class Untraceable(torch.nn.Module):  # runs eagerly, fails only while traced
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            if torch.jit.is_tracing():
                raise RuntimeError("data-dependent control flow")
            return self.inner(x)

    net = opened.model
    last = [n for n, m in net.named_children()][-1]
    setattr(net, last, Untraceable(getattr(net, last)))
    with pytest.raises(InputError, match=rf"layer '{last}' cannot be traced to TorchScript"):
        export_bioimageio(opened, tmp_path / "m.zip", image=_disk_tif(tmp_path))
    assert not (tmp_path / "m.zip").exists()


def _disk_tif(tmp_path):
    tifffile.imwrite(tmp_path / "t.tif", disks(64, 3, 7)[0])
    return tmp_path / "t.tif"
