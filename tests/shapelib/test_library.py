"""Whole libraries: files, resume to the same bytes, overwrite refusal, real data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from shapelib import ExtractParams, extract_library
from shapelib._shape import ShapeParams

SMALL = ShapeParams(n_surface_points=500, n_occupancy_points=500)


def _volume():
    vol = np.zeros((20, 24, 40), np.uint8)
    vol[3:9, 4:10, 4:30] = 1
    vol[12:18, 12:18, 10:20] = 1
    vol[2:5, 18:21, 34:37] = 1  # a 27-voxel dot
    return vol


def _digest(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_library_files_and_table(tmp_path):
    out = tmp_path / "lib"
    summary = extract_library(_volume(), out, voxel_size_nm=20, shape=SMALL, n_workers=1)
    assert summary.n_instances == 3
    assert (out / "library.csv").is_file() and (out / "library.json").is_file()
    for name in ("000001", "000002", "000003"):
        for f in ("raw_mesh.off", "pointcloud.ply", "occupancies.npz", "meta.json"):
            assert (out / name / f).is_file()
    from shapelib.io import read_library_table

    table = read_library_table(out)
    assert list(table["folder"]) == ["000001", "000002", "000003"]
    assert table["voxel_count"].sum() == _volume().sum()
    assert table["class"].notna().all()


def test_resume_gives_the_same_bytes(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    extract_library(_volume(), full, voxel_size_nm=20, shape=SMALL, n_workers=1)
    extract_library(_volume(), part, voxel_size_nm=20, shape=SMALL, n_workers=1)
    # simulate an interruption: one folder half-written, one missing, no index yet
    (part / "000002" / "meta.json").unlink()
    import shutil

    shutil.rmtree(part / "000003")
    (part / "library.csv").unlink()
    extract_library(_volume(), part, voxel_size_nm=20, shape=SMALL, n_workers=1)
    assert _digest(part) == _digest(full)


def test_different_library_is_refused_unless_overwrite(tmp_path):
    out = tmp_path / "lib"
    extract_library(_volume(), out, voxel_size_nm=20, shape=SMALL, n_workers=1)
    with pytest.raises(FileExistsError, match="different library"):
        extract_library(_volume(), out, voxel_size_nm=20, shape=SMALL, seed=1, n_workers=1)
    s = extract_library(
        _volume(), out, voxel_size_nm=20, shape=SMALL, seed=1, n_workers=1, overwrite=True
    )
    assert s.n_instances == 3


def test_bad_input_writes_nothing(tmp_path):
    out = tmp_path / "lib"
    with pytest.raises(ValueError):
        extract_library(np.zeros((4, 5), np.uint8), out, voxel_size_nm=20)
    with pytest.raises(ValueError):
        extract_library(_volume(), out, voxel_size_nm=0)
    assert not out.exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    with pytest.raises(FileExistsError, match="holds no library"):
        extract_library(_volume(), tmp_path / "other", voxel_size_nm=20, shape=SMALL)


def test_empty_volume_gives_an_empty_library(tmp_path):
    s = extract_library(np.zeros((5, 6, 7), bool), tmp_path / "e", voxel_size_nm=8, shape=SMALL)
    assert s.n_instances == 0
    assert (tmp_path / "e" / "library.csv").read_text().startswith("id,")


def test_lucchi_crop(shared_data, tmp_path):
    from shapelib.io import read_volume

    vol = read_volume(shared_data / "lucchi_pp" / "test_labels_3d.tif", voxel_size_nm=5)
    crop = np.ascontiguousarray(vol.data[:60, :256, :256])
    s = extract_library(
        crop, tmp_path / "l", voxel_size_nm=5, extract=ExtractParams(downsample=3),
        shape=SMALL, n_workers=2,
    )  # fmt: skip
    assert s.n_instances >= 1
    from shapelib.io import read_instance, read_library_table

    table = read_library_table(tmp_path / "l")
    for folder in table["folder"]:
        shape = read_instance(tmp_path / "l" / folder)
        assert shape.mesh.is_watertight


@pytest.mark.slow
def test_lucchi_whole_volume(shared_data, tmp_path):
    from shapelib.io import read_volume

    vol = read_volume(shared_data / "lucchi_pp" / "test_labels_3d.tif", voxel_size_nm=5)
    s = extract_library(vol, tmp_path / "l", extract=ExtractParams(downsample=3), shape=SMALL)
    assert s.n_instances >= 20
