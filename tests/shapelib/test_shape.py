"""build_shape: all forms and measurements of one instance, deterministic and picklable."""

import pickle

import numpy as np
import pytest
from pydantic import ValidationError

from shapelib import Instance, ShapeParams, build_shape, classify_mesh, voxelize_mesh
from shapelib import phantoms as ph

FAST = ShapeParams(n_surface_points=2000, n_occupancy_points=2000)


@pytest.fixture(scope="module")
def torus_shape():
    p = ph.torus(600, 150, voxel_size_nm=20)
    inst = Instance(7, p.mask, (10, 20, 30), p.voxel_size_nm, source="phantom", touches_border=True)
    return p, build_shape(inst, FAST, rng=0)


def test_forms_and_measurements(torus_shape):
    p, s = torus_shape
    m = s.measurements
    assert s.id == 7 and s.shape_class == "donut"
    assert "shape_class" not in m and "id" not in m  # fields of the Shape, stored once
    assert s.pointcloud.points.shape == (2000, 3) and s.occupancy.points.shape == (2000, 3)
    assert m["voxel_count"] == p.mask.sum()
    assert m["voxel_volume_um3"] == pytest.approx(p.mask.sum() * 20**3 / 1e9)
    assert abs(m["mesh_volume_um3"] * 1e9 / p.volume_nm3 - 1) < 0.03
    assert abs(m["surface_area_um2"] * 1e6 / p.surface_area_nm2 - 1) < 0.05
    assert m["genus"] == 1 and m["n_loops"] == 1 and m["loops_agree"]
    assert m["bbox"] == [10, 20, 30, 10 + p.mask.shape[0], 20 + p.mask.shape[1],
                         30 + p.mask.shape[2]]  # fmt: skip
    # centroid (x, y, z) nm: the middle of the crop, shifted by the offset
    centre_vox = (np.array(p.mask.shape) - 1) / 2 + [10, 20, 30]
    assert np.allclose(m["centroid_nm"], (centre_vox * 20)[::-1], atol=1)
    assert np.allclose(s.pointcloud.loc, m["centroid_nm"], atol=20)
    assert m["touches_border"] is True and m["source"] == "phantom"
    assert set(s.timings_s) == {"mesh", "pointcloud", "occupancy", "skeleton", "measure"}


def test_same_seed_same_bytes_and_picklable(torus_shape):
    p, s = torus_shape
    inst = Instance(7, p.mask, (10, 20, 30), p.voxel_size_nm)
    again = build_shape(inst, FAST, rng=0)
    assert again.pointcloud.points.tobytes() == s.pointcloud.points.tobytes()
    assert again.occupancy.occupancies.tobytes() == s.occupancy.occupancies.tobytes()
    assert again.mesh.vertices.tobytes() == s.mesh.vertices.tobytes()
    back = pickle.loads(pickle.dumps(s))
    assert back.measurements == s.measurements and back.mesh.volume == pytest.approx(s.mesh.volume)


def test_one_voxel_instance():
    mask = np.ones((1, 1, 1), bool)
    s = build_shape(Instance(1, mask, (0, 0, 0), (8.0, 8.0, 8.0)), FAST, rng=0)
    assert s.shape_class == "dot" and s.measurements["voxel_count"] == 1
    assert s.mesh.is_watertight


def test_voxelize_and_classify_mesh_roundtrip(torus_shape):
    p, s = torus_shape
    mask, offset = voxelize_mesh(s.mesh, voxel_size_nm=20)
    # the mesh re-voxelizes onto the original grid
    assert abs(mask.sum() / p.mask.sum() - 1) < 0.03
    first = np.argwhere(mask).min(axis=0) + offset
    assert np.array_equal(first, np.argwhere(p.mask).min(axis=0) + [10, 20, 30])
    c = classify_mesh(s.mesh, voxel_size_nm=20)
    assert c["shape_class"] == "donut" and c["n_loops"] == 1


def test_params_validated():
    with pytest.raises(ValidationError):
        ShapeParams(sigma_vox=-1)
    with pytest.raises(ValidationError):
        ShapeParams(n_points=3)


def test_skeleton_voxel_rule():
    from shapelib._shape import _skeleton_factors

    assert _skeleton_factors((5.0, 5.0, 5.0), 10.0) == (2, 2, 2)
    assert _skeleton_factors((30.0, 5.0, 5.0), 10.0) == (1, 2, 2)
    assert _skeleton_factors((24.0, 24.0, 24.0), 10.0) == (1, 1, 1)
    assert _skeleton_factors((5.0, 5.0, 5.0), 0.0) == (1, 1, 1)
