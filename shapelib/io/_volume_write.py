"""Write a label volume as a TIFF that Fiji, napari and `read_volume` open with its voxel size."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._errors import InputError
from .._units import as_spacing_nm
from ._tiff import write_tiff

__all__ = ["write_volume"]


def write_volume(
    path: str | Path, data: np.ndarray, *, voxel_size_nm: float | Sequence[float]
) -> Path:
    """Save a ``(Z, Y, X)`` volume as an ImageJ hyperstack TIFF with its voxel size in nm.

    Parameters
    ----------
    path : str or Path
        Output ``.tif``/``.tiff`` file; parent folders are created; written atomically.
    data : (Z, Y, X) ndarray of int or bool
        Labels or a mask; ids above 65535 are refused (ImageJ TIFFs hold uint16 labels).
    voxel_size_nm : float or (z, y, x)

    Returns
    -------
    path : Path
    """
    data = np.asarray(data)
    if data.ndim != 3:
        raise InputError(f"data must be a 3D (Z, Y, X) array; got shape {data.shape}.")
    z_nm, y_nm, x_nm = as_spacing_nm(voxel_size_nm)
    if data.dtype.kind in "iu" and data.size:
        top = int(data.max())
        if int(data.min()) < 0 or top > np.iinfo(np.uint16).max:
            raise InputError(
                f"label ids must lie in 0..65535 for an ImageJ TIFF; got {data.min()}..{top}. "
                "Relabel (fastremap.renumber) or save as .npy/.h5."
            )
    return write_tiff(path, data, pixel_size_nm=(y_nm, x_nm), z_step_nm=z_nm)
