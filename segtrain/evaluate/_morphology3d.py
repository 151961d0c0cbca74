"""3D morphology of label volumes, reusing shapelib: volume, surface area, skeleton numbers."""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np

from shapelib import InputError

__all__ = ["quantify_volume"]

log = logging.getLogger(__name__)


_COLUMNS = [
    "label",
    "n_voxels",
    "voxel_volume_um3",
    "mesh_volume_um3",
    "surface_area_um2",
    "skeleton_length_um",
    "n_branches",
    "n_junctions",
    "n_end_points",
    "n_loops",
    "bbox",
]


def quantify_volume(
    labels: np.ndarray,
    *,
    voxel_size_nm,
    connectivity: Literal[6, 18, 26] = 26,
    min_voxels: int = 1,
):
    """Per-object 3D morphology of a binary mask or instance label volume.

    Binary volumes are split into objects by connected components (cc3d, `connectivity` 6, 18
    or 26; no erosion: use ``shapelib.extract_instances`` to part touching objects first).
    Each object is meshed (``shapelib.mesh_instance``) and skeletonised
    (``shapelib.skeletonize_mask``).

    Parameters
    ----------
    labels : (Z, Y, X) ndarray, mask or instance ids, 0 = background
    voxel_size_nm : float or (z, y, x), voxel size in nm

    Returns
    -------
    pandas.DataFrame, one row per object: label, n_voxels, voxel_volume_um3 (voxel count x
    voxel volume), mesh_volume_um3 (volume enclosed by the mesh), surface_area_um2,
    skeleton_length_um, n_branches, n_junctions, n_end_points, n_loops, bbox (z0, y0, x0, z1,
    y1, x1 voxels).
    """
    import pandas as pd
    from scipy import ndimage as ndi

    import shapelib

    from ._morphology import label_objects

    spacing = shapelib.as_spacing_nm(voxel_size_nm)
    lab = np.asarray(labels)
    if lab.ndim != 3:
        raise InputError(f"quantify_volume needs a (Z, Y, X) volume; got shape {lab.shape}.")
    if connectivity not in (6, 18, 26):
        raise InputError(f"connectivity must be 6, 18 or 26 (3D); got {connectivity!r}.")
    if lab.dtype == bool or np.unique(lab).size <= 2:
        lab = label_objects(lab, connectivity=connectivity)
    voxel_um3 = float(np.prod(spacing)) * 1e-9
    rows = []
    for idx, sl in enumerate(ndi.find_objects(lab.astype(np.int64))):
        if sl is None:
            continue
        obj = lab[sl] == idx + 1
        n = int(obj.sum())
        if n < min_voxels:
            continue
        mesh = shapelib.mesh_instance(obj, voxel_size_nm=spacing)
        sk = shapelib.skeletonize_mask(obj, voxel_size_nm=spacing)
        rows.append(
            {
                "label": idx + 1,
                "n_voxels": n,
                "voxel_volume_um3": n * voxel_um3,
                "mesh_volume_um3": float(abs(mesh.volume)) * 1e-9,
                "surface_area_um2": float(mesh.area) * 1e-6,
                "skeleton_length_um": float(sk.length_um),
                "n_branches": int(sk.n_branches),
                "n_junctions": int(sk.n_junctions),
                "n_end_points": int(sk.n_end_points),
                "n_loops": int(sk.n_loops),
                "bbox": tuple(int(s.start) for s in sl) + tuple(int(s.stop) for s in sl),
            }
        )
    return pd.DataFrame(rows, columns=_COLUMNS)  # the columns also when no object is found
