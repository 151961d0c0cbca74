"""calibrate_psf: known optics recovered from beads rendered by the renderer; bad bead stacks."""

from __future__ import annotations

import numpy as np
import pytest

from shapelib import InputError
from simulator import (
    Aberrations,
    Optics,
    PhysicalCamera,
    apply_camera,
    calibrate_psf,
    render_emitters,
)

AIR = Optics(emission_wavelength_nm=520, NA=0.8, immersion_index=1.0, sample_index=1.0,
             pixel_size_nm=130)  # fmt: skip


def bead_stack(optics, *, diameter_nm, planes=11, z_step=300.0, size=32, photons=3e6, rng=0,
               offset_px=(0.3, -0.2), n_emitters=20000):  # fmt: skip
    """A sphere of emitters rendered by the simulator's own renderer, then a noisy camera."""
    rng = np.random.default_rng(rng)
    r = diameter_nm / 2
    p = rng.normal(size=(n_emitters, 3))
    p *= (r * rng.random(n_emitters) ** (1 / 3) / np.linalg.norm(p, axis=1))[:, None]
    a = optics.pixel_size_nm
    depth = r + 50.0
    xyz = p + [(size / 2 + offset_px[1]) * a, (size / 2 + offset_px[0]) * a, depth]
    focal = tuple(depth + (k - (planes - 1) / 2) * z_step + 70 for k in range(planes))
    w = np.full(n_emitters, photons / n_emitters)
    expected = render_emitters(xyz, w, optics, size_px=size, focal_depths_nm=focal)
    cam = PhysicalCamera(quantum_efficiency=1.0, read_noise_e=2, offset_adu=100,
                         background_photons=5)  # fmt: skip
    return apply_camera(expected, cam, rng=rng), depth


def test_recovers_na_spherical_aberration_and_bead_size():
    truth = AIR.model_copy(update={"aberrations": Aberrations(spherical_nm=-40)})
    stack, depth = bead_stack(truth, diameter_nm=300, planes=9, size=28, n_emitters=8000)
    nominal = AIR.model_copy(update={"NA": 0.85})
    fit = calibrate_psf(stack, nominal, z_step_nm=300, depth_nm=depth, window_px=6,
                        aberrations=("spherical_nm",))  # fmt: skip
    assert fit.optics.NA == pytest.approx(0.80, abs=0.01)
    assert fit.optics.aberrations.spherical_nm == pytest.approx(-40, abs=4)
    assert fit.bead_diameter_nm == pytest.approx(300, rel=0.1)
    assert fit.residual < 0.05
    assert fit.fitted.lateral_nm == pytest.approx(fit.measured.lateral_nm, rel=0.05)
    assert fit.fitted.axial_nm == pytest.approx(fit.measured.axial_nm, rel=0.05)
    assert fit.psf.lateral_nm < fit.fitted.lateral_nm  # the bead's size widens the image
    assert fit.model.shape == stack.shape and fit.model.dtype == np.float32


@pytest.mark.slow
def test_recovers_astigmatism_among_all_terms():
    truth = AIR.model_copy(
        update={"aberrations": Aberrations(astigmatism_0_nm=40, spherical_nm=-30)}
    )
    stack, depth = bead_stack(truth, diameter_nm=300, planes=13, size=40, photons=2e6)
    nominal = AIR.model_copy(update={"NA": 0.85})
    fit = calibrate_psf(stack, nominal, z_step_nm=300, depth_nm=depth, window_px=8)
    ab = fit.optics.aberrations
    assert fit.optics.NA == pytest.approx(0.80, abs=0.01)
    assert ab.astigmatism_0_nm == pytest.approx(40, abs=4)
    assert ab.spherical_nm == pytest.approx(-30, abs=4)
    for other in (ab.astigmatism_45_nm, ab.coma_x_nm, ab.coma_y_nm):
        assert abs(other) < 4
    assert fit.bead_diameter_nm == pytest.approx(300, rel=0.1)


def _point_stack(size=48, planes=9, centre=(24, 24), peak=5000.0, background=100.0):
    """A cheap bead-like stack (Gaussian blob) for the input checks."""
    z = np.arange(planes)[:, None, None] - planes // 2
    y = np.arange(size)[None, :, None] - centre[0]
    x = np.arange(size)[None, None, :] - centre[1]
    blob = peak * np.exp(-(x**2 + y**2) / (2 * 1.3**2) - z**2 / (2 * 1.5**2))
    rng = np.random.default_rng(0)
    return (background + blob + rng.normal(0, 3, blob.shape)).astype(np.uint16)


def test_bead_cut_by_the_border_is_refused():
    with pytest.raises(InputError, match="cut by the border"):
        calibrate_psf(_point_stack(centre=(5, 24)), AIR, z_step_nm=300)


def test_bead_cut_by_the_first_plane_is_refused():
    stack = _point_stack()[3:]
    with pytest.raises(InputError, match="first plane"):
        calibrate_psf(stack, AIR, z_step_nm=300)


def test_saturated_bead_is_refused():
    stack = _point_stack().astype(np.int64)
    stack[stack > 3000] = 3000  # a flat top
    with pytest.raises(InputError, match="saturated"):
        calibrate_psf(stack.astype(np.uint16), AIR, z_step_nm=300)
    sat = _point_stack()
    sat[4, 24, 24] = 65535
    with pytest.raises(InputError, match="saturated"):
        calibrate_psf(sat, AIR, z_step_nm=300)


def test_two_beads_in_one_window_are_refused():
    stack = _point_stack(size=64, centre=(32, 32)).astype(float)
    stack += _point_stack(size=64, centre=(32, 40), peak=3000, background=0).astype(float)
    with pytest.raises(InputError, match="2 beads found"):
        calibrate_psf(stack, AIR, z_step_nm=300)


def test_undersampled_z_step_and_confocal_are_refused():
    with pytest.raises(InputError, match="undersamples the axial PSF"):
        calibrate_psf(_point_stack(), AIR, z_step_nm=800)  # NA 0.8 in air needs <= 650 nm
    conf = Optics(modality="confocal", NA=1.4, pixel_size_nm=70)
    with pytest.raises(InputError, match="widefield"):
        calibrate_psf(_point_stack(), conf, z_step_nm=100)
    with pytest.raises(InputError, match="unknown aberration"):
        calibrate_psf(_point_stack(), AIR, z_step_nm=300, aberrations=("tilt_nm",))


def test_several_beads_apart_the_brightest_is_fitted_and_named():
    truth = AIR.model_copy(update={"aberrations": Aberrations(spherical_nm=-40)})
    a, depth = bead_stack(truth, diameter_nm=300, planes=9, size=64, offset_px=(-14, -14))
    b, _ = bead_stack(truth, diameter_nm=300, planes=9, size=64, offset_px=(15, 15),
                      photons=1.5e6, rng=1)  # fmt: skip
    stack = a.astype(np.int64) + b.astype(np.int64)
    fit = calibrate_psf(stack, AIR.model_copy(update={"NA": 0.85}), z_step_nm=300,
                        depth_nm=depth, window_px=6, aberrations=("spherical_nm",))  # fmt: skip
    assert any("2 beads found" in n and "brightest" in n for n in fit.notes)
    assert fit.position_nm[1] == pytest.approx((32 - 14 + 0.0) * 130, abs=130)
    assert fit.optics.NA == pytest.approx(0.80, abs=0.015)


def test_empty_bead_stack_is_not_called_saturated():
    """An all-zero stack was refused as "saturated at the maximum value 0"."""
    empty = np.zeros_like(_point_stack()).astype(np.uint16)
    with pytest.raises(InputError, match="no bead was imaged"):
        calibrate_psf(empty, AIR, z_step_nm=300)
