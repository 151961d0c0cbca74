"""Instance folders: our round trip, and the released 3DMSL files through our reader/writer."""

import json

import numpy as np
import pytest

from shapelib import InputError, Instance, ShapeParams, build_shape
from shapelib import phantoms as ph
from shapelib.io import is_complete, read_shape, write_shape


@pytest.fixture(scope="module")
def shape():
    p = ph.capsule(1500, 120, voxel_size_nm=20)
    params = ShapeParams(n_surface_points=3000, n_occupancy_points=4000)
    return build_shape(Instance(3, p.mask, (1, 2, 3), p.voxel_size_nm), params, rng=0)


def test_round_trip(tmp_path, shape):
    folder = write_shape(shape, tmp_path / "000003", extra_meta={"params": {"a": 1}})
    assert is_complete(folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        "meta.json", "occupancies.npz", "pointcloud.ply", "raw_mesh.off"]  # fmt: skip
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["id"] == 3 and meta["class"] == "rod" and meta["params"] == {"a": 1}
    # id and class once, at the top; the mesh volume says it is the mesh's
    assert not {"id", "class", "shape_class", "volume_um3"} & set(meta["measurements"])
    assert meta["measurements"]["mesh_volume_um3"] > 0
    assert meta["measurements"]["voxel_count"] == shape.measurements["voxel_count"]
    back = read_shape(folder)
    assert back.id == 3 and back.shape_class == "rod" and back.skeleton is None
    assert back.measurements == json.loads(json.dumps(shape.measurements))
    assert np.allclose(back.mesh.vertices, shape.mesh.vertices, atol=1e-6)
    assert back.mesh.volume == pytest.approx(shape.mesh.volume, rel=1e-6)
    assert np.allclose(back.pointcloud.points, shape.pointcloud.points, atol=1e-6)
    assert np.allclose(back.pointcloud.normals, shape.pointcloud.normals, atol=1e-6)
    assert back.occupancy.points.tobytes() == shape.occupancy.points.tobytes()
    assert np.array_equal(back.occupancy.occupancies, shape.occupancy.occupancies)
    assert np.allclose(back.occupancy.loc, shape.occupancy.loc)
    with np.load(folder / "occupancies.npz") as z:
        assert z["points"].dtype == np.float16 and z["occupancies"].dtype == np.uint8
        assert z["occupancies"].shape == (500,) and z["loc"].shape == (3,)
        assert z["scale"].shape == () and z["scale"].dtype == np.float64


def test_read_instance_is_the_former_name_of_read_shape():
    import shapelib
    import shapelib.io

    assert shapelib.io.read_instance is shapelib.io.read_shape is shapelib.read_shape
    assert shapelib.read_instance is shapelib.read_shape


def test_a_format_1_meta_reads_under_todays_names(tmp_path, shape):
    folder = write_shape(shape, tmp_path / "old")
    meta = json.loads((folder / "meta.json").read_text())
    m = meta["measurements"]
    m["volume_um3"] = m.pop("mesh_volume_um3")
    m.update(id=3, shape_class="rod")
    meta["format_version"] = 1
    (folder / "meta.json").write_text(json.dumps(meta))
    back = read_shape(folder)
    assert back.measurements == json.loads(json.dumps(shape.measurements))


def test_rewrite_removes_meta_first(tmp_path, shape):
    folder = write_shape(shape, tmp_path / "x")
    write_shape(shape, folder)
    assert is_complete(folder)
    assert not list(folder.glob(".*tmp*"))


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_shape(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="raw_mesh.off"):
        read_shape(tmp_path)
    (tmp_path / "raw_mesh.off").write_text("not a mesh")
    with pytest.raises(InputError):
        read_shape(tmp_path)


@pytest.mark.realdata
@pytest.mark.parametrize("sid", ["1", "920"])
def test_released_round_trip(tmp_path, shared_data, sid):
    src = shared_data / "3dmsl_samples" / sid
    s = read_shape(src)
    assert s.id == int(sid) and s.shape_class is None and s.mesh.is_watertight
    with np.load(src / "occupancies.npz") as z:
        loc_vox, scale_vox = z["loc"], float(z["scale"])
    # released mesh, loc and scale are in 24 nm voxel units; ours are nm
    assert np.allclose(s.occupancy.loc, loc_vox * 24) and s.occupancy.scale == scale_vox * 24
    lo, hi = s.mesh.bounds
    assert np.allclose((lo + hi) / 2, s.occupancy.loc, atol=1e-6)
    assert s.pointcloud.points.shape == (100_000, 3)
    out = write_shape(s, tmp_path / sid)
    with np.load(src / "occupancies.npz") as a, np.load(out / "occupancies.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for k in a.files:
            assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
        assert np.array_equal(a["points"], b["points"])
        assert np.array_equal(a["occupancies"], b["occupancies"])
    again = read_shape(out)
    assert np.allclose(again.pointcloud.points, s.pointcloud.points, atol=1e-6)
    assert again.mesh.volume == pytest.approx(s.mesh.volume, rel=1e-6)
    # a different unit size scales the mesh
    s8 = read_shape(src, voxel_size_nm=8)
    assert s8.mesh.volume == pytest.approx(s.mesh.volume / 27, rel=1e-9)


def test_ply_rows_match_printf():
    from shapelib.io._instance_bytes import fixed6_rows

    t = np.random.default_rng(0).uniform(-1, 1, (1000, 6)).astype(np.float32).astype(float)
    t[0, :3] = [0.0, -0.5, 0.9999999]
    ref = ("%.6f %.6f %.6f %.6f %.6f %.6f\n" * len(t)) % tuple(t.ravel().tolist())
    assert fixed6_rows(t) == ref.encode()
    big = np.array([[12.5, -3.0, 0, 0, 0, 1]])
    assert fixed6_rows(big) == b"12.500000 -3.000000 0.000000 0.000000 0.000000 1.000000\n"
