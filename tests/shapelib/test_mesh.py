"""Marching-cubes meshes: volume, area and genus against closed forms; units and edge cases."""

import numpy as np
import pytest

from shapelib import mesh_genus, mesh_instance
from shapelib import phantoms as ph

KNOWN = {
    "ball": lambda: ph.ellipsoid(200, voxel_size_nm=10),
    "ellipsoid": lambda: ph.ellipsoid((300, 200, 150), voxel_size_nm=20),
    "capsule": lambda: ph.capsule(2000, 150, voxel_size_nm=20),
    "bent_capsule": lambda: ph.capsule(3000, 150, voxel_size_nm=20, bend_deg=120),
    "torus": lambda: ph.torus(600, 150, voxel_size_nm=20),
    "branched": lambda: ph.branched_tube(voxel_size_nm=20),
    "rotated_capsule": lambda: ph.capsule(
        2000, 150, voxel_size_nm=20, rotation=ph.random_rotation(1)
    ),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_volume_area_genus_against_closed_form(name):
    p = KNOWN[name]()
    m = mesh_instance(p.mask, voxel_size_nm=p.voxel_size_nm)
    assert m.is_watertight and m.volume > 0
    assert abs(m.volume / p.volume_nm3 - 1) < 0.03
    assert abs(m.area / p.surface_area_nm2 - 1) < 0.05
    assert mesh_genus(m) == p.genus


def test_mesh_volume_agrees_with_voxel_object():
    p = ph.capsule(2000, 150, voxel_size_nm=20)
    m = mesh_instance(p.mask, voxel_size_nm=20)
    assert abs(m.volume / (p.mask.sum() * 20**3) - 1) < 0.03


def test_scaling_is_exact():
    mask = ph.ellipsoid((8, 6, 5), voxel_size_nm=1).mask
    m1 = mesh_instance(mask, voxel_size_nm=1)
    m8 = mesh_instance(mask, voxel_size_nm=8)
    assert m8.volume / m1.volume == pytest.approx(512, rel=1e-9)
    assert m8.area / m1.area == pytest.approx(64, rel=1e-9)


def test_anisotropic_voxels():
    p = ph.capsule(2000, 150, voxel_size_nm=(40, 20, 20))
    m = mesh_instance(p.mask, voxel_size_nm=(40, 20, 20))
    assert m.is_watertight
    assert abs(m.volume / p.volume_nm3 - 1) < 0.03
    ext = m.bounds[1] - m.bounds[0]  # (x, y, z) nm: the capsule lies along x
    assert ext[0] == pytest.approx(2300, rel=0.03) and ext[2] == pytest.approx(300, rel=0.1)


def test_offset_places_vertices_in_source_coordinates():
    mask = np.zeros((5, 6, 7), bool)
    mask[2, 3, 4] = True
    mask[2, 3, 3] = True
    m0 = mesh_instance(mask, voxel_size_nm=(30, 20, 10))
    m1 = mesh_instance(mask, voxel_size_nm=(30, 20, 10), offset_vox=(10, 20, 30))
    shift = np.array([30 * 10, 20 * 20, 10 * 30])  # (x, y, z) nm
    assert np.allclose(m1.vertices - m0.vertices, shift)
    # voxel centres sit at index * spacing: the mesh straddles x = 30..40 nm, y 60, z 60
    centre = (m0.bounds[0] + m0.bounds[1]) / 2
    assert np.allclose(centre, [35, 60, 60], atol=1e-6)


def test_one_voxel():
    mask = np.zeros((1, 1, 1), bool)
    mask[0, 0, 0] = True
    m = mesh_instance(mask, voxel_size_nm=8)
    assert m.is_watertight and m.volume > 0 and mesh_genus(m) == 0
    assert np.all(np.abs(m.vertices) <= 4 + 1e-9)


def test_thin_parts_survive_smoothing():
    mask = np.zeros((5, 5, 40), bool)
    mask[2, 2, 2:38] = True  # a one-voxel-thin line
    m = mesh_instance(mask, voxel_size_nm=10, sigma_vox=1.5)
    assert m.is_watertight and mesh_genus(m) == 0
    assert len(m.split(only_watertight=False)) == 1
    assert m.bounds[1][0] - m.bounds[0][0] > 340


def test_bad_input():
    with pytest.raises(ValueError, match="3D"):
        mesh_instance(np.ones((3, 3), bool), voxel_size_nm=1)
    with pytest.raises(ValueError, match="empty"):
        mesh_instance(np.zeros((3, 3, 3), bool), voxel_size_nm=1)
    with pytest.raises(ValueError, match="voxel_size_nm"):
        mesh_instance(np.ones((3, 3, 3), bool), voxel_size_nm=0)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    voxel=st.tuples(*[st.floats(0.5, 50) for _ in range(3)]),
    factor=st.floats(0.1, 10),
)
def test_volume_scales_with_voxel_volume(seed, voxel, factor):
    """Any mask: scaling every voxel edge by f scales the mesh volume by f^3 (area by f^2)."""
    mask = np.random.default_rng(seed).random((6, 7, 8)) > 0.5
    mask[3, 3, 3] = True
    a = mesh_instance(mask, voxel_size_nm=voxel)
    b = mesh_instance(mask, voxel_size_nm=tuple(v * factor for v in voxel))
    assert a.is_watertight and b.is_watertight
    assert b.volume / a.volume == pytest.approx(factor**3, rel=1e-6)
    assert b.area / a.area == pytest.approx(factor**2, rel=1e-6)
