"""Against real data: released 3DMSL images of instance 1, a measured bead, a real image."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from simulator import (
    CONF2,
    VIEWS_3DMSL,
    Optics,
    calibrate_camera,
    central_ncc,
    compare_bead_psf,
    simulate_shape,
)
from simulator.io import read_shapes

pytestmark = pytest.mark.realdata


def test_six_conf2_views_resemble_released_images(shared_data):
    folder = shared_data / "3dmsl_samples" / "1"
    (shape,) = read_shapes(folder)
    views = simulate_shape(shape.mesh, CONF2, rng=0)
    scores = []
    for v in VIEWS_3DMSL:
        ref = tifffile.imread(folder / "Conf2_imgs" / f"0_1_{v}.tif")
        scores.append(central_ncc(views[v].expected, ref))
    assert np.mean(scores) > 0.65, scores  # 3DMSL's own re-run scores about 0.65


def test_bead_psf_width_ratios(shared_data):
    bead = tifffile.imread(shared_data / "psf" / "psf_wl520nm_z300nm_x130nm_na0.85_n1.0.tif")
    o = Optics(emission_wavelength_nm=520, NA=0.85, immersion_index=1.0, sample_index=1.0,
               pixel_size_nm=130)  # fmt: skip
    c = compare_bead_psf(bead, o, z_step_nm=300)  # the comparison benchmarks/ reports
    # the measured bead is wider than the ideal scalar PSF (bead size, aberrations): the
    # ratios are reported in benchmarks/RESULTS.md; here they must stay in a sane band
    assert 0.6 < c.lateral_ratio < 1.1 and 0.5 < c.axial_ratio < 1.1


def test_calibrate_real_epifluorescence_image(shared_data):
    img = tifffile.imread(shared_data / "fluorescence" / "mcc13_human_mito_80nm.tif")
    fit = calibrate_camera(img)
    assert 0.5 < fit.camera.gain_adu_per_e < 5 and 60 < fit.camera.offset_adu < 90


def test_central_ncc_known_answers():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(64, 64))
    assert central_ncc(a, a) == pytest.approx(1.0)
    assert central_ncc(a, -a) == pytest.approx(-1.0)
    assert central_ncc(a, 3 * a + 7) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="one shape"):
        central_ncc(a, a[:40, :40])
