"""Label volumes in memory: the one check that an array is a 3D label volume or mask."""

from __future__ import annotations

import numpy as np

from ._errors import InputError

__all__ = ["check_label_volume"]


def check_label_volume(data: np.ndarray, *, what: str = "labels") -> np.ndarray:
    """Check that ``data`` is a 3D label volume or mask; return it as bool or unsigned int.

    A float array is accepted only when it holds 0 and 1 alone (a mask saved as float);
    negative integers are refused.

    Parameters
    ----------
    data : (Z, Y, X) ndarray

    Returns
    -------
    labels : (Z, Y, X) ndarray of bool or unsigned int, the same array when no conversion is needed
    """
    arr = np.asarray(data)
    if arr.ndim != 3:
        raise InputError(
            f"{what} must be a 3D array (Z, Y, X); got shape {arr.shape} ({arr.ndim}D). "
            "Pass one 3D label volume (pick one channel or time point of a 4D file, "
            "stack 2D slices into a 3D volume)."
        )
    if arr.size == 0:
        raise InputError(f"{what} must not be empty; got shape {arr.shape}.")
    if arr.dtype == bool or np.issubdtype(arr.dtype, np.unsignedinteger):
        return arr
    if np.issubdtype(arr.dtype, np.signedinteger):
        if arr.min() < 0:
            raise InputError(
                f"{what} must hold label ids >= 0 (0 = background); got a minimum of "
                f"{int(arr.min())} in a {arr.dtype} array. Remove negative values first."
            )
        return arr.astype(np.uint64 if arr.dtype.itemsize > 4 else np.uint32, copy=False)
    if np.issubdtype(arr.dtype, np.floating):
        # A mask stored as float is fine; anything else is an image, not labels.
        flat = arr.reshape(-1)
        step = 1 << 24
        for i in range(0, flat.size, step):
            part = flat[i : i + step]
            if not np.all((part == 0) | (part == 1)):
                bad = part[(part != 0) & (part != 1)][0]
                raise InputError(
                    f"{what} must be integer labels or a 0/1 mask; got a {arr.dtype} volume "
                    f"holding non-mask values such as {float(bad)!r}. Threshold it into a "
                    "mask, or pass the label volume instead of the image."
                )
        return arr.astype(bool)
    raise InputError(f"{what} must be integer labels or a mask; got dtype {arr.dtype}.")
