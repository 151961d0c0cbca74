"""Instance extraction: the erosion splits touching objects and nothing else; no voxel is lost."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from shapelib import ExtractParams, extract_instances


def _capsule(shape, p0, p1, radius) -> np.ndarray:
    """Voxels within ``radius`` of the segment p0-p1 (z, y, x voxel coordinates)."""
    z, y, x = np.indices(shape, dtype=float)
    p = np.stack([z, y, x], -1)
    a, b = np.asarray(p0, float), np.asarray(p1, float)
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-12), 0, 1)
    return np.linalg.norm(p - (a + t[..., None] * ab), axis=-1) <= radius


def _tapered_tube(shape, p0, p1, r_end, r_mid) -> np.ndarray:
    """A straight tube whose radius goes r_end -> r_mid -> r_end along its axis."""
    z, y, x = np.indices(shape, dtype=float)
    p = np.stack([z, y, x], -1)
    a, b = np.asarray(p0, float), np.asarray(p1, float)
    ab = b - a
    t = np.clip(((p - a) @ ab) / (ab @ ab), 0, 1)
    d = np.linalg.norm(p - (a + t[..., None] * ab), axis=-1)
    return d <= r_mid + (r_end - r_mid) * np.abs(2 * t - 1) ** 4


def _paint(instances, shape) -> np.ndarray:
    out = np.zeros(shape, np.int32)
    for inst in instances:
        z0, y0, x0, z1, y1, x1 = inst.bbox_vox
        view = out[z0:z1, y0:y1, x0:x1]
        assert not (view[inst.mask] > 0).any(), "instances overlap"
        view[inst.mask] = inst.id
    return out


S = (30, 40, 80)


def test_touching_capsules_side_by_side_become_two():
    a = _capsule(S, (15, 13, 10), (15, 13, 70), 6)
    b = _capsule(S, (15, 25, 10), (15, 25, 70), 6)
    vol = a | b
    inst = extract_instances(vol, voxel_size_nm=8)
    assert len(inst) == 2
    painted = _paint(inst, S)
    np.testing.assert_array_equal(painted > 0, vol)  # every voxel in exactly one instance
    for i in inst:  # each instance is (almost) one capsule
        own = painted == i.id
        assert max((own & a).sum(), (own & b).sum()) >= 0.98 * own.sum()


def test_capsules_touching_end_to_end_become_two():
    vol = _capsule(S, (15, 20, 5), (15, 20, 38), 6) | _capsule(S, (15, 20, 50), (15, 20, 75), 6)
    assert len(extract_instances(vol, voxel_size_nm=8)) == 2


@pytest.mark.parametrize("radius", [1.5, 2.5, 3.5, 4.0, 4.5])
def test_a_tube_stays_one_however_thin(radius):
    vol = _capsule(S, (15, 20, 5), (12, 24, 75), radius)
    inst = extract_instances(vol, voxel_size_nm=8)
    assert len(inst) == 1
    assert inst[0].voxel_count == vol.sum()


@pytest.mark.parametrize("r_mid", [1.5, 2.5, 3.0])
def test_tube_thick_at_the_ends_thin_in_the_middle_stays_one(r_mid):
    vol = _tapered_tube(S, (15, 20, 8), (15, 20, 72), 9, r_mid)
    inst = extract_instances(vol, voxel_size_nm=8)
    assert len(inst) == 1
    assert inst[0].voxel_count == vol.sum()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_curved_tube_with_wavering_radius_stays_one(seed):
    rng = np.random.default_rng(seed)
    shape = (48, 48, 48)
    t = np.linspace(0, 1, 40)
    r = rng.uniform(3.2, 4.8)
    pts = np.stack(
        [24 + 10 * np.sin(2 * np.pi * t * 0.8), 24 + 15 * np.cos(np.pi * t), 6 + 36 * t], 1
    )
    vol = np.zeros(shape, bool)
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        vol |= _capsule(shape, a, b, r * (1 + 0.15 * np.sin(0.7 * a[2])))
    assert len(extract_instances(vol, voxel_size_nm=8)) == 1


def test_tiny_dot_survives_the_erosion_whole():
    vol = _capsule(S, (15, 13, 10), (15, 13, 70), 6)
    vol[2:5, 30:33, 3:6] = True  # 27 voxels: erosion removes it entirely
    inst = extract_instances(vol, voxel_size_nm=8)
    assert sorted(i.voxel_count for i in inst)[0] == 27
    assert len(inst) == 2


def test_dust_is_dropped_and_the_rest_conserved():
    vol = _capsule(S, (15, 13, 10), (15, 13, 70), 6)
    vol[2, 30, 3] = vol[2, 35, 70] = True
    inst = extract_instances(vol, voxel_size_nm=8, params=ExtractParams(min_voxels=2))
    assert len(inst) == 1
    assert inst[0].voxel_count == vol.sum() - 2


def test_border_flag_and_geometry():
    vol = np.zeros(S, bool)
    vol[0:8, 10:20, 10:30] = True  # touches z = 0
    vol[10:20, 25:35, 40:60] = True  # inside
    inst = extract_instances(vol, voxel_size_nm=(30, 5, 5), source="x.tif")
    by_z = sorted(inst, key=lambda i: i.offset_vox[0])
    assert [i.touches_border for i in by_z] == [True, False]
    assert by_z[0].bbox_vox == (0, 10, 10, 8, 20, 30)
    assert by_z[1].offset_vox == (10, 25, 40)
    assert all(i.voxel_size_nm == (30.0, 5.0, 5.0) and i.source == "x.tif" for i in inst)
    assert all(i.mask.dtype == bool for i in inst)


def test_erosion_does_not_eat_objects_cut_by_the_border():
    # a capsule cut by the x border: the border is not background, so it is not split off
    vol = _capsule(S, (15, 20, -20), (15, 20, 40), 6)
    inst = extract_instances(vol, voxel_size_nm=8)
    assert len(inst) == 1 and inst[0].touches_border


def test_ids_are_raster_ordered_and_deterministic():
    vol = np.zeros(S, bool)
    vol[20:26, 2:8, 2:8] = True
    vol[2:8, 30:36, 60:66] = True
    vol[2:8, 2:8, 40:46] = True
    first = extract_instances(vol, voxel_size_nm=8)
    again = extract_instances(vol.copy(), voxel_size_nm=8)
    assert [i.id for i in first] == [1, 2, 3]
    assert [i.offset_vox for i in first] == [(2, 2, 40), (2, 30, 60), (20, 2, 2)]
    for a, b in zip(first, again, strict=True):
        assert a.offset_vox == b.offset_vox and np.array_equal(a.mask, b.mask)


def test_instances_mode_keeps_label_ids_and_splits_disconnected_parts():
    lab = np.zeros(S, np.uint16)
    lab[5:15, 5:15, 5:30] = 7
    lab[5:15, 15:25, 5:30] = 9  # touches label 7: kept apart without erosion
    lab[20:25, 5:10, 50:60] = 7  # a second part of label 7
    inst = extract_instances(lab, voxel_size_nm=8, params=ExtractParams(instances=True))
    assert len(inst) == 3
    assert sorted(i.source_label for i in inst) == [7, 7, 9]
    assert sum(i.voxel_count for i in inst) == (lab > 0).sum()
    # the union of the same volume is one block cut in two by the erosion, or one
    union = extract_instances(lab, voxel_size_nm=8, params=ExtractParams(labels=[9]))
    assert len(union) == 1 and union[0].voxel_count == (lab == 9).sum()


def test_label_selection_and_huge_ids():
    lab = np.zeros(S, np.uint64)
    lab[5:15, 5:15, 5:30] = 2**40
    lab[20:25, 20:30, 40:60] = 3
    inst = extract_instances(lab, voxel_size_nm=8, params=ExtractParams(labels=[2**40]))
    assert len(inst) == 1 and inst[0].voxel_count == 10 * 10 * 25
    inst = extract_instances(lab, voxel_size_nm=8, params=ExtractParams(instances=True))
    assert sorted(i.source_label for i in inst) == [3, 2**40]


def test_downsample_scales_the_voxel_size():
    vol = np.zeros((30, 30, 31), bool)
    vol[3:27, 6:24, 3:27] = True
    inst = extract_instances(vol, voxel_size_nm=8, params=ExtractParams(downsample=3))
    assert len(inst) == 1
    assert inst[0].voxel_size_nm == (24.0, 24.0, 24.0)
    assert inst[0].bbox_vox == (1, 2, 1, 9, 8, 9)


def test_connectivity_decides_diagonal_contacts():
    vol = np.zeros((10, 10, 10), bool)
    vol[1:4, 1:4, 1:4] = True
    vol[4:7, 4:7, 4:7] = True  # meets the first block at one corner only
    p26 = ExtractParams(min_voxels=1, erode_radius_vox=0)
    assert len(extract_instances(vol, voxel_size_nm=1, params=p26)) == 1
    p6 = ExtractParams(min_voxels=1, erode_radius_vox=0, connectivity=6)
    assert len(extract_instances(vol, voxel_size_nm=1, params=p6)) == 2


def test_empty_volume_gives_no_instances_and_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        assert extract_instances(np.zeros((4, 5, 6), np.uint8), voxel_size_nm=8) == []
    assert "no foreground" in caplog.text


def test_float_mask_is_accepted():
    vol = np.zeros(S, np.float32)
    vol[5:15, 5:15, 5:30] = 1.0
    assert len(extract_instances(vol, voxel_size_nm=8)) == 1


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (np.zeros((4, 5), np.uint8), "3D array"),
        (np.zeros((2, 4, 5, 6), np.uint8), "3D array"),
        (np.full((4, 5, 6), 0.5, np.float32), "0/1 mask"),
        (np.full((4, 5, 6), -1, np.int16), ">= 0"),
    ],
)
def test_bad_volumes_are_refused_clearly(data, match):
    with pytest.raises(ValueError, match=match):
        extract_instances(data, voxel_size_nm=8)


@pytest.mark.parametrize("size", [0, float("nan"), (8, 8)])
def test_bad_voxel_size_is_refused(size):
    with pytest.raises(ValueError, match="voxel_size_nm"):
        extract_instances(np.ones((4, 5, 6), bool), voxel_size_nm=size)


def test_params_are_checked():
    with pytest.raises(ValueError):
        ExtractParams(connectivity=8)
    with pytest.raises(ValueError):
        ExtractParams(unknown=1)
    with pytest.raises(ValueError, match="binary mask"):
        extract_instances(np.ones((4, 5, 6), bool), voxel_size_nm=8, params={"labels": [3]})


@pytest.fixture(scope="module")
def phantoms_with_touching_pairs():
    from shapelib.phantoms import phantom_volume

    return phantom_volume(12, touching_pairs=2, rng=3)


def test_phantom_volume_with_touching_pairs_gives_one_instance_per_object(
    phantoms_with_touching_pairs,
):
    pv = phantoms_with_touching_pairs
    union = extract_instances(pv.labels > 0, voxel_size_nm=pv.voxel_size_nm)
    assert len(union) == len(pv.objects)
    painted = _paint(union, pv.labels.shape)
    np.testing.assert_array_equal(painted > 0, pv.labels > 0)
    for inst in union:  # each instance is one phantom, but for a few contact voxels
        labs = pv.labels[painted == inst.id]
        assert np.bincount(labs).max() >= 0.99 * labs.size
    per_id = extract_instances(
        pv.labels, voxel_size_nm=pv.voxel_size_nm, params=ExtractParams(instances=True)
    )
    assert sorted(i.source_label for i in per_id) == sorted(o["id"] for o in pv.objects)


@pytest.mark.parametrize("seed", [0, 1])
def test_distance_to_background_is_edt_of_the_bool_mask(seed):
    """The uint8 view edt is given gives the distances of the bool mask (its other path)."""
    import edt

    from shapelib._geodesic import distance_to_background
    from shapelib.phantoms import phantom_volume

    vol = phantom_volume(4, touching_pairs=1, rng=seed)
    comp = vol.labels > 0
    at_border = [(True, False), (False, True), (False, False)]
    got = distance_to_background(comp, at_border)
    padded = np.pad(comp, [(0, 0), (0, 1), (1, 1)])
    want = edt.edt(padded, black_border=False, parallel=1)[:, :-1, 1:-1]
    assert got.dtype == want.dtype and np.array_equal(got, want)
    assert got.max() > 3.5


def test_label_maxima_equals_scipy():
    from scipy import ndimage

    from shapelib._geodesic import label_maxima

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 6, (20, 30, 40))
    labels[labels == 4] = 0  # a label without voxels
    values = (rng.random(labels.shape) * 7).astype(np.float32)
    want = ndimage.maximum(values, labels=labels, index=np.arange(6))
    got = label_maxima(values, labels, 5)
    assert got.dtype == want.dtype and np.array_equal(got, want)
