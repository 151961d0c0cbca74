"""Shapes in the sample: rotations (six 3DMSL views, random), fluorophore sampling, placement."""

from __future__ import annotations

import numpy as np
import trimesh

from ._config import Labelling

__all__ = [
    "VIEWS_3DMSL",
    "axis_rotation",
    "view_rotation",
    "random_rotation",
    "sample_fluorophores",
    "check_mesh",
]

# Names of the six released views and the order in which 3DMSL applied them: each view rotates
# the point set of the previous one (found by re-running their code, see REFERENCES.md).
VIEWS_3DMSL = ("0", "x90", "x180", "y90", "y180", "z90")
_CUMULATIVE_ORDER = ("0", "x180", "y180", "x90", "y90", "z90")


def axis_rotation(axis: str, degrees: float) -> np.ndarray:
    """(3, 3) matrix M rotating row-vector points ``p @ M`` about x, y or z (3DMSL convention)."""
    t = np.deg2rad(degrees)
    c, s = np.cos(t), np.sin(t)
    if axis == "x":
        return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, -s], [0, 1.0, 0], [s, 0, c]])
    if axis == "z":
        return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    raise ValueError(f"rotation axis must be 'x', 'y' or 'z'; got {axis!r}")


def _single(view: str) -> np.ndarray:
    if view == "0":
        return np.eye(3)
    return axis_rotation(view[0], float(view[1:]))


def view_rotation(view: str, *, cumulative: bool = True) -> np.ndarray:
    """Matrix M (points ``p @ M``) of a named 3DMSL view: '0', 'x90', 'x180', 'y90', 'y180', 'z90'.

    ``cumulative=True`` reproduces the released images: the views were applied one after the
    other in the order 0, x180, y180, x90, y90, z90. ``False`` rotates the original shape.
    Other names ``<axis><degrees>`` (e.g. 'z45') are single rotations.
    """
    view = str(view).strip().lower()
    if view not in VIEWS_3DMSL:
        if len(view) > 1 and view[0] in "xyz":
            try:
                return _single(view)
            except ValueError:
                pass
        raise ValueError(
            f"unknown view {view!r}; expected one of {', '.join(VIEWS_3DMSL)} or <axis><degrees> "
            "such as z45."
        )
    if not cumulative:
        return _single(view)
    m = np.eye(3)
    for name in _CUMULATIVE_ORDER:
        m = m @ _single(name)
        if name == view:
            return m
    raise AssertionError("unreachable")


def random_rotation(rng=None) -> np.ndarray:
    """A uniformly random rotation matrix M (points ``p @ M``)."""
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(rng)
    return Rotation.random(random_state=rng).as_matrix().T


def check_mesh(mesh: trimesh.Trimesh, *, name: str = "mesh") -> None:
    """Raise a clear error when a mesh cannot be a closed mitochondrion surface."""
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ValueError(f"{name} must be a non-empty trimesh.Trimesh; got {type(mesh).__name__}")
    if not mesh.is_watertight:
        raise ValueError(
            f"{name} is not closed (watertight): its inside, volume and masks are undefined. "
            "Repair it (trimesh.repair.fill_holes) or re-mesh the instance."
        )


def sample_fluorophores(mesh: trimesh.Trimesh, labelling: Labelling, *, rng=None) -> np.ndarray:
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
        areas = mesh.area_faces
        face = rng.choice(len(areas), size=n, p=areas / areas.sum())
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
