"""The one TIFF reader/writer: scale round trips, dtypes, atomic replacement, bad files."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from shapelib import InputError
from shapelib.io import read_tiff, write_tiff


@pytest.mark.parametrize("size_nm", [30.0, 70.0, 109.0, 5.03, 0.5, 1234.567, 63.77])
def test_scale_round_trips_exactly(tmp_path, size_nm):
    path = write_tiff(tmp_path / "a.tif", np.zeros((3, 4, 5), np.uint16),
                      pixel_size_nm=size_nm, z_step_nm=size_nm * 2)  # fmt: skip
    img = read_tiff(path)
    assert img.pixel_size_nm == (size_nm, size_nm)
    assert img.z_step_nm == size_nm * 2
    assert img.voxel_size_nm == (size_nm * 2, size_nm, size_nm)


def test_anisotropic_pixels_and_no_scale(tmp_path):
    img = read_tiff(write_tiff(tmp_path / "a.tif", np.ones((4, 6), bool), pixel_size_nm=(8, 5)))
    assert img.pixel_size_nm == (8.0, 5.0) and img.z_step_nm is None
    assert img.data.dtype == np.uint8 and img.data.sum() == 24
    bare = read_tiff(write_tiff(tmp_path / "b.tif", np.ones((4, 6)), pixel_size_nm=None))
    assert bare.pixel_size_nm is None and bare.data.dtype == np.float32


def test_imagej_reads_the_scale(tmp_path):
    path = write_tiff(tmp_path / "a.tif", np.zeros((2, 3, 3), np.uint8), pixel_size_nm=80,
                      z_step_nm=250)  # fmt: skip
    with tifffile.TiffFile(path) as tif:
        assert tif.is_imagej
        assert tif.imagej_metadata["unit"] == "um"
        assert tif.imagej_metadata["spacing"] == pytest.approx(0.25)
        num, den = tif.pages[0].tags["XResolution"].value
        assert num / den == pytest.approx(1000 / 80)


def test_label_dtypes(tmp_path):
    ids = np.arange(12, dtype=np.int64).reshape(3, 4) * 1000
    assert read_tiff(write_tiff(tmp_path / "a.tif", ids, pixel_size_nm=1)).data.dtype == np.uint16
    big = ids * 1000  # up to 11e6 > 65535: exact in float32 up to 2^24
    back = read_tiff(write_tiff(tmp_path / "b.tif", big, pixel_size_nm=1)).data
    assert back.dtype == np.float32 and np.array_equal(back.astype(np.int64), big)
    with pytest.raises(InputError, match="do not fit"):
        write_tiff(tmp_path / "c.tif", ids * 10**6, pixel_size_nm=1)


def test_failed_write_keeps_the_old_file(tmp_path):
    path = write_tiff(tmp_path / "a.tif", np.ones((4, 4), np.uint8), pixel_size_nm=10)
    before = path.read_bytes()
    with pytest.raises(InputError):
        write_tiff(path, np.ones((4, 4), np.uint8), pixel_size_nm=-5)
    with pytest.raises(InputError):
        write_tiff(path, np.ones((2, 2, 2, 2), np.uint8), pixel_size_nm=5)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tif"]


@pytest.mark.parametrize("content", [b"", b"II*\x00garbage", b"not a tiff at all"])
def test_bad_files_are_input_errors(tmp_path, content):
    path = tmp_path / "bad.tif"
    path.write_bytes(content)
    with pytest.raises(InputError, match="could not read TIFF"):
        read_tiff(path)
    with pytest.raises(FileNotFoundError):
        read_tiff(tmp_path / "missing.tif")


def test_truncated_file_is_an_input_error(tmp_path):
    path = write_tiff(tmp_path / "a.tif", np.arange(4096, dtype=np.uint16).reshape(64, 64),
                      pixel_size_nm=10, compression=None)  # fmt: skip
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(InputError):
        read_tiff(path)
