"""`mitoshape extract` and `mitoshape library summary | gallery` on tiny volumes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from shapelib.io import write_volume

FAST = ("--points", "1000", "--occupancy-points", "1000", "--workers", "1")


def _tiny_volume() -> np.ndarray:
    """Two separate capsule-like boxes and a dot, (Z, Y, X) uint8."""
    vol = np.zeros((20, 40, 60), np.uint8)
    vol[4:14, 5:15, 5:50] = 1
    vol[4:14, 24:34, 10:40] = 1
    vol[8:13, 18:22, 52:57] = 1
    return vol


@pytest.fixture(scope="module")
def tiny_library(tmp_path_factory):
    """A library extracted through the CLI from a TIFF carrying its voxel size (12 nm)."""
    from typer.testing import CliRunner

    from cli import app

    root = tmp_path_factory.mktemp("cli")
    tif = write_volume(root / "vol.tif", _tiny_volume(), voxel_size_nm=12)
    lib = root / "lib"
    result = CliRunner().invoke(app, ["extract", str(tif), "-o", str(lib), *FAST])
    assert result.exit_code == 0, result.output
    return tif, lib, result.stdout


def test_extract_writes_a_library_with_the_voxel_size_of_the_file(tiny_library):
    _, lib, stdout = tiny_library
    assert "wrote 3 instances" in stdout
    table = pd.read_csv(lib / "library.csv")
    assert len(table) == 3
    info = json.loads((lib / "library.json").read_text())
    assert info["run"]["input"]["voxel_size_nm"] == [12.0, 12.0, 12.0]
    assert info["run"]["shape"]["n_surface_points"] == 1000


def test_rerun_with_same_arguments_changes_nothing(tiny_library, invoke):
    tif, lib, _ = tiny_library
    before = {p: p.read_bytes() for p in lib.rglob("*") if p.is_file()}
    result = invoke("extract", tif, "-o", lib, *FAST)
    assert result.exit_code == 0, result.stderr
    after = {p: p.read_bytes() for p in lib.rglob("*") if p.is_file()}
    assert before == after


def test_library_summary(tiny_library, invoke):
    _, lib, _ = tiny_library
    result = invoke("library", "summary", lib)
    assert result.exit_code == 0, result.stderr
    assert "3 instances" in result.stdout
    assert "classes:" in result.stdout


def test_library_gallery_writes_a_png(tiny_library, invoke, tmp_path):
    _, lib, _ = tiny_library
    png = tmp_path / "x.png"
    result = invoke("library", "gallery", lib, "-o", png)
    assert result.exit_code == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = invoke("library", "gallery", lib, "--class", "nope", "-o", tmp_path / "y.png")
    assert bad.exit_code == 2 and "nope" in bad.stderr


def _one_line_error(result, *words):
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    line = result.stderr.strip()
    assert line.startswith("error:") and "\n" not in line
    for w in words:
        assert w in line, line


def test_npy_without_voxel_size_is_a_one_line_error(invoke, tmp_path):
    npy = tmp_path / "vol.npy"
    np.save(npy, _tiny_volume())
    _one_line_error(invoke("extract", npy, "-o", tmp_path / "lib", *FAST), "voxel")
    assert not (tmp_path / "lib").exists()
    ok = invoke("extract", npy, "-o", tmp_path / "lib", "--voxel-size-nm", "24,12,12", *FAST)
    assert ok.exit_code == 0, ok.stderr
    info = json.loads((tmp_path / "lib" / "library.json").read_text())
    assert info["run"]["input"]["voxel_size_nm"] == [24.0, 12.0, 12.0]


def test_missing_hdf5_dataset_is_a_one_line_error(invoke, tmp_path):
    import h5py

    h5 = tmp_path / "vol.h5"
    with h5py.File(h5, "w") as f:
        f["labels"] = _tiny_volume()
    spec = f"{h5}:/nope"
    _one_line_error(invoke("extract", spec, "-o", tmp_path / "lib", *FAST), "/nope", "/labels")
    assert not (tmp_path / "lib").exists()


@pytest.mark.parametrize("name", ["vol.tif", "vol.h5", "vol.npy"])
def test_corrupt_file_is_a_one_line_error(invoke, tmp_path, name):
    bad = tmp_path / name
    bad.write_bytes(b"not a volume at all" * 10)
    args = ("--voxel-size-nm", "8", *FAST)
    _one_line_error(invoke("extract", bad, "-o", tmp_path / "lib", *args), name)
    assert not (tmp_path / "lib").exists()


def test_a_different_library_needs_overwrite(tiny_library, invoke, tmp_path):
    import shutil

    tif, lib, _ = tiny_library
    mine = tmp_path / "lib"
    shutil.copytree(lib, mine)
    _one_line_error(
        invoke("extract", tif, "-o", mine, *FAST, "--seed", "3"), "different library", "--overwrite"
    )
    result = invoke("extract", tif, "-o", mine, *FAST, "--seed", "3", "--overwrite")
    assert result.exit_code == 0, result.stderr
    assert json.loads((mine / "library.json").read_text())["run"]["seed"] == 3


def test_chunked_and_in_memory_write_the_same_library(invoke, tmp_path):
    import zarr

    store = tmp_path / "vol.zarr"
    arr = zarr.open_array(str(store), mode="w", shape=(20, 40, 60), dtype=np.uint8,
                          chunks=(8, 16, 16))  # fmt: skip
    arr[...] = _tiny_volume()
    arr.attrs["voxel_size_nm"] = [12, 12, 12]
    libs = {}
    for flag in ("--chunked", "--in-memory"):
        out = tmp_path / flag.strip("-")
        result = invoke("extract", store, "-o", out, *FAST, flag, "--block-size", "12")
        assert result.exit_code == 0, result.stderr
        assert "wrote 3 instances" in result.stdout
        libs[flag] = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert libs["--chunked"] == libs["--in-memory"]


def test_unreachable_scheduler_is_a_one_line_error(invoke, tmp_path, monkeypatch):
    import socket

    import shapelib._runner

    monkeypatch.setattr(shapelib._runner, "CONNECT_TIMEOUT_S", 1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tif = write_volume(tmp_path / "vol.tif", _tiny_volume(), voxel_size_nm=12)
    result = invoke("extract", tif, "-o", tmp_path / "lib", *FAST, "--scheduler",
                    f"tcp://127.0.0.1:{port}")  # fmt: skip
    _one_line_error(result, "Dask scheduler", f"127.0.0.1:{port}")
