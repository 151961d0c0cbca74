"""Phantoms: closed-form truth, valid masks, random volumes with known objects."""

import numpy as np
import pytest
from scipy import ndimage

from shapelib import phantoms as ph


@pytest.mark.parametrize(
    "make, tol",
    [
        (lambda: ph.ellipsoid(200, voxel_size_nm=10), 0.02),
        (lambda: ph.ellipsoid((250, 180, 150), voxel_size_nm=20), 0.02),
        (lambda: ph.capsule(2000, 150, voxel_size_nm=20), 0.02),
        (lambda: ph.capsule(3000, 150, voxel_size_nm=20, bend_deg=120), 0.02),
        (lambda: ph.torus(600, 150, voxel_size_nm=20), 0.02),
        (lambda: ph.branched_tube(voxel_size_nm=20), 0.03),
        (lambda: ph.nano_tunnel(voxel_size_nm=30), 0.03),
    ],
)
def test_voxel_volume_matches_truth(make, tol):
    p = make()
    assert p.mask.dtype == bool and p.mask.ndim == 3
    voxel_volume = np.count_nonzero(p.mask) * np.prod(p.voxel_size_nm)
    assert abs(voxel_volume / p.volume_nm3 - 1) < tol
    # a margin of background on every side
    assert not p.mask[0].any() and not p.mask[-1].any()
    assert not p.mask[:, :, 0].any() and not p.mask[:, :, -1].any()


def test_closed_forms():
    t = ph.torus(600, 150, voxel_size_nm=30)
    assert t.genus == 1 and t.expected_class == "donut"
    assert t.volume_nm3 == pytest.approx(2 * np.pi**2 * 600 * 150**2)
    assert t.skeleton_length_nm == pytest.approx(2 * np.pi * 600)
    c = ph.capsule(2000, 100, voxel_size_nm=20)
    assert c.surface_area_nm2 == pytest.approx(2 * np.pi * 100 * 2000 + 4 * np.pi * 100**2)
    assert ph.ellipsoid(100, voxel_size_nm=20).surface_area_nm2 == pytest.approx(4 * np.pi * 1e4)
    assert ph.mega().skeleton_length_nm > 10_000 and ph.mega().volume_nm3 > 1e9
    assert ph.nano_tunnel().skeleton_length_nm > 30_000


def test_bad_geometry_errors():
    with pytest.raises(ValueError, match="bend"):
        ph.capsule(300, 200, bend_deg=170)
    with pytest.raises(ValueError, match="major_radius"):
        ph.torus(100, 150)
    with pytest.raises(ValueError, match="pitch"):
        ph.nano_tunnel(pitch_nm=100)
    with pytest.raises(ValueError):
        ph.capsule(-1, 100)


def test_rotation_keeps_volume():
    rot = ph.random_rotation(3)
    assert np.allclose(rot @ rot.T, np.eye(3)) and np.linalg.det(rot) == pytest.approx(1)
    a = ph.capsule(2000, 150, voxel_size_nm=20)
    b = ph.capsule(2000, 150, voxel_size_nm=20, rotation=rot)
    assert abs(b.mask.sum() / a.mask.sum() - 1) < 0.02


def test_random_rotation_is_the_project_one_and_turns_local_x_to_its_first_column():
    import shapelib

    assert ph.random_rotation is shapelib.random_rotation
    rot = shapelib.random_rotation(5)
    p = ph.capsule(3000, 100, voxel_size_nm=20, rotation=rot)
    # principal axis of the voxels, in (x, y, z): the column-vector image R @ e_x of local x
    zyx = np.argwhere(p.mask).astype(float)
    xyz = shapelib.zyx_to_xyz(zyx - zyx.mean(axis=0))
    _, _, vt = np.linalg.svd(xyz, full_matrices=False)
    assert abs(vt[0] @ rot[:, 0]) > 0.999


def test_anisotropic_phantom():
    p = ph.capsule(2000, 150, voxel_size_nm=(40, 20, 20))
    assert p.mask.shape[0] < p.mask.shape[1]
    assert abs(p.mask.sum() * 40 * 20 * 20 / p.volume_nm3 - 1) < 0.03


def test_demo_volume_has_every_class_and_consistent_objects():
    vol = ph.phantom_volume(7, voxel_size_nm=30, touching_pairs=0, rng=0)
    classes = {o["expected_class"] for o in vol.objects}
    assert classes == {"dot", "rod", "donut", "network", "mega", "nano-tunnel"}
    assert vol.labels.dtype == np.uint32
    assert sorted(np.unique(vol.labels))[1:] == [o["id"] for o in vol.objects]
    for o in vol.objects:
        z0, y0, x0, z1, y1, x1 = o["bbox"]
        crop = vol.labels[z0:z1, y0:y1, x0:x1] == o["id"]
        assert crop.sum() == o["voxel_count"] == (vol.labels == o["id"]).sum()
        assert crop[0].any() and crop[-1].any()  # the bbox is tight
    # separate objects do not touch (26-connectivity)
    fg = vol.labels > 0
    _, n = ndimage.label(fg, structure=np.ones((3, 3, 3)))
    assert n == len(vol.objects)


def test_touching_pairs_touch_but_do_not_overlap():
    vol = ph.phantom_volume(4, kinds=["dot"], touching_pairs=1, rng=1)
    pair = [o for o in vol.objects if o["touching"] is not None]
    assert len(pair) == 2 and pair[0]["touching"] == pair[1]["id"]
    a = vol.labels == pair[0]["id"]
    b = vol.labels == pair[1]["id"]
    assert a.sum() == pair[0]["voxel_count"] and b.sum() == pair[1]["voxel_count"]
    assert np.any(ndimage.binary_dilation(a) & b)  # share faces
    fg = vol.labels > 0
    _, n = ndimage.label(fg, structure=np.ones((3, 3, 3)))
    assert n == len(vol.objects) - 1  # the pair is one connected blob


def test_same_seed_same_bytes():
    a = ph.phantom_volume(5, rng=7, touching_pairs=1)
    b = ph.phantom_volume(5, rng=7, touching_pairs=1)
    assert a.labels.tobytes() == b.labels.tobytes() and a.objects == b.objects
    c = ph.phantom_volume(5, rng=8, touching_pairs=1)
    assert c.labels.tobytes() != a.labels.tobytes()


def test_volume_argument_errors():
    with pytest.raises(ValueError, match="touching_pairs"):
        ph.phantom_volume(1, touching_pairs=1)
    with pytest.raises(ValueError, match="kinds"):
        ph.phantom_volume(2, kinds=["cube"])
    with pytest.raises(ValueError, match="larger shape"):
        ph.phantom_volume(3, kinds=["rod"], shape=(10, 10, 10), rng=0)


@pytest.mark.slow
def test_two_hundred_objects():
    vol = ph.phantom_volume(200, voxel_size_nm=30, touching_pairs=5, rng=0)
    assert len(vol.objects) == 200 and vol.labels.max() == 200
    assert vol.labels.size < 40e6
