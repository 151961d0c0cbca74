"""Fitting scenes to real images: the measurements against known truth, and the fit recovering
the parameters of scenes it rendered itself."""

from __future__ import annotations

import numpy as np
import pytest

from shapelib import InputError
from simulator import (
    EPI1,
    Acquisition,
    CellSceneConfig,
    FitConfig,
    TubuleConfig,
    classical_mask,
    field_stats,
    fit_scene,
    render_cell_scene,
)
from simulator._fit import EMPTY_FOREGROUND

MIC = EPI1.model_copy(
    update={"optics": EPI1.optics.model_copy(update={"pixel_size_nm": 80.0, "NA": 1.4})}
)
SIZE = 128


def _scene(density: float, width: float, cytosol: float, empty: float = 0.0):
    return CellSceneConfig(
        acquisition=Acquisition(size_px=SIZE, mask="visible"),
        randomize=None, objects=(0, 0), cells=(2, 3), empty_fraction=empty,
        cell_radius_um=(10.0, 12.0), focal_height_nm=(700.0, 700.0),
        cytosol_photons_per_um3=(cytosol * 0.5, cytosol * 1.5), brightness_cv=0.15,
        labelling_variation=0.1,
        tubules=TubuleConfig(density_um_per_um2=(density * 0.8, density * 1.2),
                             width_nm=(width * 0.8, width * 1.2)),
    )  # fmt: skip


def test_the_classical_mask_finds_the_visible_truth_of_a_clear_scene():
    bright = MIC.model_copy(
        update={"labelling": MIC.labelling.model_copy(update={"photons_per_fluorophore": 400})}
    )
    ious = []
    for k in range(2):
        sc = render_cell_scene([], bright, _scene(0.8, 300.0, 100.0), rng=k)
        mask, _, _ = classical_mask(
            sc.image, pixel_size_nm=80.0, fwhm_nm=MIC.optics.nominal_fwhm_nm
        )
        truth = sc.mask > 0
        ious.append((mask & truth).sum() / max((mask | truth).sum(), 1))
    assert np.mean(ious) > 0.5


def test_field_stats_of_pure_noise_find_nothing():
    rng = np.random.default_rng(0)
    for noise in (
        rng.poisson(20.0, (256, 256)).astype(np.uint16),
        rng.normal(100.0, 3.0, (256, 256)).round().clip(0, 255).astype(np.uint8),
    ):
        st = field_stats(noise, pixel_size_nm=80.0, fwhm_nm=220.0)  # fmt: skip
        assert st.foreground < EMPTY_FOREGROUND


def test_fit_recovers_the_parameters_of_scenes_it_rendered():
    truth = {"density": 0.6, "width": 260.0, "photons": 120.0, "cytosol": 120.0}
    lab = MIC.labelling.model_copy(update={"photons_per_fluorophore": truth["photons"]})
    real_mic = MIC.model_copy(update={"labelling": lab})
    real_cfg = _scene(truth["density"], truth["width"], truth["cytosol"])
    real = [render_cell_scene([], real_mic, real_cfg, rng=1000 + k).image for k in range(16)]
    start = _scene(1.2, 340.0, 300.0)  # far from the truth on every parameter
    cfg = FitConfig(rounds=5, images_per_round=16, size_px=SIZE)
    fit = fit_scene(real, MIC, base=start, config=cfg, rng=0)
    got_tub = fit.config.tubules
    density = float(np.mean(got_tub.density_um_per_um2))
    width = float(np.mean(got_tub.width_nm))
    photons = fit.config.microscope.labelling.photons_per_fluorophore
    # density and width within 20 %, the signal level within 25 % (its statistic grows as
    # about the square root of the photons: the medians' noise counts twice)
    assert abs(density / truth["density"] - 1) < 0.2, density
    assert abs(width / truth["width"] - 1) < 0.2, width
    assert abs(photons / truth["photons"] - 1) < 0.25, photons
    summary = {r["statistic"]: r for r in fit.summary()}
    for key in ("length_per_um2", "width_nm", "signal"):
        assert abs(summary[key]["ratio"] - 1) < 0.2, (key, summary[key])


def test_fit_refuses_a_folder_of_background_only():
    rng = np.random.default_rng(1)
    noise = [rng.poisson(30.0, (128, 128)).astype(np.uint16) for _ in range(3)]
    with pytest.raises(InputError, match="no mitochondria"):
        fit_scene(noise, MIC, config=FitConfig(rounds=1, images_per_round=2, size_px=64))


def test_eight_bit_images_set_an_eight_bit_export():
    sc = render_cell_scene([], MIC, _scene(0.8, 300.0, 100.0), rng=3)
    x = sc.image.astype(float)
    eight = np.round((x - x.min()) / np.ptp(x) * 200 + 5).astype(np.uint8)
    fit = fit_scene([eight, eight], MIC, base=_scene(0.8, 300.0, 100.0),
                    config=FitConfig(rounds=1, images_per_round=2, size_px=64))  # fmt: skip
    assert fit.config.export.mode == "stretch8"
    assert fit.config.export.low_level[0] <= 5 <= fit.config.export.low_level[1] + 1
    with pytest.raises(InputError, match="mix 8-bit"):
        fit_scene([eight, sc.image], MIC, config=FitConfig(rounds=1, images_per_round=2))
