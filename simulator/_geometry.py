"""Shapes in the sample: rotations (six 3DMSL views, random), fluorophore sampling, placement."""

from __future__ import annotations

import math

import numpy as np
import trimesh

from shapelib import InputError, random_rotation, rotate_points

from ._config import Acquisition, Labelling

__all__ = [
    "VIEWS_3DMSL",
    "view_rotation",
    "random_rotation",
    "sample_fluorophores",
    "check_mesh",
    "place",
    "focal_depths",
    "mesh_radius_nm",
    "auto_focal_depth_nm",
]

# Rotation matrices follow shapelib's convention everywhere in the simulator: a matrix R acts on
# column vectors, so (N, 3) rows of points rotate as ``points @ R.T`` (shapelib.rotate_points).

# Names of the six released views and the order in which 3DMSL applied them: each view rotates
# the point set of the previous one (found by re-running their code, see REFERENCES.md).
VIEWS_3DMSL = ("0", "x90", "x180", "y90", "y180", "z90")
_CUMULATIVE_ORDER = ("0", "x180", "y180", "x90", "y90", "z90")


def _row_matrix_3dmsl(view: str) -> np.ndarray:
    """The matrix 3DMSL's code multiplies row vectors by (``p @ M``) for one view name.

    It is the textbook rotation by +angle; applied to rows it turns the points by -angle.
    """
    if view == "0":
        return np.eye(3)
    axis, t = view[0], np.deg2rad(float(view[1:]))
    c, s = np.cos(t), np.sin(t)
    if axis == "x":
        return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, -s], [0, 1.0, 0], [s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def _is_single(view: str) -> bool:
    if len(view) < 2 or view[0] not in "xyz":
        return False
    try:
        return np.isfinite(float(view[1:]))
    except ValueError:
        return False


def view_rotation(view: str, *, cumulative: bool = True) -> np.ndarray:
    """Rotation R of a named 3DMSL view: '0', 'x90', 'x180', 'y90', 'y180', 'z90'.

    ``cumulative=True`` reproduces the released images: the views were applied one after the
    other in the order 0, x180, y180, x90, y90, z90. ``False`` rotates the original shape.
    Other names ``<axis><degrees>`` (e.g. 'z45') are single rotations. As 3DMSL's code did,
    a view ``<axis><degrees>`` turns the shape by minus that angle about the axis.

    Returns
    -------
    R : (3, 3) ndarray of float64; rows of points rotate as ``points @ R.T``
    """
    view = str(view).strip().lower()
    if view not in VIEWS_3DMSL and not _is_single(view):
        raise InputError(
            f"unknown view {view!r}; expected one of {', '.join(VIEWS_3DMSL)} or <axis><degrees> "
            "such as z45."
        )
    if not cumulative or view not in VIEWS_3DMSL:
        return _row_matrix_3dmsl(view).T
    m = np.eye(3)  # the product 3DMSL applied to rows; R is its transpose
    for name in _CUMULATIVE_ORDER:
        m = m @ _row_matrix_3dmsl(name)
        if name == view:
            return m.T
    raise AssertionError("unreachable")


def place(points: np.ndarray, rotation: np.ndarray, centre, *, offset_nm) -> np.ndarray:
    """Rotate points by R about ``centre`` and move ``centre`` to ``offset_nm`` (x, y, z nm)."""
    centre = np.asarray(centre, float)
    return rotate_points(np.asarray(points, float) - centre, rotation) + np.asarray(
        offset_nm, float
    )


def mesh_radius_nm(mesh: trimesh.Trimesh) -> float:
    """Largest distance (nm) of a vertex from the mesh centroid (bounds every rotation).

    Kept in the mesh's own cache (cleared by trimesh when the mesh changes).
    """
    cached = mesh._cache["mitoshape_radius_nm"]  # None when absent or stale
    if cached is None:
        cached = float(np.linalg.norm(mesh.vertices - mesh.centroid, axis=1).max())
        mesh._cache["mitoshape_radius_nm"] = cached
    return cached


def auto_focal_depth_nm(half_extent_nm: float, spread_nm: float = 0.0) -> float:
    """A focal depth keeping every emitter below the coverslip (rounded up to 1 um, >= 2 um)."""
    need = half_extent_nm + spread_nm + 250.0
    return float(max(2000.0, 1000.0 * math.ceil(need / 1000.0)))


def focal_depths(acquisition: Acquisition, centre_nm: float) -> tuple[float, ...]:
    """Depths (nm) of the acquisition's focal planes, centred on ``centre_nm``."""
    k = np.arange(acquisition.z_planes) - (acquisition.z_planes - 1) / 2
    return tuple(float(centre_nm + dk * acquisition.z_step_nm) for dk in k)


def check_mesh(mesh: trimesh.Trimesh, *, name: str = "mesh") -> None:
    """Raise a clear error when a mesh cannot be a closed mitochondrion surface."""
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise InputError(f"{name} must be a non-empty trimesh.Trimesh; got {type(mesh).__name__}")
    if not mesh.is_watertight:
        raise InputError(
            f"{name} is not closed (watertight): its inside, volume and masks are undefined. "
            "Repair it (trimesh.repair.fill_holes) or mesh it again (shapelib.mesh_instance)."
        )


def _face_cdf(mesh: trimesh.Trimesh) -> np.ndarray:
    """Cumulative face-area fractions, as ``Generator.choice(p=areas / total)`` builds them
    (cached in the mesh's own cache, so sampling draws the same faces as ``choice``)."""
    cdf = mesh._cache["mitoshape_face_cdf"]  # None when absent or stale
    if cdf is None:
        areas = mesh.area_faces
        cdf = (areas / areas.sum()).cumsum()
        cdf /= cdf[-1]
        mesh._cache["mitoshape_face_cdf"] = cdf
    return cdf


def sample_fluorophores(
    mesh: trimesh.Trimesh,
    labelling: Labelling,
    *,
    rng: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Fluorophore positions on the surface or in the volume of a mesh (Poisson count).

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Closed mesh, vertices (x, y, z) in nm.
    labelling : Labelling
        ``where`` and the density per um^2 (surface) or per um^3 (volume).
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    points : (N, 3) ndarray of float64, (x, y, z) in nm
    """
    rng = np.random.default_rng(rng)
    if labelling.where == "surface":
        n = int(rng.poisson(labelling.density_per_um2 * mesh.area / 1e6))
        face = _face_cdf(mesh).searchsorted(rng.random(n), side="right")  # = rng.choice(p=)
        r1, r2 = rng.random(n), rng.random(n)
        flip = r1 + r2 > 1
        r1[flip], r2[flip] = 1 - r1[flip], 1 - r2[flip]
        tri = mesh.triangles[face]
        return (
            tri[:, 0]
            + r1[:, None] * (tri[:, 1] - tri[:, 0])
            + r2[:, None] * (tri[:, 2] - tri[:, 0])
        )
    n = int(rng.poisson(labelling.density_per_um3 * abs(mesh.volume) / 1e9))
    lo, hi = mesh.bounds
    out = np.empty((0, 3))
    while len(out) < n:  # rejection sampling in the bounding box
        cand = lo + rng.random((max(2 * (n - len(out)), 64), 3)) * (hi - lo)
        out = np.vstack([out, cand[mesh.contains(cand)]])
    return out[:n]
