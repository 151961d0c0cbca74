"""Camera noise and calibration from one image."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from shapelib import InputError
from simulator import (
    CONF1,
    Camera,
    Microscope,
    PhysicalCamera,
    ThreeDMSLCamera,
    apply_camera,
    calibrate_camera,
    mean_variance,
    with_noise_mode,
)


def test_physical_camera_mean_and_variance():
    cam = PhysicalCamera(gain_adu_per_e=2.0, read_noise_e=3.0, offset_adu=100,
                         quantum_efficiency=0.5, background_photons=0)  # fmt: skip
    img = apply_camera(np.full((400, 400), 200.0), cam, rng=0).astype(float)
    assert img.mean() == pytest.approx(100 + 2 * 0.5 * 200, rel=0.01)
    assert img.var() == pytest.approx(4 * (100 + 9), rel=0.03)


def test_3dmsl_noise_mode_ranges_and_determinism():
    cam = ThreeDMSLCamera()
    x = np.zeros((64, 64))
    x[20:40, 20:40] = 5.0
    a = apply_camera(x, cam, rng=3)
    assert a.dtype == np.uint16
    assert 15 < np.median(a) < 80 and 180 < a.max() < 300
    assert a.tobytes() == apply_camera(x, cam, rng=3).tobytes()


def test_saturates_at_bit_depth():
    img = apply_camera(np.full((8, 8), 1e6), PhysicalCamera(bit_depth=12), rng=0)
    assert img.max() == 4095


@pytest.mark.parametrize("gain,read", [(2.5, 3.0), (0.8, 1.5)])
def test_calibration_recovers_gain_and_read_noise_within_5_percent(gain, read):
    cam = PhysicalCamera(gain_adu_per_e=gain, read_noise_e=read, background_photons=0)
    yy, xx = np.mgrid[0:768, 0:768]
    photons = np.clip(np.sin(xx / 120.0) * 300 + 200, 0, None) * (yy > 96)  # dark band, ramps
    fit = calibrate_camera(apply_camera(photons, cam, rng=1))
    assert fit.camera.gain_adu_per_e == pytest.approx(gain, rel=0.05)
    assert fit.camera.read_noise_e == pytest.approx(read, rel=0.05)
    # images made with the fitted camera have the same mean-variance curve
    again = apply_camera(photons * cam.quantum_efficiency / fit.camera.quantum_efficiency,
                         fit.camera, rng=2)  # fmt: skip
    c0, c1 = fit.curve, mean_variance(again)
    v0 = np.interp(c1.mean_adu, c0.mean_adu, c0.variance_adu2)
    assert np.all(np.abs(c1.variance_adu2 / v0 - 1) < 0.1)


def test_calibration_rejects_images_without_noise():
    with pytest.raises(InputError):
        calibrate_camera(np.full((256, 256), 100, np.uint16))
    with pytest.raises(InputError, match="2D image"):
        calibrate_camera(np.zeros((4, 64, 64)))


def test_camera_is_a_union_told_apart_by_mode():
    adapter = TypeAdapter(Camera)
    assert isinstance(adapter.validate_python({"mode": "3dmsl"}), ThreeDMSLCamera)
    assert isinstance(adapter.validate_python({"gain_adu_per_e": 2.0}), PhysicalCamera)  # default
    mic = Microscope.model_validate({"camera": {"mode": "3dmsl", "max_range_adu": [100, 150]}})
    assert isinstance(mic.camera, ThreeDMSLCamera) and mic.camera.max_range_adu == (100, 150)
    # a field the 3dmsl mode does not read is an error that names it
    with pytest.raises(ValidationError, match="quantum_efficiency"):
        Microscope.model_validate({"camera": {"mode": "3dmsl", "quantum_efficiency": 0.9}})
    with pytest.raises(ValidationError, match="offset_range_adu"):
        adapter.validate_python({"mode": "physical", "offset_range_adu": [1, 2]})
    with pytest.raises(ValidationError, match="'physical', '3dmsl'"):
        adapter.validate_python({"mode": "emccd"})
    with pytest.raises(ValidationError, match="LOW <= HIGH"):
        ThreeDMSLCamera(offset_range_adu=(70, 20))
    with pytest.raises(ValidationError, match="frozen"):
        CONF1.camera.gain_adu_per_e = 3.0


def test_with_noise_mode_switches_the_camera_model():
    noisy = with_noise_mode(CONF1, "3dmsl")
    assert isinstance(noisy.camera, ThreeDMSLCamera) and noisy.optics == CONF1.optics
    assert with_noise_mode(noisy, "3dmsl") is noisy
    back = with_noise_mode(noisy, "Physical")
    assert back.camera == PhysicalCamera()
    with pytest.raises(InputError, match="physical, 3dmsl"):
        with_noise_mode(CONF1, "poisson")


def test_fixed_pattern_and_background_subtraction():
    base = PhysicalCamera(gain_adu_per_e=2.0, read_noise_e=1.0, background_photons=0)
    flat = np.full((256, 256), 50.0)
    plain = apply_camera(flat, base, rng=0)
    # all extras off: the same bytes as before the extras existed (no extra draws)
    assert plain.tobytes() == apply_camera(flat, base, rng=0).tobytes()
    pattern = base.model_copy(update={"offset_field_std_adu": 3.0, "offset_field_scale_px": 40,
                                      "row_offset_std_adu": 2.0})  # fmt: skip
    from simulator._camera import fixed_pattern_adu

    f = np.stack([fixed_pattern_adu((128, 128), pattern, rng=k) for k in range(40)])
    assert f[:, 64, 64].std() == pytest.approx(np.hypot(3.0, 2.0), rel=0.3)
    rows = f - f.mean(axis=2, keepdims=True)  # the row offsets are constant along a row
    assert np.abs(np.diff(f, axis=2)).mean() < np.abs(np.diff(f, axis=1)).mean()
    assert rows.shape == f.shape
    # subtraction: the mean drops by gain x subtracted electrons, the variance does not
    sub = base.model_copy(update={"subtracted_background_e": 10.0})
    a, b = (
        apply_camera(flat, base, rng=1).astype(float),
        apply_camera(flat, sub, rng=1).astype(float),
    )
    assert a.mean() - b.mean() == pytest.approx(20.0, abs=0.5)
    assert b.var() == pytest.approx(a.var(), rel=0.05)
    dark = apply_camera(np.zeros((64, 64)), sub, rng=1).astype(float)
    assert dark.mean() == pytest.approx(100.0, abs=0.5)  # no light, nothing subtracted


def test_calibration_finds_a_varying_dark_level():
    cam = PhysicalCamera(gain_adu_per_e=2.0, read_noise_e=2.0, background_photons=0,
                         offset_field_std_adu=3.0, offset_field_scale_px=60)  # fmt: skip
    yy, xx = np.mgrid[0:768, 0:768]
    photons = np.clip(np.sin(xx / 120.0) * 300 + 100, 0, None) * (yy > 384)
    fit = calibrate_camera(apply_camera(photons, cam, rng=3))
    # one draw seen over half an image: its spread there is below the field's (3.0)
    assert 1.5 < fit.camera.offset_field_std_adu < 3.5
    assert fit.camera.gain_adu_per_e == pytest.approx(2.0, rel=0.1)
    assert np.abs(fit.relative_residuals).max() < 0.1
