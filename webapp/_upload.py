"""Images that come from the browser: checked in bytes and pixels before they are decoded.

An upload is refused with 413 when it holds more bytes or pixels than the server allows, and
with 422 when it is not a readable 2D TIFF or PNG. The size in pixels is read from the file's
header first, so a small file that would decode to a huge image is refused before decoding.
Decoding goes through `segtrain.io.read_scaled_image` (shapelib's TIFF reader keeps the pixel
size), and the pixels through `shapelib.as_grey_image` (numbers, grey, no NaN or infinity): the
reader and the check `mitoshape predict` uses (`read_grey`), so the page refuses what the command
refuses, in the same words.
"""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

from fastapi import HTTPException

__all__ = ["SUFFIXES", "check_pixels", "read_image_file", "read_upload"]

SUFFIXES = (".tif", ".tiff", ".png")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _fail(name: str, err: BaseException | str) -> HTTPException:
    msg = " ".join(str(err).split())[:240] or type(err).__name__
    return HTTPException(422, f"could not read {name!r} as a TIFF or PNG image: {msg}")


def _header_shape(path: Path, suffix: str, name: str) -> tuple[int, ...]:
    """The image's shape from its header, without decoding the pixels."""
    if suffix == ".png":
        with open(path, "rb") as f:
            data = f.read(24)
        if data[:8] != _PNG_MAGIC or data[12:16] != b"IHDR":
            raise _fail(name, "not a PNG file (bad signature)")
        width, height = struct.unpack(">II", data[16:24])
        return (int(height), int(width))
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            return tuple(int(s) for s in tif.series[0].shape)
    except Exception as err:  # tifffile raises many types for a damaged file
        raise _fail(name, err) from None


def check_pixels(shape: tuple[int, ...], name: str, *, max_pixels: int) -> None:
    """413 when an image of `shape` has more than `max_pixels` pixels (all planes counted)."""
    n = 1
    for s in shape:
        n *= int(s)
    if n > max_pixels:
        raise HTTPException(
            413,
            f"{name!r} has {n:,} pixels {tuple(shape)}; the server takes at most "
            f"{max_pixels:,} (start it with a larger --max-upload-pixels, or crop the image)",
        )


def read_image_file(path: Path, name: str, *, max_pixels: int):
    """A 2D image file as ``TiffImage`` (data, pixel size), or 413/422 with one readable line."""
    from segtrain.io import read_scaled_image
    from shapelib import InputError, as_grey_image
    from shapelib.io import TiffImage

    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise HTTPException(422, f"{name!r} is not a .tif, .tiff or .png file")
    check_pixels(_header_shape(path, suffix, name), name, max_pixels=max_pixels)
    try:
        img = read_scaled_image(path)
    except Exception as err:  # a damaged body behind a good header
        raise _fail(name, err) from None
    try:  # the command line's check (predict's read_grey): numbers, grey, finite
        data = as_grey_image(img.data, f"image {name!r}", ndims=(2, 3))
    except InputError as err:
        raise HTTPException(422, " ".join(str(err).split())) from None
    if data.ndim != 2:
        raise HTTPException(
            422,
            f"{name!r} is a {data.dtype} array of shape {data.shape}; the Segment page "
            "takes one 2D grey image (save one channel or one plane)",
        )
    return TiffImage(data=data, pixel_size_nm=img.pixel_size_nm, z_step_nm=img.z_step_nm)


def read_upload(data: bytes, filename: str, *, max_bytes: int, max_pixels: int):
    """Check and decode uploaded bytes; returns ``TiffImage`` (data, pixel size or None)."""
    name = Path(filename or "upload").name[:120]
    if len(data) > max_bytes:
        raise HTTPException(
            413, f"{name!r} is {len(data):,} bytes; the server takes at most {max_bytes:,}"
        )
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise HTTPException(422, f"{name!r} is not a .tif, .tiff or .png file")
    if not data:
        raise _fail(name, "the file is empty")
    with tempfile.TemporaryDirectory(prefix="mitoshape-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        return read_image_file(path, name, max_pixels=max_pixels)
