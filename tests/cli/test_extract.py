"""`mitoshape extract` and `mitoshape library summary | gallery` on tiny data."""

from __future__ import annotations

import numpy as np


def _npy(tmp_path):
    vol = np.zeros((20, 24, 40), np.uint8)
    vol[3:9, 4:10, 4:30] = 1
    path = tmp_path / "v.npy"
    np.save(path, vol)
    return path


def test_extract_summary_gallery(invoke, tmp_path):
    src, lib = _npy(tmp_path), tmp_path / "lib"
    r = invoke("extract", src, "-o", lib, "--voxel-size-nm", "20", "--points", "300",
               "--occupancy-points", "300", "--workers", "1")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "1 instances" in r.stdout
    r = invoke("library", "summary", lib)
    assert r.exit_code == 0 and "1 instances" in r.stdout
    r = invoke("library", "gallery", lib, "-o", tmp_path / "g.png")
    assert r.exit_code == 0 and (tmp_path / "g.png").is_file()


def test_extract_errors_are_one_line(invoke, tmp_path):
    src = _npy(tmp_path)
    r = invoke("extract", src, "-o", tmp_path / "l")  # no voxel size
    assert r.exit_code == 2 and "voxel-size-nm" in r.stderr and "\n" not in r.stderr.strip()
    r = invoke("extract", tmp_path / "missing.tif", "-o", tmp_path / "l", "--voxel-size-nm", "8")
    assert r.exit_code == 2
    r = invoke("extract", src, "-o", tmp_path / "l", "--voxel-size-nm", "0")
    assert r.exit_code == 2
    r = invoke("extract", src, "-o", tmp_path / "l", "--voxel-size-nm", "8",
               "--connectivity", "8")  # fmt: skip
    assert r.exit_code == 2
    assert not (tmp_path / "l").exists()
