"""Occupancy samples (Occupancy-Networks format): points in the padded unit cube, inside labels
from the mesh itself."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._errors import InputError
from ._pointcloud import unit_cube_frame
from ._units import as_spacing_nm

if TYPE_CHECKING:
    import trimesh

__all__ = ["Occupancy", "sample_occupancy", "points_inside"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Occupancy:
    """Occupancy samples of one shape.

    Attributes
    ----------
    points : (N, 3) ndarray of float16
        ``(x, y, z)`` unit-cube coordinates in ``[-(1 + padding) / 2, (1 + padding) / 2]``.
    occupancies : (N,) ndarray of bool
        True where the point (as stored, after rounding to float16) is inside the mesh.
    loc : (3,) ndarray of float64
        Bounding-box centre of the mesh, nm.
    scale : float
        Largest bounding-box extent of the mesh, nm.
    """

    points: np.ndarray
    occupancies: np.ndarray
    loc: np.ndarray
    scale: float


def points_inside(mesh: trimesh.Trimesh, points: np.ndarray, *, n_rays: int = 3) -> np.ndarray:
    """Inside test of points against a closed mesh (same units as the mesh).

    Uses open3d's ``RaycastingScene.compute_occupancy`` (Embree ray parity, ``n_rays`` rays per
    point, majority vote); falls back to ``trimesh`` ``contains`` (embreex) when open3d cannot
    be imported.

    Parameters
    ----------
    mesh : trimesh.Trimesh
    points : (N, 3) array
    n_rays : int
        Odd number of rays per point; 3 guards against rays grazing an edge.

    Returns
    -------
    inside : (N,) ndarray of bool
    """
    return _inside(mesh.vertices, mesh.faces, points, n_rays=n_rays)


def _inside(vertices, faces, points, *, n_rays: int = 3) -> np.ndarray:
    points = np.asarray(points, dtype=np.float32).reshape(-1, 3)
    try:
        import open3d as o3d
    except ImportError:  # pragma: no cover - open3d is a dependency; keep a fallback
        import trimesh

        log.info("open3d unavailable; using trimesh contains (slower)")
        mesh = trimesh.Trimesh(vertices, faces, process=False)
        return np.asarray(mesh.contains(points.astype(np.float64)), dtype=bool)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(
        o3d.core.Tensor(np.ascontiguousarray(vertices, dtype=np.float32)),
        o3d.core.Tensor(np.ascontiguousarray(faces, dtype=np.uint32)),
    )
    occ = scene.compute_occupancy(o3d.core.Tensor(points), nsamples=int(n_rays))
    return occ.numpy().astype(bool)


_CELLS = None


def _cells_kernel():
    """Compile (once, cached on disk) the per-point count of inside corners of its grid cell."""
    from numba import njit

    @njit(cache=True)
    def count_corners(points_nm, spacing, offset, mask, count):  # pragma: no cover - compiled
        nz, ny, nx = mask.shape
        lo = np.empty(3, np.int64)
        for n in range(points_nm.shape[0]):
            valid = True
            for a in range(3):
                # (z, y, x) index in the crop padded by one voxel, as the numpy version had it
                v = np.floor(points_nm[n, 2 - a] / spacing[a] - offset[a] + 1.0)
                lo[a] = np.int64(v)
                if lo[a] < 0 or lo[a] > mask.shape[a]:
                    valid = False
            if not valid:
                continue
            c = 0
            for dz in range(2):
                z = lo[0] + dz - 1
                if z < 0 or z >= nz:
                    continue
                for dy in range(2):
                    y = lo[1] + dy - 1
                    if y < 0 or y >= ny:
                        continue
                    for dx in range(2):
                        x = lo[2] + dx - 1
                        if 0 <= x < nx and mask[z, y, x]:
                            c += 1
            count[n] = c

    return count_corners


def _cells_from_mask(points_nm, mask, voxel_size_nm, offset_vox) -> tuple[np.ndarray, np.ndarray]:
    """Label points from the voxel grid cell they fall in: (inside, unsure) boolean arrays.

    Voxel ``(k, j, i)`` of ``mask`` has its centre at ``(offset + (k, j, i)) * spacing``; a cell
    spans 8 neighbouring centres. All 8 inside: inside; all 8 outside: outside; else unsure.
    Points beyond the crop padded by one voxel are outside (the object lies within the crop).
    One compiled pass over the points (no padded copy of the mask).
    """
    global _CELLS
    if _CELLS is None:
        _CELLS = _cells_kernel()
    spacing = np.asarray(as_spacing_nm(voxel_size_nm), dtype=np.float64)
    offset = np.asarray(offset_vox, dtype=np.float64)
    count = np.zeros(len(points_nm), np.int8)
    pts = np.ascontiguousarray(points_nm, dtype=np.float64)
    _CELLS(pts, spacing, offset, np.ascontiguousarray(mask, dtype=bool), count)
    return count == 8, (count > 0) & (count < 8)


def sample_occupancy(
    mesh: trimesh.Trimesh,
    n_points: int = 100_000,
    *,
    padding: float = 0.1,
    rng: int | np.random.Generator | None = None,
    source_mask: np.ndarray | None = None,
    voxel_size_nm: float | Sequence[float] | None = None,
    offset_vox: Sequence[int] = (0, 0, 0),
) -> Occupancy:
    """Uniform points in the padded unit cube with inside/outside labels from the mesh.

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Closed mesh, vertices in nm.
    n_points : int
        Number of points (3DMSL released 100,000).
    padding : float
        The box is ``[-(1 + padding) / 2, (1 + padding) / 2]^3`` in unit-cube units (0.1 gives
        the released ``[-0.55, 0.55]``).
    rng : int or numpy.random.Generator, optional
    source_mask : (Z, Y, X) ndarray of bool, optional
        The mask ``mesh`` was made from by :func:`mesh_instance` (with the same
        ``voxel_size_nm`` and ``offset_vox``). Its marching-cubes surface only crosses grid
        cells whose 8 corner voxels disagree, so points in the other cells are labelled from
        the mask (exactly) and only the few near the surface are ray-tested (faster). Do
        not pass a mask the mesh was not made from.
    voxel_size_nm, offset_vox
        Grid of ``source_mask`` (required with it).

    Returns
    -------
    Occupancy
        Labels are computed on the points as stored (float16), so they agree with the file;
        ``occupancies.mean() * (1 + padding)**3 * scale**3`` estimates the mesh volume.
    """
    rng = np.random.default_rng(rng)
    n_points = int(n_points)
    if n_points < 1:
        raise InputError(f"n_points must be >= 1; got {n_points}.")
    if not 0 <= padding < 10:
        raise InputError(f"padding must be in [0, 10) unit-cube units; got {padding}.")
    loc, scale = unit_cube_frame(mesh)
    half = (1.0 + padding) / 2.0
    pts = rng.uniform(-half, half, size=(n_points, 3)).astype(np.float16)
    # test in the unit-cube frame (small numbers, float32 exact enough) on the stored points
    unit_vertices = (np.asarray(mesh.vertices) - loc) / scale
    if source_mask is None:
        inside = _inside(unit_vertices, mesh.faces, pts)
    else:
        nm = pts.astype(np.float64) * scale + loc
        inside, unsure = _cells_from_mask(nm, source_mask, voxel_size_nm, offset_vox)
        if unsure.any():
            inside[unsure] = _inside(unit_vertices, mesh.faces, pts[unsure])
    return Occupancy(points=pts, occupancies=inside, loc=loc, scale=scale)
