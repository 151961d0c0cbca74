"""Rendering: one emitter is the PSF, linearity, fast == direct, masks, rotations, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from shapelib import InputError
from simulator import (
    CONF1,
    CONF2,
    EPI1,
    Acquisition,
    random_rotation,
    render_emitters,
    render_emitters_direct,
    render_view,
    simulate_shape,
    view_rotation,
)

from ._shapes import capsule, sphere


def _cloud(rng, n, size, pixel, depth=2000.0):
    c = size * pixel / 2
    return np.c_[rng.normal(c, 150, n), rng.normal(c, 250, n), rng.normal(depth, 250, n)]


@pytest.mark.parametrize("mic", [CONF1, CONF2, EPI1], ids=lambda m: m.name)
def test_fast_equals_direct_sum_within_1_percent(mic):
    rng = np.random.default_rng(1)
    size, o = 24, mic.optics
    xyz = _cloud(rng, 120, size, o.pixel_size_nm)
    w = rng.uniform(50, 150, len(xyz))
    fast = render_emitters(xyz, w, o, size_px=size, focal_depths_nm=(2000.0,))[0]
    direct = render_emitters_direct(xyz, w, o, size_px=size, focal_depth_nm=2000.0)
    assert np.abs(fast - direct).max() < 0.01 * direct.max()
    assert fast.sum() == pytest.approx(direct.sum(), rel=0.01)


@pytest.mark.parametrize("mic", [CONF1, EPI1], ids=lambda m: m.name)
@pytest.mark.parametrize("frac", [0.0, 0.37])
def test_single_emitter_gives_the_pixel_integrated_psf(mic, frac):
    o = mic.optics
    size, a = 21, o.pixel_size_nm
    x = (10.5 + frac * 0.2) * a  # on a fine node, and between nodes
    xyz = np.array([[x, x, 2000.0]])
    img = render_emitters(xyz, [1.0], o, size_px=size, focal_depths_nm=(2000.0,))[0]
    ref = render_emitters_direct(xyz, [1.0], o, size_px=size, focal_depth_nm=2000.0)
    assert np.unravel_index(np.argmax(img), img.shape) == (10, 10)
    np.testing.assert_allclose(img, img.T, atol=1e-4 * img.max())
    if frac == 0:
        np.testing.assert_allclose(img, img[::-1, :], atol=1e-4 * img.max())
    assert np.abs(img - ref).max() < 0.01 * ref.max()


def test_photons_add_linearly():
    rng = np.random.default_rng(2)
    o, size = CONF1.optics, 24
    a, b = _cloud(rng, 50, size, o.pixel_size_nm), _cloud(rng, 70, size, o.pixel_size_nm)
    wa, wb = np.full(50, 10.0), np.full(70, 30.0)
    ra = render_emitters(a, wa, o, size_px=size, focal_depths_nm=(2000.0,))
    rb = render_emitters(b, wb, o, size_px=size, focal_depths_nm=(2000.0,))
    rab = render_emitters(
        np.vstack([a, b]), np.r_[wa, wb], o, size_px=size, focal_depths_nm=(2000.0,)
    )
    # spectra are single precision (float32 FFTs): linear to ~1e-7 of the peak
    np.testing.assert_allclose(rab, ra + rb, atol=1e-6 * rab.max())
    r2 = render_emitters(a, 2 * wa, o, size_px=size, focal_depths_nm=(2000.0,))
    np.testing.assert_allclose(r2, 2 * ra, rtol=1e-5, atol=1e-6 * r2.max())


def test_sphere_projection_mask_is_disk_of_right_radius():
    acq = Acquisition(size_px=64, focal_depth_nm=2000.0)
    v = render_view(sphere(500.0), CONF2, acquisition=acq, rng=0)  # 48 nm pixels
    r_px = 500.0 / 48.0
    assert v.projection.sum() == pytest.approx(np.pi * r_px**2, rel=0.05)
    yy, xx = np.nonzero(v.projection)
    assert yy.mean() == pytest.approx(31.5, abs=0.3) and xx.mean() == pytest.approx(31.5, abs=0.3)
    assert v.in_focus.sum() == v.projection.sum()  # the equator lies in the focal slab
    assert v.mask.dtype == np.uint8 and set(np.unique(v.mask)) <= {0, 1}


def test_rotation_by_90_degrees_about_z_rotates_the_image():
    mesh = capsule()
    acq = Acquisition(size_px=48, focal_depth_nm=2000.0)
    base = view_rotation("y90", cumulative=False)  # lay the rod in the image plane
    turn = view_rotation("z90", cumulative=False) @ base  # then turn it about the optical axis
    emit = np.asarray(mesh.vertices)  # same emitters in both views
    v0 = render_view(mesh, EPI1, rotation=base, acquisition=acq, emitters=emit, rng=0)
    v1 = render_view(mesh, EPI1, rotation=turn, acquisition=acq, emitters=emit, rng=0)
    best = min(np.abs(np.rot90(v0.expected, k) - v1.expected).max() for k in (1, 3))
    assert best < 0.01 * v0.expected.max()
    assert min(np.sum(np.rot90(v0.projection, k) != v1.projection) for k in (1, 3)) <= 4


def test_same_seed_same_bytes_and_z_stack_shapes():
    acq = Acquisition(size_px=32, z_planes=3, z_step_nm=250)
    a = simulate_shape(capsule(), CONF1, views=["0", "x90"], acquisition=acq, rng=7)
    b = simulate_shape(capsule(), CONF1, views=["0", "x90"], acquisition=acq, rng=7)
    for k in a:
        assert a[k].image.tobytes() == b[k].image.tobytes()
        assert a[k].image.shape == (3, 32, 32) and a[k].image.dtype == np.uint16
        assert a[k].label.shape == (3, 32, 32) and a[k].mask.shape == (3, 32, 32)
    c = simulate_shape(capsule(), CONF1, views=2, acquisition=acq, rng=8)
    assert list(c) == ["r000", "r001"]


def test_six_views_are_cumulative_rotations():
    r = view_rotation("x90")  # x180, then y180, then x90 (column vectors: the last on the left)
    single = {v: view_rotation(v, cumulative=False) for v in ("x180", "y180", "x90")}
    np.testing.assert_allclose(r, single["x90"] @ single["y180"] @ single["x180"])
    with pytest.raises(InputError, match="unknown view"):
        view_rotation("q90")
    with pytest.raises(InputError, match="unknown view"):
        view_rotation("xabc")


def test_one_rotation_convention_columns_rotate():
    # 3DMSL multiplied row vectors by the textbook matrix: view z90 turns +x to -y
    r = view_rotation("z90", cumulative=False)
    np.testing.assert_allclose(np.array([1.0, 0, 0]) @ r.T, [0, -1, 0], atol=1e-12)
    np.testing.assert_allclose(r @ [1.0, 0, 0], [0, -1, 0], atol=1e-12)
    # simulator.random_rotation is shapelib's, and a matrix means what a view name means
    import shapelib

    assert random_rotation is shapelib.random_rotation
    mesh, acq = capsule(), Acquisition(size_px=32, focal_depth_nm=2000.0)
    by_name = render_view(mesh, EPI1, rotation="y90", acquisition=acq, rng=1)
    by_matrix = render_view(mesh, EPI1, rotation=view_rotation("y90"), acquisition=acq, rng=1)
    assert by_name.image.tobytes() == by_matrix.image.tobytes()
    np.testing.assert_array_equal(by_name.rotation, view_rotation("y90"))
    rand = render_view(mesh, EPI1, rotation="random", acquisition=acq, rng=2)
    np.testing.assert_allclose(rand.rotation, random_rotation(np.random.default_rng(2)))


def test_a_view_is_the_same_whichever_other_views_are_asked():
    acq = Acquisition(size_px=32)
    mesh = capsule()
    six = simulate_shape(mesh, CONF1, acquisition=acq, rng=3)
    two = simulate_shape(mesh, CONF1, views=["x90", "0"], acquisition=acq, rng=3)
    for v in ("0", "x90"):
        assert two[v].image.tobytes() == six[v].image.tobytes()
    assert six["x90"].image.tobytes() != six["x180"].image.tobytes()
    r2 = simulate_shape(mesh, CONF1, views=2, acquisition=acq, rng=4)
    r3 = simulate_shape(mesh, CONF1, views=3, acquisition=acq, rng=4)
    for v in ("r000", "r001"):
        assert r2[v].image.tobytes() == r3[v].image.tobytes()
        np.testing.assert_array_equal(r2[v].rotation, r3[v].rotation)
    assert not np.allclose(r3["r000"].rotation, r3["r001"].rotation)
    with pytest.raises(InputError, match="unknown view"):
        simulate_shape(mesh, CONF1, views=["0", "w90"], acquisition=acq, rng=3)


def test_open_mesh_and_shallow_focus_are_errors():
    mesh = capsule()
    open_mesh = mesh.copy()
    open_mesh.update_faces(np.arange(len(mesh.faces) - 3))
    with pytest.raises(InputError, match="not closed"):
        render_view(open_mesh, EPI1, rng=0)
    with pytest.raises(InputError, match="below the coverslip"):
        render_view(mesh, EPI1, acquisition=Acquisition(size_px=32, focal_depth_nm=300), rng=0)


def test_undersampling_warns():
    o = EPI1.optics.model_copy(update={"pixel_size_nm": 400.0})
    mic = EPI1.model_copy(update={"optics": o})
    with pytest.warns(UserWarning, match="undersamples"):
        render_view(sphere(), mic, acquisition=Acquisition(size_px=16), rng=0)


def test_fast_equals_direct_near_and_beyond_the_border():
    rng = np.random.default_rng(4)
    o, size = CONF1.optics, 24
    a = o.pixel_size_nm
    xyz = np.c_[
        rng.normal(2 * a, 300, 80), rng.normal(size * a, 300, 80), rng.normal(2000, 200, 80)
    ]
    w = np.full(len(xyz), 100.0)
    fast = render_emitters(xyz, w, o, size_px=size, focal_depths_nm=(2000.0,))[0]
    direct = render_emitters_direct(xyz, w, o, size_px=size, focal_depth_nm=2000.0)
    assert np.abs(fast - direct).max() < 0.01 * direct.max()
    far = xyz + [50 * size * a, 0, 0]  # all light lands beyond the table radius
    assert render_emitters(far, w, o, size_px=size, focal_depths_nm=(2000.0,)).max() == 0


def test_z_stack_label_volume_is_the_sphere_cross_section():
    acq = Acquisition(size_px=48, focal_depth_nm=2000.0, z_planes=3, z_step_nm=250)
    v = render_view(sphere(500.0), CONF2, acquisition=acq, rng=0)
    r_mid, r_off = 500.0 / 48, np.sqrt(500.0**2 - 250.0**2) / 48
    areas = v.label.sum(axis=(1, 2))
    assert areas[1] == pytest.approx(np.pi * r_mid**2, rel=0.06)
    assert areas[0] == pytest.approx(np.pi * r_off**2, rel=0.08) and areas[0] == areas[2]
    assert v.expected.shape == (3, 48, 48)
    assert v.expected[1].max() > v.expected[0].max()  # in focus on the equator


def test_fluorophore_counts_follow_density():
    from simulator import Labelling, sample_fluorophores

    mesh = sphere(500.0)
    surf = sample_fluorophores(mesh, Labelling(density_per_um2=1000), rng=0)
    assert len(surf) == pytest.approx(1000 * mesh.area / 1e6, rel=0.1)
    assert np.allclose(np.linalg.norm(surf, axis=1), 500.0, rtol=0.01)
    vol = sample_fluorophores(mesh, Labelling(where="volume", density_per_um3=5000), rng=0)
    assert len(vol) == pytest.approx(5000 * mesh.volume / 1e9, rel=0.1)
    assert np.all(np.linalg.norm(vol, axis=1) <= 500.0 + 1e-6)
