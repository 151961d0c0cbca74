"""Watertight surface mesh of one instance mask: pad, smooth, marching cubes, vertices in nm."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._errors import InputError
from ._graph import join_pairs
from ._units import as_spacing_nm, zyx_to_xyz

if TYPE_CHECKING:
    import trimesh

__all__ = ["mesh_instance", "mesh_genus", "MeshFacts", "mesh_facts"]

log = logging.getLogger(__name__)

# After smoothing, voxel centres keep their side of the level: inside voxels are raised to at
# least LEVEL + _MARGIN, outside voxels lowered to at most LEVEL - _MARGIN. The surface then
# separates exactly the mask's voxel centres from the background's (no thin part vanishes, no
# small hole closes), and smoothing only moves where it crosses each grid edge.
_LEVEL = 0.5
_MARGIN = 0.02


def mesh_instance(
    mask: np.ndarray,
    *,
    voxel_size_nm: float | Sequence[float],
    offset_vox: Sequence[int] = (0, 0, 0),
    sigma_vox: float = 0.6,
) -> trimesh.Trimesh:
    """Triangle mesh of a boolean mask, watertight by construction.

    Steps: pad by ``ceil(3 sigma) + 1`` background voxels; Gaussian-smooth the 0/1 mask
    (``sigma_vox`` voxels on every axis); keep each voxel centre on its own side of the level;
    marching cubes (Lewiner, scikit-image) at level 0.5 with the voxel spacing.

    Level choice: a voxel ``(k, j, i)`` has its centre at ``(offset + (k, j, i)) * spacing``;
    for a flat face the smoothed field crosses 0.5 exactly half-way between the last inside
    and the first outside voxel centre, i.e. on the voxel boundary, so the mesh volume matches
    ``voxel_count * voxel_volume`` (no half-voxel shift: the padding is subtracted, and 0.5 is
    the midpoint of the 0/1 field).

    Parameters
    ----------
    mask : (Z, Y, X) ndarray of bool
        One object (other non-zero values count as inside).
    voxel_size_nm : float or (z, y, x)
        Voxel size in nm (anisotropic allowed).
    offset_vox : (z, y, x) ints
        Index of ``mask[0, 0, 0]`` in the source volume; vertices are placed in source-volume
        coordinates.
    sigma_vox : float
        Gaussian smoothing in voxels (0 for the raw staircase surface).

    Returns
    -------
    mesh : trimesh.Trimesh
        Vertices ``(x, y, z)`` in nm, outward-facing triangles, watertight.

    Examples
    --------
    >>> import numpy as np
    >>> m = mesh_instance(np.ones((3, 3, 3), bool), voxel_size_nm=10)
    >>> bool(m.is_watertight), bool(m.volume > 0)
    (True, True)
    """
    import trimesh
    from scipy import ndimage
    from skimage.measure import marching_cubes

    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise InputError(f"mask must be a 3D (Z, Y, X) array; got shape {mask.shape}.")
    spacing = as_spacing_nm(voxel_size_nm)
    if not np.any(mask):
        raise InputError("mask is empty: there is no object to mesh.")
    if not (np.isfinite(sigma_vox) and sigma_vox >= 0):
        raise InputError(f"sigma_vox must be >= 0 voxels; got {sigma_vox}.")
    inside = mask.astype(bool)
    pad = int(np.ceil(3 * sigma_vox)) + 1
    inside = np.pad(inside, pad)
    # smooth the 0/1 field (float32 is plenty and half the memory)
    field = inside.astype(np.float32)
    if sigma_vox > 0:
        field = ndimage.gaussian_filter(field, sigma=sigma_vox, mode="constant", truncate=3.0)
        # keep every voxel centre on its side of the level (see _MARGIN)
        np.maximum(field, np.float32(_LEVEL + _MARGIN), out=field, where=inside)
        np.minimum(field, np.float32(_LEVEL - _MARGIN), out=field, where=~inside)
    verts_zyx, faces, _, _ = marching_cubes(
        field, level=_LEVEL, spacing=spacing, allow_degenerate=False
    )
    # back to source-volume voxel indices (remove the padding, add the crop's offset), in nm
    shift = (np.asarray(offset_vox, dtype=float) - pad) * np.asarray(spacing)
    verts_zyx += shift
    # (z, y, x) -> (x, y, z) mirrors the frame, which turns scikit-image's inward-facing
    # winding (gradient_direction="descent") outward
    verts = np.ascontiguousarray(zyx_to_xyz(verts_zyx), dtype=np.float64)
    # scikit-image's vertices are already unique (no merge needed: process=False is ~2x faster)
    return trimesh.Trimesh(vertices=verts, faces=faces, process=False)


@dataclass(frozen=True)
class MeshFacts:
    """Closed-surface facts of a triangle mesh (units of its vertices).

    Attributes
    ----------
    volume : float
        Signed enclosed volume (positive for outward-facing triangles).
    area : float
        Surface area.
    watertight : bool
        Every edge is shared by exactly two triangles.
    euler : int
        Euler number ``V - E + F``.
    n_bodies : int
        Connected surfaces.
    genus : int
        ``n_bodies - euler / 2`` (handles summed over bodies; meaningful when watertight).
    """

    volume: float
    area: float
    watertight: bool
    euler: int
    n_bodies: int
    genus: int


def mesh_facts(mesh: trimesh.Trimesh) -> MeshFacts:
    """Volume, area, watertightness, Euler number and genus in one numpy pass.

    trimesh computes the same through its full mass properties and face adjacency; doing only
    what is needed here is ~4x faster on 100k-triangle meshes (it runs once per instance).
    """
    v = np.asarray(mesh.vertices, dtype=np.float64)
    f = np.asarray(mesh.faces, dtype=np.int64)
    v0, v1, v2 = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    cross = np.cross(v1 - v0, v2 - v0)
    area = 0.5 * float(np.sum(np.linalg.norm(cross, axis=1)))
    volume = float(np.einsum("ij,ij->", v0, cross)) / 6.0
    # undirected edges: on a closed surface each appears exactly twice
    a, b = f.ravel(), f[:, [1, 2, 0]].ravel()
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    n_v = len(v)
    # one key per edge; 32-bit keys when they fit (the sort, the costly step, is faster)
    key_type = np.uint32 if n_v * n_v <= 2**32 else np.int64
    keys = np.sort(lo.astype(key_type) * key_type(n_v) + hi.astype(key_type))
    first = np.ones(len(keys), bool)
    first[1:] = keys[1:] != keys[:-1]
    n_edges = max(1, int(np.count_nonzero(first)))  # a mesh without faces counts one, as always
    watertight = bool(
        len(keys) % 2 == 0 and np.array_equal(keys[0::2], keys[1::2]) and 2 * n_edges == len(keys)
    )
    used = np.zeros(n_v, bool)
    used[a] = True
    euler = int(used.sum()) - n_edges + len(f)
    # bodies: connected parts of the edge graph, each edge once
    edges = keys[first].astype(np.int64)
    labels = join_pairs(n_v, np.stack([edges // n_v, edges % n_v], axis=1))
    n_bodies = int(np.count_nonzero(np.bincount(labels[used])))
    genus = int(round(n_bodies - euler / 2))
    return MeshFacts(volume, area, watertight, int(euler), n_bodies, genus)


def mesh_genus(mesh: trimesh.Trimesh) -> int:
    """Total genus of a closed mesh from its Euler number: ``C - chi / 2`` for ``C`` bodies."""
    return mesh_facts(mesh).genus
