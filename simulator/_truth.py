"""Ground truth on the image grid: in-focus and projection masks, and per-plane label volumes."""

from __future__ import annotations

import numpy as np
import trimesh

__all__ = ["surface_intervals", "truth_masks"]


def surface_intervals(mesh: trimesh.Trimesh, xy: np.ndarray) -> list[np.ndarray]:
    """Depth intervals inside a closed mesh along rays parallel to z through points ``xy``.

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Closed mesh in the image frame (x, y nm; z = depth nm).
    xy : (N, 2) ndarray of float
        Ray positions, nm.

    Returns
    -------
    intervals : list of (K, 2) ndarrays, one per ray, [z_enter, z_exit] in nm
    """
    n = len(xy)
    out: list[np.ndarray] = [np.empty((0, 2)) for _ in range(n)]
    if n == 0:
        return out
    z0 = mesh.bounds[0, 2] - 100.0
    todo = np.arange(n)
    shift = np.zeros(2)
    for attempt in range(4):
        origins = np.c_[xy[todo] + shift, np.full(len(todo), z0)]
        dirs = np.tile([0.0, 0.0, 1.0], (len(todo), 1))
        loc, ray, _ = mesh.ray.intersects_location(origins, dirs, multiple_hits=True)
        odd = []
        order = np.lexsort((loc[:, 2], ray))
        ray, z = ray[order], loc[order, 2]
        splits = np.flatnonzero(np.r_[True, ray[1:] != ray[:-1]]) if len(ray) else []
        ends = list(splits[1:]) + [len(ray)] if len(ray) else []
        for i0, i1 in zip(splits, ends, strict=True):
            zz = z[i0:i1]
            zz = zz[np.r_[True, np.diff(zz) > 1e-6]]  # a hit on a shared edge counts once
            if len(zz) % 2:
                odd.append(ray[i0])
                continue
            out[todo[ray[i0]]] = zz.reshape(-1, 2)
        if not odd:
            break
        todo = todo[np.asarray(odd)]
        shift = np.array([1e-3, 2e-3]) * (attempt + 1)  # nudge rays off edges and vertices
    return out


def truth_masks(
    mesh: trimesh.Trimesh,
    *,
    size_px: int,
    pixel_size_nm: float,
    focal_depths_nm: tuple[float, ...],
    dof_nm: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks of one object on the pixel grid (pixel centres).

    Returns
    -------
    in_focus : (P, H, W) ndarray of bool
        The object's cross-section within ``dof_nm / 2`` of each focal plane.
    projection : (H, W) ndarray of bool
        Any part of the object along the optical axis.
    label : (P, H, W) ndarray of bool
        Pixel centre inside the object at the focal plane's depth (the 3D label volume).
    """
    n_planes = len(focal_depths_nm)
    in_focus = np.zeros((n_planes, size_px, size_px), bool)
    label = np.zeros_like(in_focus)
    projection = np.zeros((size_px, size_px), bool)
    (x0, y0, _), (x1, y1, _) = mesh.bounds
    j0 = max(0, int(np.floor(x0 / pixel_size_nm - 0.5)))
    j1 = min(size_px - 1, int(np.ceil(x1 / pixel_size_nm - 0.5)))
    i0 = max(0, int(np.floor(y0 / pixel_size_nm - 0.5)))
    i1 = min(size_px - 1, int(np.ceil(y1 / pixel_size_nm - 0.5)))
    if j1 < j0 or i1 < i0:
        return in_focus, projection, label
    ii, jj = np.mgrid[i0 : i1 + 1, j0 : j1 + 1]
    xy = np.c_[(jj.ravel() + 0.5) * pixel_size_nm, (ii.ravel() + 0.5) * pixel_size_nm]
    intervals = surface_intervals(mesh, xy)
    half = dof_nm / 2
    for (i, j), iv in zip(zip(ii.ravel(), jj.ravel(), strict=True), intervals, strict=True):
        if len(iv) == 0:
            continue
        projection[i, j] = True
        for k, f in enumerate(focal_depths_nm):
            in_focus[k, i, j] = bool(np.any((iv[:, 0] <= f + half) & (iv[:, 1] >= f - half)))
            label[k, i, j] = bool(np.any((iv[:, 0] <= f) & (iv[:, 1] >= f)))
    return in_focus, projection, label
