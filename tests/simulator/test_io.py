"""Reading shapes (library folders, shape folders), configs and presets."""

from __future__ import annotations

import pytest

from shapelib import InputError
from shapelib.io import write_config
from simulator import CONF1, PhysicalCamera, ThreeDMSLCamera, get_preset
from simulator.io import microscope_from, read_camera, read_microscope, read_shapes

from ._shapes import capsule, sphere, write_library, write_released_folder


def _library(tmp_path):
    return write_library(tmp_path / "lib", {1: (capsule(), "rod"), 2: (sphere(), "dot")})


def test_read_library_and_class_filter(tmp_path):
    lib = _library(tmp_path)
    shapes = read_shapes(lib)
    assert [s.id for s in shapes] == [1, 2] and [s.shape_class for s in shapes] == ["rod", "dot"]
    rods = read_shapes(lib, classes=["ROD"])
    assert len(rods) == 1 and rods[0].mesh.is_watertight
    assert rods[0].mesh.extents.max() == pytest.approx(2000.0, rel=0.02)  # nm, as written
    with pytest.raises(InputError, match="no shape of class"):
        read_shapes(lib, classes=["donut"])


def test_library_reads_only_the_table_columns_it_needs(tmp_path):
    lib = _library(tmp_path)
    # other columns (renamed or added by shapelib) do not matter; folder names come from it
    (lib / "library.csv").write_text("id,folder,class,mesh_volume_um3\n2,000002,dot,0.2\n")
    (shape,) = read_shapes(lib)
    assert shape.id == 2 and shape.shape_class == "dot"
    (lib / "library.csv").write_text("id,class\n1,rod\n")
    with pytest.raises(InputError, match="no folder column"):
        read_shapes(lib)


def test_library_with_an_incomplete_folder_is_an_error(tmp_path):
    lib = _library(tmp_path)
    (lib / "000002" / "meta.json").unlink()
    with pytest.raises(FileNotFoundError, match="incomplete"):
        read_shapes(lib)
    assert [s.id for s in read_shapes(lib, classes=["rod"])] == [1]


def test_shape_folders_ours_and_released(tmp_path):
    lib = _library(tmp_path)
    (ours,) = read_shapes(lib / "000001")
    assert ours.id == 1 and ours.shape_class == "rod"
    released = write_released_folder(tmp_path / "920", sphere(500.0))
    (rel,) = read_shapes(released)
    assert rel.id == 920 and rel.shape_class == ""
    assert rel.mesh.extents.max() == pytest.approx(1000.0, rel=0.02)  # 24 nm voxels -> nm
    with pytest.raises(InputError, match="class"):
        read_shapes(released, classes=["rod"])


def test_only_raw_mesh_off_is_a_mesh(tmp_path):
    folder = tmp_path / "other"
    folder.mkdir()
    sphere().export(folder / "mesh.ply")  # another mesh name: not a shape folder
    with pytest.raises(FileNotFoundError, match="raw_mesh.off"):
        read_shapes(folder)
    with pytest.raises(FileNotFoundError, match="neither a library"):
        read_shapes(folder)
    with pytest.raises(FileNotFoundError):
        read_shapes(tmp_path / "missing")


def test_unknown_preset_lists_valid_ones():
    with pytest.raises(InputError, match="Conf1, Conf2, Epi1"):
        get_preset("Conf9")
    assert get_preset("epi1").name == "Epi1"


def test_yaml_round_trip_and_camera_override(tmp_path):
    p = write_config(tmp_path / "m.yaml", CONF1)
    assert read_microscope(p) == CONF1
    cam = write_config(tmp_path / "cam.yaml", PhysicalCamera(gain_adu_per_e=3))
    mic = microscope_from("Conf2", camera=cam)
    assert mic.name == "Conf2" and mic.camera.gain_adu_per_e == 3
    (tmp_path / "bad.yaml").write_text("optics: {NA: 1.6}\n")
    with pytest.raises(InputError, match="NA must be below"):
        read_microscope(tmp_path / "bad.yaml")
    (tmp_path / "typo.yaml").write_text("optic: {}\n")
    with pytest.raises(InputError, match="optic"):
        read_microscope(tmp_path / "typo.yaml")


def test_camera_yaml_of_either_mode(tmp_path):
    p = write_config(tmp_path / "c.yaml", {"camera": {"mode": "3dmsl"}})
    assert read_camera(p) == ThreeDMSLCamera()
    # the old single Camera model wrote every field; in 3dmsl mode those are errors by name
    (tmp_path / "old.yaml").write_text("mode: 3dmsl\ngain_adu_per_e: 1.0\n")
    with pytest.raises(InputError, match="gain_adu_per_e"):
        read_camera(tmp_path / "old.yaml")
    (tmp_path / "bad.yaml").write_text("camera:\n  mode: 3dmsl\n  offset_range_3dmsl: [20, 70]\n")
    with pytest.raises(InputError, match="offset_range_3dmsl"):
        microscope_from("Epi1", camera=tmp_path / "bad.yaml")
