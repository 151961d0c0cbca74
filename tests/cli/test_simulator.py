"""`mitoshape psf | simulate | dataset | calibrate` on tiny inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from shapelib.io import read_tiff
from simulator import PhysicalCamera, apply_camera
from simulator.io import read_microscope
from tests.simulator._shapes import capsule, sphere, write_library


def _library(tmp_path):
    shapes = {1: (capsule(800.0, 200.0), "rod"), 2: (sphere(300.0), "dot")}
    return write_library(tmp_path / "lib", shapes)


def test_psf_command_writes_voxel_size(invoke, tmp_path):
    out = tmp_path / "psf.tif"
    r = invoke("psf", "--preset", "Epi1", "-o", out, "--size", 17, "--z-planes", 5)
    assert r.exit_code == 0, r.stderr
    psf = read_tiff(out)
    assert psf.data.shape == (5, 17, 17) and psf.data.dtype == np.float32
    assert psf.pixel_size_nm == pytest.approx((109.0, 109.0))
    assert psf.z_step_nm == pytest.approx(100.0)
    assert read_microscope(tmp_path / "psf.yaml").name == "Epi1"


def test_unknown_preset_is_one_line_error(invoke, tmp_path):
    r = invoke("psf", "--preset", "Conf7", "-o", tmp_path / "p.tif")
    assert r.exit_code == 2 and "Conf1, Conf2, Epi1" in r.stderr


def test_simulate_writes_3dmsl_layout(invoke, tmp_path):
    lib = _library(tmp_path)
    out = tmp_path / "sim"
    r = invoke("simulate", lib, "-o", out, "--preset", "Conf1", "--preset", "Epi1", "--views",
               "0,x90", "--class", "rod", "--size", 32, "--workers", 1)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    img = tifffile.imread(out / "1" / "Conf1_imgs" / "N_0_1_x90.tif")
    assert img.shape == (32, 32) and img.dtype == np.uint16
    assert (out / "1" / "Epi1_imgs" / "0_1_0.tif").is_file()
    assert tifffile.imread(out / "1" / "Epi1_masks" / "0_1_0.tif").dtype == np.uint8
    assert not (out / "2").exists()  # filtered by class
    meta = json.loads((out / "simulate.json").read_text())
    assert len(meta["images"]) == 4 and (out / "microscope_Conf1.yaml").is_file()


def test_simulate_missing_mesh_is_an_error(invoke, tmp_path):
    (tmp_path / "inst").mkdir()
    r = invoke("simulate", tmp_path / "inst", "-o", tmp_path / "o")
    assert r.exit_code == 2 and "raw_mesh.off" in r.stderr and "library" in r.stderr


def test_dataset_command(invoke, tmp_path):
    lib = _library(tmp_path)
    out = tmp_path / "ds"
    r = invoke("dataset", lib, "-o", out, "--preset", "Epi1", "--n", 2, "--size", 48,
               "--objects", "1-2", "--seed", 0, "--workers", 1)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in (out / "masks").iterdir()) == ["img_000000.tif", "img_000001.tif"]
    assert json.loads((out / "dataset.json").read_text())["n"] == 2
    bad = invoke("dataset", lib, "-o", tmp_path / "d2", "--objects", "x")
    assert bad.exit_code == 2 and "MIN-MAX" in bad.stderr
    r = invoke("dataset", lib, "-o", tmp_path / "d3", "--n", 1, "--size", 32, "--objects", "1",
               "--z-planes", 3, "--z-step-nm", 300, "--workers", 1)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    stack = read_tiff(tmp_path / "d3" / "labels" / "img_000000.tif")
    assert stack.data.shape == (3, 32, 32) and stack.z_step_nm == pytest.approx(300.0)


def test_calibrate_then_simulate_with_camera(invoke, tmp_path):
    cam = PhysicalCamera(gain_adu_per_e=2.0, read_noise_e=2.0, background_photons=0)
    photons = np.repeat(np.linspace(0, 300, 256)[None, :], 256, axis=0)
    tifffile.imwrite(tmp_path / "real.tif", apply_camera(photons, cam, rng=0))
    r = invoke("calibrate", tmp_path / "real.tif", "-o", tmp_path / "cam.yaml")
    assert r.exit_code == 0, r.stderr
    gain = float(r.stdout.split("gain ")[1].split()[0])
    assert abs(gain - 2.0) < 0.1
    lib = _library(tmp_path)
    r = invoke("simulate", lib / "000002", "-o", tmp_path / "s", "--preset", "Epi1", "--views",
               "0", "--size", 24, "--camera", tmp_path / "cam.yaml", "--workers", 1)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    r = invoke("simulate", lib / "000002", "-o", tmp_path / "s3", "--preset", "Epi1", "--views",
               "0", "--size", 24, "--noise", "3dmsl", "--workers", 1)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert read_microscope(tmp_path / "s3" / "microscope_Epi1.yaml").camera.mode == "3dmsl"
    r = invoke("simulate", lib / "000002", "-o", tmp_path / "s4", "--noise", "poisson")
    assert r.exit_code == 2 and "physical, 3dmsl" in r.stderr


def test_simulate_and_dataset_on_a_dask_cluster_write_the_same_bytes(invoke, tmp_path):
    from distributed import LocalCluster

    lib = _library(tmp_path)
    runs = {
        "simulate": ("--preset", "Epi1", "--views", "0,x90", "--size", 24),
        "dataset": ("--preset", "Epi1", "--n", 3, "--size", 32, "--objects", "1-2"),
    }

    def files(out):
        return {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, host="127.0.0.1",
                      protocol="tcp", dashboard_address=None) as cluster:  # fmt: skip
        for cmd, args in runs.items():
            here, there = tmp_path / f"{cmd}_here", tmp_path / f"{cmd}_dask"
            r = invoke(cmd, lib, "-o", here, *args, "--seed", 4, "--workers", 1)
            assert r.exit_code == 0, r.stderr
            r = invoke(cmd, lib, "-o", there, *args, "--seed", 4, "--scheduler",
                       cluster.scheduler_address)  # fmt: skip
            assert r.exit_code == 0, r.stderr
            a, b = files(here), files(there)
            assert len(a) > 5 and a == b, cmd


def test_calibrate_psf_writes_a_microscope_the_simulator_accepts(invoke, tmp_path):
    from shapelib.io import write_tiff
    from simulator import Aberrations
    from tests.simulator.test_beadfit import AIR, bead_stack

    truth = AIR.model_copy(update={"aberrations": Aberrations(spherical_nm=-40)})
    stack, depth = bead_stack(truth, diameter_nm=300, planes=9, size=28, n_emitters=8000)
    write_tiff(tmp_path / "bead.tif", stack, pixel_size_nm=130.0, z_step_nm=300.0)
    out = tmp_path / "scope.yaml"
    args = ("calibrate-psf", tmp_path / "bead.tif", "-o", out, "--wavelength-nm", 520, "--na",
            0.85, "--immersion-index", 1.0, "--depth-nm", depth, "--window-px", 6, "--terms",
            "spherical")  # fmt: skip
    r = invoke(*args)
    assert r.exit_code == 0, r.stderr
    assert "lateral FWHM: bead" in r.stdout and "normalised residual" in r.stdout
    mic = read_microscope(out)
    assert mic.optics.NA == pytest.approx(0.80, abs=0.01) and mic.name == "scope"
    assert mic.optics.aberrations.spherical_nm == pytest.approx(-40, abs=4)
    model = read_tiff(tmp_path / "scope_model.tif")
    assert model.data.shape == stack.shape and model.z_step_nm == pytest.approx(300.0)
    assert (tmp_path / "scope_fit.yaml").is_file()
    # --config takes it: the calibrated optics render
    r = invoke("psf", "--config", out, "-o", tmp_path / "psf.tif", "--size", 9, "--z-planes", 3)
    assert r.exit_code == 0, r.stderr
    assert invoke(*args).exit_code == 2  # outputs exist: refused without --overwrite


def test_calibrate_psf_needs_the_voxel_size(invoke, tmp_path):
    tifffile.imwrite(tmp_path / "bead.tif", np.zeros((5, 32, 32), np.uint16))
    r = invoke("calibrate-psf", tmp_path / "bead.tif", "-o", tmp_path / "o.yaml",
               "--wavelength-nm", 520, "--na", 0.8, "--immersion-index", 1.0)  # fmt: skip
    assert r.exit_code == 2 and "--pixel-size-nm and --z-step-nm" in r.stderr
    r = invoke("calibrate-psf", tmp_path / "bead.tif", "-o", tmp_path / "o.yaml",
               "--wavelength-nm", 520, "--na", 0.8, "--pixel-size-nm", 100, "--z-step-nm",
               200, "--terms", "tilt")  # fmt: skip
    assert r.exit_code == 2 and "--terms" in r.stderr


def test_dataset_cell_scenes(invoke, tmp_path):
    lib = _library(tmp_path)
    (tmp_path / "cell.yaml").write_text("cell_radius_um: [2.0, 3.0]\ncytosol_photons_per_um3: 50\n")
    out = tmp_path / "cells"
    r = invoke("dataset", lib, "-o", out, "--scene", "cell", "--scene-config",
               tmp_path / "cell.yaml", "--n", 1, "--size", 48, "--objects", "6-8", "--workers",
               1)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["scene"]["kind"] == "cell" and meta["scene"]["cytosol_photons_per_um3"] == [50, 50]
    assert meta["scene"]["objects"] == [6, 8]
    bad = invoke("dataset", lib, "-o", tmp_path / "c2", "--scene", "tissue")
    assert bad.exit_code == 2 and "objects or cell" in bad.stderr
