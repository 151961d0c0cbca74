"""Occupancy samples: format, labels agree with the mesh, volume law, seeds."""

import numpy as np
import pytest

from shapelib import mesh_instance, points_inside, sample_occupancy
from shapelib import phantoms as ph


@pytest.fixture(scope="module")
def torus_mesh():
    p = ph.torus(600, 200, voxel_size_nm=25)
    return mesh_instance(p.mask, voxel_size_nm=25)


def test_format(torus_mesh):
    occ = sample_occupancy(torus_mesh, 10_000, rng=0)
    assert occ.points.dtype == np.float16 and occ.points.shape == (10_000, 3)
    assert occ.occupancies.dtype == bool and occ.occupancies.shape == (10_000,)
    assert occ.points.min() >= -0.55 and occ.points.max() <= 0.55
    assert occ.loc.shape == (3,) and occ.scale > 0


def test_inside_fraction_times_box_is_mesh_volume(torus_mesh):
    n = 200_000
    occ = sample_occupancy(torus_mesh, n, rng=1)
    f = occ.occupancies.mean()
    estimate = f * (1.1 * occ.scale) ** 3
    sigma = np.sqrt(f * (1 - f) / n) / f  # relative sampling error
    assert abs(estimate / torus_mesh.volume - 1) < 4 * sigma


def test_labels_are_for_the_stored_points(torus_mesh):
    occ = sample_occupancy(torus_mesh, 5000, rng=2)
    nm = occ.points.astype(np.float64) * occ.scale + occ.loc
    again = points_inside(torus_mesh, nm)
    assert np.mean(again == occ.occupancies) > 0.999
    # the torus hole is empty: the centre of the cube is outside
    assert not points_inside(torus_mesh, occ.loc[None])[0]


def test_same_seed_same_bytes(torus_mesh):
    a = sample_occupancy(torus_mesh, 2000, rng=5)
    b = sample_occupancy(torus_mesh, 2000, rng=5)
    assert a.points.tobytes() == b.points.tobytes()
    assert a.occupancies.tobytes() == b.occupancies.tobytes()


def test_padding(torus_mesh):
    occ = sample_occupancy(torus_mesh, 2000, padding=0.0, rng=0)
    assert np.abs(occ.points.astype(float)).max() <= 0.5
    with pytest.raises(ValueError, match="padding"):
        sample_occupancy(torus_mesh, 10, padding=-1)


@pytest.mark.parametrize(
    "make, offset",
    [
        (lambda: ph.torus(600, 200, voxel_size_nm=(40, 25, 25)), (7, 0, 2)),
        (lambda: ph.branched_tube(voxel_size_nm=30), (1, 2, 3)),
    ],
)
def test_mask_shortcut_gives_the_same_labels(make, offset):
    p = make()
    m = mesh_instance(p.mask, voxel_size_nm=p.voxel_size_nm, offset_vox=offset)
    a = sample_occupancy(m, 20_000, rng=4)
    b = sample_occupancy(
        m, 20_000, rng=4, source_mask=p.mask, voxel_size_nm=p.voxel_size_nm, offset_vox=offset
    )
    assert a.points.tobytes() == b.points.tobytes()
    assert np.array_equal(a.occupancies, b.occupancies)


def _cells_numpy(points_nm, mask, spacing, offset):
    """The numpy formulation the compiled pass replaced (a padded copy, eight gathers)."""
    padded = np.pad(np.asarray(mask, dtype=bool), 1)
    idx = points_nm[:, ::-1] / np.asarray(spacing) - np.asarray(offset, dtype=float) + 1.0
    lo = np.floor(idx).astype(np.int64)
    shape = np.array(padded.shape)
    valid = np.all((lo >= 0) & (lo <= shape - 2), axis=1)
    strides = np.array([shape[1] * shape[2], shape[2], 1])
    base = lo[valid] @ strides
    count = np.zeros(len(points_nm), np.int8)
    for dz in (0, 1):
        for dy in (0, 1):
            for dx in (0, 1):
                count[valid] += padded.ravel()[base + (dz * strides[0] + dy * strides[1] + dx)]
    return count == 8, (count > 0) & (count < 8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cells_from_mask_equals_the_numpy_formulation(seed):
    from shapelib._occupancy import _cells_from_mask

    rng = np.random.default_rng(seed)
    mask = rng.random((9, 7, 11)) < 0.6
    spacing, offset = (40.0, 25.0, 30.0), (3, -2, 5)
    lo = (np.array(offset) - 3) * spacing
    hi = (np.array(offset) + np.array(mask.shape) + 3) * spacing
    # (x, y, z) nm points around and beyond the crop, and exactly on voxel centres and faces
    pts = rng.uniform(lo[::-1], hi[::-1], size=(20_000, 3))
    grid = (np.argwhere(np.ones((4, 4, 4))) + np.array(offset) - 1.0) * spacing
    pts = np.concatenate([pts, grid[:, ::-1], (grid + np.array(spacing) / 2)[:, ::-1]])
    got = _cells_from_mask(pts, mask, spacing, offset)
    want = _cells_numpy(pts, mask, spacing, offset)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert want[0].any() and want[1].any() and not (want[0] | want[1]).all()
