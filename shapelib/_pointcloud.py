"""Surface point clouds with normals in Occupancy-Networks unit-cube coordinates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._errors import InputError

if TYPE_CHECKING:
    import trimesh

__all__ = ["PointCloud", "sample_pointcloud", "noisy_view", "unit_cube_frame"]


@dataclass(frozen=True)
class PointCloud:
    """Surface samples of one shape, normalised to the unit cube.

    Attributes
    ----------
    points : (N, 3) ndarray of float32
        ``(x, y, z)`` in unit-cube coordinates, within ``[-0.5, 0.5]``; nm = ``points * scale +
        loc``.
    normals : (N, 3) ndarray of float32
        Outward unit normals (of the triangle each point lies on).
    loc : (3,) ndarray of float64
        Centre of the mesh's bounding box, ``(x, y, z)`` nm.
    scale : float
        Largest edge of the mesh's bounding box, nm.
    """

    points: np.ndarray
    normals: np.ndarray
    loc: np.ndarray
    scale: float

    def to_nm(self) -> np.ndarray:
        """Points back in nm, ``(N, 3)`` float64 ``(x, y, z)``."""
        return self.points.astype(np.float64) * self.scale + self.loc


def mesh_bounds(mesh) -> np.ndarray:
    """``[[min x, y, z], [max x, y, z]]`` (float64) of the vertices the faces use: trimesh's
    ``mesh.bounds``, without its cache (which hashes the vertex and face arrays at each call)."""
    v = np.asarray(mesh.vertices, dtype=np.float64)
    f = np.asarray(mesh.faces)
    if len(f) == 0:
        raise InputError("the mesh has no faces; cannot normalise it to the unit cube.")
    used = np.zeros(len(v), bool)
    used[f.ravel()] = True
    v = v if used.all() else v[used]
    return np.array([v.min(axis=0), v.max(axis=0)])


def unit_cube_frame(mesh) -> tuple[np.ndarray, float]:
    """Occupancy-Networks normalisation of a mesh: ``loc`` = bounding-box centre (nm, float64
    (3,)), ``scale`` = largest bounding-box extent (nm); unit-cube = ``(nm - loc) / scale``."""
    lo, hi = mesh_bounds(mesh)
    loc = (lo + hi) / 2.0
    scale = float(np.max(hi - lo))
    if not scale > 0:
        raise InputError("the mesh has zero extent; cannot normalise it to the unit cube.")
    return loc, scale


def sample_pointcloud(
    mesh: trimesh.Trimesh,
    n_points: int = 100_000,
    *,
    rng: int | np.random.Generator | None = None,
) -> PointCloud:
    """Sample points uniformly on a mesh's surface (area-weighted), with normals.

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Vertices in nm.
    n_points : int
        Number of samples (3DMSL released 100,000).
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    PointCloud
        Unit-cube coordinates with ``loc`` (bounding-box centre) and ``scale`` (largest extent).
    """
    rng = np.random.default_rng(rng)
    n_points = int(n_points)
    if n_points < 1:
        raise InputError(f"n_points must be >= 1; got {n_points}.")
    loc, scale = unit_cube_frame(mesh)
    # area-weighted triangle choice, then uniform barycentric coordinates (the method of
    # trimesh.sample.sample_surface, written out to reuse one cross product: ~3x faster)
    v = np.asarray(mesh.vertices, dtype=np.float64)
    f = np.asarray(mesh.faces)
    v0 = v[f[:, 0]]
    e1, e2 = v[f[:, 1]] - v0, v[f[:, 2]] - v0
    cross = np.cross(e1, e2)
    twice_area = np.linalg.norm(cross, axis=1)
    cum = np.cumsum(twice_area)
    # the same faces as searchsorted on the draws as drawn, found in sorted order (cache-
    # friendly: ~4x faster on 100,000 draws) and put back in draw order
    draws = rng.random(n_points) * cum[-1]
    order = np.argsort(draws)
    face_idx = np.empty(n_points, np.intp)
    face_idx[order] = np.searchsorted(cum, draws[order], side="right")
    face_idx = np.minimum(face_idx, len(f) - 1)
    uv = rng.random((n_points, 2))
    flip = uv.sum(axis=1) > 1.0
    uv[flip] = 1.0 - uv[flip]
    # v0 + u e1 + v e2, summed in that order (in place: the same numbers, fewer copies)
    points = v0[face_idx]
    points += uv[:, :1] * e1[face_idx]
    points += uv[:, 1:] * e2[face_idx]
    normals = cross[face_idx] / twice_area[face_idx, None]
    points -= loc
    points /= scale
    return PointCloud(
        points=points.astype(np.float32),
        normals=np.asarray(normals, dtype=np.float32),
        loc=loc,
        scale=scale,
    )


def noisy_view(
    pc: PointCloud,
    n_points: int = 300,
    noise_std: float = 0.05,
    *,
    rng: int | np.random.Generator | None = None,
) -> PointCloud:
    """A sparse noisy view of a point cloud: the 3DMSL/Occupancy-Networks network input.

    Draws ``n_points`` of the points without replacement (with, when fewer exist) and adds
    Gaussian noise of ``noise_std`` unit-cube units to each coordinate. Normals are kept
    unchanged (they are the clean samples' normals).
    """
    rng = np.random.default_rng(rng)
    n = len(pc.points)
    if n == 0:
        raise InputError("the point cloud is empty; cannot draw a view from it.")
    if not noise_std >= 0:
        raise InputError(f"noise_std must be >= 0 (unit-cube units); got {noise_std}.")
    idx = rng.choice(n, size=int(n_points), replace=int(n_points) > n)
    noise = rng.normal(0.0, noise_std, size=(len(idx), 3))
    return PointCloud(
        points=(pc.points[idx] + noise).astype(np.float32),
        normals=pc.normals[idx].copy(),
        loc=pc.loc.copy(),
        scale=pc.scale,
    )
