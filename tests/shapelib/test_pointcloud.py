"""Surface point clouds: unit-cube normalisation, points on the surface, noisy views, seeds."""

import numpy as np
import pytest

from shapelib import mesh_instance, noisy_view, sample_pointcloud
from shapelib import phantoms as ph


@pytest.fixture(scope="module")
def ball_mesh():
    p = ph.ellipsoid(200, voxel_size_nm=10)
    return mesh_instance(p.mask, voxel_size_nm=10, offset_vox=(5, 6, 7))


def test_unit_cube_normalisation(ball_mesh):
    pc = sample_pointcloud(ball_mesh, 20_000, rng=0)
    assert pc.points.shape == (20_000, 3) and pc.points.dtype == np.float32
    assert pc.normals.shape == (20_000, 3) and pc.normals.dtype == np.float32
    lo, hi = ball_mesh.bounds
    assert np.allclose(pc.loc, (lo + hi) / 2) and pc.scale == pytest.approx(np.max(hi - lo))
    assert np.all(np.abs(pc.points) <= 0.5 + 1e-6)
    assert np.allclose(np.linalg.norm(pc.normals, axis=1), 1, atol=1e-4)
    # back in nm the points lie on the sphere of radius ~200 nm around the ball's centre
    r = np.linalg.norm(pc.to_nm() - pc.loc, axis=1)
    assert abs(np.median(r) - 200) < 8
    # normals point outward
    assert np.mean(np.sum(pc.normals * (pc.to_nm() - pc.loc), axis=1) > 0) > 0.99


def test_same_seed_same_bytes(ball_mesh):
    a = sample_pointcloud(ball_mesh, 1000, rng=3)
    b = sample_pointcloud(ball_mesh, 1000, rng=3)
    c = sample_pointcloud(ball_mesh, 1000, rng=4)
    assert a.points.tobytes() == b.points.tobytes() and a.normals.tobytes() == b.normals.tobytes()
    assert a.points.tobytes() != c.points.tobytes()


def test_noisy_view(ball_mesh):
    pc = sample_pointcloud(ball_mesh, 5000, rng=0)
    v = noisy_view(pc, rng=1)
    assert v.points.shape == (300, 3) and v.points.dtype == np.float32
    assert v.scale == pc.scale and np.array_equal(v.loc, pc.loc)
    v0 = noisy_view(pc, n_points=4000, noise_std=0.0, rng=1)
    assert np.isin(v0.points.view("V12"), pc.points.view("V12")).all()
    big = noisy_view(pc, n_points=4000, noise_std=0.05, rng=1)
    assert np.std(big.points - v0.points) == pytest.approx(0.05, rel=0.05)
    with pytest.raises(ValueError, match="noise_std"):
        noisy_view(pc, noise_std=-1)
