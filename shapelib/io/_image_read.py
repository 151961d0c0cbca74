"""Single image files with their scale: TIFF (with its pixel size) or PNG (none), made grey.

The one reader of images to analyse (segmentation inputs, real images to fit scenes to).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._errors import InputError
from .._images import as_grey_image
from ._tiff import TIFF_SUFFIXES, TiffImage, read_tiff

__all__ = ["read_scaled_image", "read_grey"]


def read_scaled_image(path: str | Path) -> TiffImage:
    """Read a PNG or TIFF with its scale: ``data`` as stored (a grey PNG saved as RGB becomes
    one channel), ``pixel_size_nm`` (y, x) and ``z_step_nm`` from TIFF metadata (None when the
    file does not say; always None for PNG). A file that is not a readable image is an
    InputError."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file {path} does not exist.")
    if path.suffix.lower() in TIFF_SUFFIXES:
        return read_tiff(path)
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("P", "PA"):  # palette: its colours, as scikit-image reads them
                im = im.convert("RGBA" if "transparency" in im.info or im.mode == "PA" else "RGB")
            elif im.mode == "LA":  # grey + alpha: the grey
                im = im.convert("L")
            arr = np.asarray(im)
    except Image.DecompressionBombError as err:  # a header claiming billions of pixels
        raise InputError(
            f"image {path} claims more pixels than an image to analyse may have ({err}); is "
            "the file complete and really this large? Crop or tile it."
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise InputError(
            f"could not read image {path} ({type(err).__name__}: {err}); is the file complete "
            "and really a PNG?"
        ) from None
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):  # RGB(A): grey when the channels agree
        arr = as_grey_image(arr, f"image {path}", ndims=(2,))
    return TiffImage(data=arr)


def read_grey(path: str | Path, *, ndims: tuple[int, ...] = (2,)) -> TiffImage:
    """An image to segment: :func:`read_scaled_image`, checked to be grey (colour refused),
    of finite numbers, with ``ndims`` dimensions (2 = an image, 3 = an EM stack)."""
    img = read_scaled_image(path)
    data = as_grey_image(img.data, f"image {path}", ndims=ndims)
    return TiffImage(data=data, pixel_size_nm=img.pixel_size_nm, z_step_nm=img.z_step_nm)
