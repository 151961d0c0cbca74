"""Reading shapes (library folders, instance folders), configs and presets."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from simulator import CONF1, Microscope, get_preset
from simulator.io import microscope_from, read_microscope, read_shapes, write_tiff, write_yaml

from ._shapes import capsule, sphere


def _library(tmp_path):
    lib = tmp_path / "lib"
    for sid, mesh in ((1, capsule()), (2, sphere())):
        d = lib / f"{sid:06d}"
        d.mkdir(parents=True)
        mesh = mesh.copy()
        mesh.apply_scale(1 / 24.0)  # released layout: OFF in 24 nm voxels
        mesh.export(d / "raw_mesh.off")
    (lib / "library.csv").write_text("id,class,volume_um3\n1,rod,0.3\n2,dot,0.2\n")
    return lib


def test_read_library_and_class_filter(tmp_path):
    lib = _library(tmp_path)
    shapes = read_shapes(lib)
    assert [s.id for s in shapes] == [1, 2] and [s.shape_class for s in shapes] == ["rod", "dot"]
    rods = read_shapes(lib, classes=["rod"])
    assert len(rods) == 1 and rods[0].mesh.is_watertight
    assert rods[0].mesh.extents.max() == pytest.approx(2000.0, rel=0.02)  # nm
    with pytest.raises(ValueError, match="no instance of class"):
        read_shapes(lib, classes=["donut"])


def test_instance_folder_without_mesh(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="neither library.csv nor a mesh"):
        read_shapes(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        read_shapes(tmp_path / "missing")


def test_unknown_preset_lists_valid_ones():
    with pytest.raises(ValueError, match="Conf1, Conf2, Epi1"):
        get_preset("Conf9")
    assert get_preset("epi1").name == "Epi1"


def test_yaml_round_trip_and_camera_override(tmp_path):
    p = write_yaml(tmp_path / "m.yaml", CONF1)
    assert read_microscope(p) == CONF1
    cam = write_yaml(tmp_path / "cam.yaml", CONF1.camera.model_copy(update={"gain_adu_per_e": 3}))
    mic = microscope_from("Conf2", camera=cam)
    assert mic.name == "Conf2" and mic.camera.gain_adu_per_e == 3
    (tmp_path / "bad.yaml").write_text("optics: {NA: 1.6}\n")
    with pytest.raises(ValueError, match="NA must be below"):
        read_microscope(tmp_path / "bad.yaml")
    with pytest.raises(ValueError):
        Microscope.model_validate({"optic": {}})


def test_tiff_has_pixel_size(tmp_path):
    p = write_tiff(tmp_path / "a.tif", np.zeros((3, 8, 8), np.uint16), pixel_size_nm=70,
                   z_step_nm=250)  # fmt: skip
    with tifffile.TiffFile(p) as t:
        assert t.imagej_metadata["spacing"] == pytest.approx(0.25)
        num, den = t.pages[0].tags["XResolution"].value
        assert num / den == pytest.approx(1 / 0.07)
