"""Camera noise and calibration from one image."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import Camera, apply_camera, calibrate_camera, mean_variance


def test_physical_camera_mean_and_variance():
    cam = Camera(gain_adu_per_e=2.0, read_noise_e=3.0, offset_adu=100, quantum_efficiency=0.5,
                 background_photons=0)  # fmt: skip
    img = apply_camera(np.full((400, 400), 200.0), cam, rng=0).astype(float)
    assert img.mean() == pytest.approx(100 + 2 * 0.5 * 200, rel=0.01)
    assert img.var() == pytest.approx(4 * (100 + 9), rel=0.03)


def test_3dmsl_noise_mode_ranges_and_determinism():
    cam = Camera(mode="3dmsl")
    x = np.zeros((64, 64))
    x[20:40, 20:40] = 5.0
    a = apply_camera(x, cam, rng=3)
    assert a.dtype == np.uint16
    assert 15 < np.median(a) < 80 and 180 < a.max() < 300
    assert a.tobytes() == apply_camera(x, cam, rng=3).tobytes()


def test_saturates_at_bit_depth():
    img = apply_camera(np.full((8, 8), 1e6), Camera(bit_depth=12), rng=0)
    assert img.max() == 4095


@pytest.mark.parametrize("gain,read", [(2.5, 3.0), (0.8, 1.5)])
def test_calibration_recovers_gain_and_read_noise_within_5_percent(gain, read):
    cam = Camera(gain_adu_per_e=gain, read_noise_e=read, offset_adu=100, background_photons=0)
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
    with pytest.raises(ValueError):
        calibrate_camera(np.full((256, 256), 100, np.uint16))
    with pytest.raises(ValueError, match="2D image"):
        calibrate_camera(np.zeros((4, 64, 64)))
