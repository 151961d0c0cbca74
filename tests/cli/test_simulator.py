"""`mitoshape psf | simulate | dataset | calibrate` on tiny inputs."""

from __future__ import annotations

import json

import numpy as np
import tifffile

from simulator import Camera, apply_camera
from tests.simulator._shapes import capsule, sphere


def _library(tmp_path):
    lib = tmp_path / "lib"
    for sid, mesh in ((1, capsule(800.0, 200.0)), (2, sphere(300.0))):
        d = lib / f"{sid:06d}"
        d.mkdir(parents=True)
        mesh = mesh.copy()
        mesh.apply_scale(1 / 24.0)
        mesh.export(d / "raw_mesh.off")
    (lib / "library.csv").write_text("id,class\n1,rod\n2,dot\n")
    return lib


def test_psf_command_writes_voxel_size(invoke, tmp_path):
    out = tmp_path / "psf.tif"
    r = invoke("psf", "--preset", "Epi1", "-o", out, "--size", 17, "--z-planes", 5)
    assert r.exit_code == 0, r.stderr
    with tifffile.TiffFile(out) as t:
        assert t.series[0].shape == (5, 17, 17)
        assert t.imagej_metadata["spacing"] == 0.1
    assert (tmp_path / "psf.yaml").is_file()


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
    assert r.exit_code == 2 and "raw_mesh.off" in r.stderr


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


def test_calibrate_then_simulate_with_camera(invoke, tmp_path):
    cam = Camera(gain_adu_per_e=2.0, read_noise_e=2.0, offset_adu=100, background_photons=0)
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
