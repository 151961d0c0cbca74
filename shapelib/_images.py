"""The one check that an array read from an image file is a grey image of finite numbers."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._errors import InputError

__all__ = ["as_grey_image"]


def as_grey_image(arr: npt.ArrayLike, where: str, *, ndims: tuple[int, ...] = (2,)) -> np.ndarray:
    """Return ``arr`` as a grey image (or stack) of finite numbers, or raise InputError.

    - colour images ``(H, W, 3|4)`` become grey when their colour channels are equal (a grey
      picture saved as RGB) and are refused otherwise (a stack is never guessed from colour);
    - only real numbers (bool, integers, floats); NaN and infinity are refused;
    - the number of dimensions must be one of ``ndims``.

    Parameters
    ----------
    arr : ndarray as read from the file
    where : the file (for messages)
    ndims : accepted numbers of dimensions after removing colour (2 = an image, 3 = a stack)
    """
    arr = np.asarray(arr)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{where} holds {arr.dtype} values; expected a grey image of numbers.")
    if arr.ndim == 3 and arr.shape[-1] in (3, 4) and arr.shape[0] > 4:
        rgb = arr[..., :3]
        if not (
            np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])
        ):
            raise InputError(
                f"{where} is a colour image {arr.shape} (channels differ); expected one grey "
                "channel (Y, X). Convert it to grey, or save the channel you mean."
            )
        arr = arr[..., 0]
    if arr.ndim not in ndims:
        want = " or ".join({2: "2D (Y, X)", 3: "3D (Z, Y, X)"}.get(n, f"{n}D") for n in ndims)
        raise InputError(f"{where} must be {want}; got shape {arr.shape}.")
    if arr.size == 0:
        raise InputError(f"{where} is empty (shape {arr.shape}).")
    if arr.dtype.kind == "f":
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        if bad:
            raise InputError(
                f"{where} holds {bad} NaN or infinite pixel(s); replace them (e.g. by the "
                "background value) before using the image."
            )
    return arr
