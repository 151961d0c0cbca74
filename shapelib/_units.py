"""Physical units and axes: the one place scalars become checked (z, y, x) spacings."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._errors import InputError

__all__ = [
    "as_spacing_nm",
    "length_unit_nm",
    "zyx_to_xyz",
    "xyz_to_zyx",
    "int3",
    "float3",
    "MAX_SPACING_NM",
]

MAX_SPACING_NM = 1e6  # 1 mm: no microscope voxel is larger; beyond it coordinates overflow

# Length units found in file metadata, in nm.
_UNIT_NM = {
    "nm": 1.0,
    "nanometer": 1.0,
    "nanometre": 1.0,
    "um": 1e3,
    "µm": 1e3,
    "μm": 1e3,
    "\\u00b5m": 1e3,
    "micron": 1e3,
    "microns": 1e3,
    "micrometer": 1e3,
    "micrometre": 1e3,
    "mm": 1e6,
    "millimeter": 1e6,
    "cm": 1e7,
    "m": 1e9,
    "meter": 1e9,
    "a": 0.1,
    "angstrom": 0.1,
    "å": 0.1,
}


def length_unit_nm(unit) -> float | None:
    """nm per one ``unit`` (a length unit name from file metadata), or None if unknown."""
    if unit is None:
        return None
    if isinstance(unit, bytes):
        unit = unit.decode("utf-8", "replace")
    return _UNIT_NM.get(str(unit).strip().lower())


def int3(values) -> tuple[int, int, int]:
    """Three per-axis values as a ``(z, y, x)`` tuple of ints (for shapes, offsets, indices)."""
    a, b, c = (int(v) for v in values)
    return (a, b, c)


def float3(values) -> tuple[float, float, float]:
    """Three per-axis values as a ``(z, y, x)`` tuple of floats."""
    a, b, c = (float(v) for v in values)
    return (a, b, c)


def as_spacing_nm(
    value: float | str | Sequence[float] | np.ndarray | None, *, name: str = "voxel_size_nm"
) -> tuple[float, float, float]:
    """Turn a scalar or a per-axis value into a checked ``(z, y, x)`` spacing in nm.

    Parameters
    ----------
    value : float or sequence of 3 floats
        One isotropic size, or ``(z, y, x)`` sizes, in nm.
    name : str
        The parameter's name, used in the error message.

    Returns
    -------
    spacing : tuple of 3 floats, ``(z, y, x)`` in nm

    Examples
    --------
    >>> as_spacing_nm(8)
    (8.0, 8.0, 8.0)
    >>> as_spacing_nm("30,5,5")
    (30.0, 5.0, 5.0)
    """
    if value is None:
        raise InputError(
            f"{name} is required: the file does not say its voxel size. "
            "Pass it in nm, one value or z,y,x (for example --voxel-size-nm 8)."
        )
    if isinstance(value, str):
        parts = [p for p in value.replace(" ", "").split(",") if p]
        try:
            value = [float(p) for p in parts]
        except ValueError:
            raise InputError(
                f"{name} must be a number or z,y,x numbers in nm; got {value!r}."
            ) from None
    arr = np.atleast_1d(np.asarray(value, dtype=float)).ravel()
    if arr.size == 1:
        arr = np.repeat(arr, 3)
    if arr.size != 3:
        raise InputError(
            f"{name} must be one value or three (z, y, x) in nm; got {arr.size} values ({value!r})."
        )
    if not all(math.isfinite(v) and v > 0 for v in arr):
        raise InputError(
            f"{name} must be finite and > 0 nm on every axis; got {tuple(arr.tolist())}."
        )
    if arr.max() > MAX_SPACING_NM:
        raise InputError(
            f"{name} must be at most {MAX_SPACING_NM:g} nm (1 mm) on every axis; got "
            f"{tuple(arr.tolist())}. Sizes are in nm: 8 nm is 8, 1 um is 1000."
        )
    return float3(arr)


def zyx_to_xyz(points: np.ndarray) -> np.ndarray:
    """Flip the last axis of ``(..., 3)`` coordinates from array order (z, y, x) to (x, y, z).

    The only place the project changes axis order; the flip is its own inverse.
    """
    return np.asarray(points)[..., ::-1]


xyz_to_zyx = zyx_to_xyz
