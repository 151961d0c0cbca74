"""Write a label volume as a TIFF that Fiji, napari and `read_volume` open with its voxel size."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._units import as_spacing_nm

__all__ = ["write_volume"]


def write_volume(path: str | Path, data: np.ndarray, *, voxel_size_nm) -> Path:
    """Save a ``(Z, Y, X)`` volume as an ImageJ hyperstack TIFF with its voxel size in nm.

    Parameters
    ----------
    path : str or Path
        Output ``.tif``/``.tiff`` file; parent folders are created.
    data : (Z, Y, X) ndarray of int or bool
        Labels or a mask (ImageJ supports uint8, uint16 and float32: larger label types are
        stored as uint16 when the ids fit, else as float32 with a ValueError if they cannot be
        represented exactly).
    voxel_size_nm : float or (z, y, x)

    Returns
    -------
    path : Path
    """
    import tifffile

    path = Path(path)
    if path.suffix.lower() not in (".tif", ".tiff"):
        raise ValueError(f"write_volume writes TIFF; got {path.name!r}. Use a .tif name.")
    data = np.asarray(data)
    if data.ndim != 3:
        raise ValueError(f"data must be a 3D (Z, Y, X) array; got shape {data.shape}.")
    z_nm, y_nm, x_nm = as_spacing_nm(voxel_size_nm)
    if data.dtype == bool:
        data = data.astype(np.uint8)
    elif data.dtype not in (np.uint8, np.uint16):
        top = int(data.max(initial=0))
        if data.min(initial=0) < 0 or top > np.iinfo(np.uint16).max:
            raise ValueError(
                f"label ids must lie in 0..65535 for an ImageJ TIFF; got {data.min()}..{top}. "
                "Relabel (fastremap.renumber) or save as .npy/.h5."
            )
        data = data.astype(np.uint16)
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(
        path,
        data,
        imagej=True,
        resolution=(1.0 / x_nm, 1.0 / y_nm),
        metadata={"spacing": z_nm, "unit": "nm", "axes": "ZYX"},
        compression="zlib",
    )
    return path
