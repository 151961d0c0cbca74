"""`mitoshape classify`: released 3DMSL instances and our folders."""

import json

import pytest

from shapelib import Instance, ShapeParams, build_shape
from shapelib import phantoms as ph
from shapelib.io import write_shape


@pytest.mark.realdata
def test_released_920_is_donut_and_1_is_not(invoke, shared_data):
    r = invoke("classify", shared_data / "3dmsl_samples" / "920", "--voxel-size-nm", "24")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0] == "class: donut"
    r = invoke("classify", shared_data / "3dmsl_samples" / "1", "--json", "--voxel-size-nm", 24)
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["shape_class"] != "donut" and out["n_loops"] == 0 and out["genus"] == 0


def test_our_folder(invoke, tmp_path):
    p = ph.torus(500, 150, voxel_size_nm=25)
    params = ShapeParams(n_surface_points=500, n_occupancy_points=500)
    s = build_shape(Instance(1, p.mask, (0, 0, 0), p.voxel_size_nm), params, rng=0)
    folder = write_shape(s, tmp_path / "000001")
    r = invoke("classify", folder, "--json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["shape_class"] == "donut" and out["voxel_size_nm"] == [25.0, 25.0, 25.0]
    r = invoke("classify", folder, "--voxel-size-nm", "20")
    assert r.exit_code == 0 and "class: donut" in r.stdout


def test_errors(invoke, tmp_path):
    r = invoke("classify", tmp_path / "missing")
    assert r.exit_code == 2 and "does not exist" in r.stderr
    r = invoke("classify", tmp_path, "--voxel-size-nm", "0")
    assert r.exit_code == 2 and "voxel_size_nm" in r.stderr


def test_folder_without_meta_json_asks_for_the_voxel_size(invoke, tmp_path):
    """Our folder with meta.json lost: its mesh is in nm, not 24 nm voxels; no guessing."""
    p = ph.torus(500, 150, voxel_size_nm=25)
    params = ShapeParams(n_surface_points=500, n_occupancy_points=500)
    s = build_shape(Instance(1, p.mask, (0, 0, 0), p.voxel_size_nm), params, rng=0)
    folder = write_shape(s, tmp_path / "000001")
    (folder / "meta.json").unlink()
    r = invoke("classify", folder)
    assert r.exit_code == 2 and "--voxel-size-nm" in r.stderr and "meta.json" in r.stderr
    assert r.stderr.count("\n") == 1 and not r.stdout
