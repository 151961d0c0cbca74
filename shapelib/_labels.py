"""Label volumes: the one check that an array is a 3D label volume or mask (in memory, or its
shape and dtype alone for a volume read in chunks)."""

from __future__ import annotations

import numpy as np

from ._errors import InputError

__all__ = ["check_label_volume", "check_label_layout"]


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
    check_label_layout(arr.shape, arr.dtype, what=what)
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


def check_label_layout(shape, dtype, *, what: str = "labels") -> np.dtype:
    """Check the shape and dtype of a label volume without its values; return the dtype
    :func:`check_label_volume` gives it (signed -> unsigned, a float 0/1 mask -> bool).

    The values (no negative ids, a float volume holding only 0 and 1) are checked where they
    are read, block by block, by :func:`check_label_volume`.
    """
    shape, dtype = tuple(int(s) for s in shape), np.dtype(dtype)
    if len(shape) != 3:
        raise InputError(
            f"{what} must be a 3D array (Z, Y, X); got shape {shape} ({len(shape)}D). "
            "Pass one 3D label volume (pick one channel or time point of a 4D file, "
            "stack 2D slices into a 3D volume)."
        )
    if 0 in shape:
        raise InputError(f"{what} must not be empty; got shape {shape}.")
    if dtype == np.bool_ or np.issubdtype(dtype, np.unsignedinteger):
        return dtype
    if np.issubdtype(dtype, np.signedinteger):
        return np.dtype(np.uint64 if dtype.itemsize > 4 else np.uint32)
    if np.issubdtype(dtype, np.floating):
        return np.dtype(bool)
    raise InputError(f"{what} must be integer labels or a mask; got dtype {dtype}.")
