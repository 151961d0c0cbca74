"""Geometry of the phantoms: sampling a shape at voxel centres, distances to segments and
tubes, axes of arcs and helices, and the truth: closed-form capsule volume and area, and the
numerical junction of branched tubes."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .._units import xyz_to_zyx, zyx_to_xyz

_BLOCK = 8  # voxels per block edge in the coarse pass of _rasterize


def _rasterize(
    distance: Callable[[np.ndarray, float], np.ndarray],
    half_extent_nm: np.ndarray,
    voxel_size_nm: tuple[float, float, float],
    rotation: np.ndarray | None,
    margin_vox: int = 2,
) -> np.ndarray:
    """Sample a shape at voxel centres of a box around it; inside where ``distance <= 0``.

    ``distance(local_xyz_nm, tol_nm)`` returns, per point, the signed distance to the surface
    in nm, or a lower bound of it; values above ``tol_nm`` may be returned as ``inf``. A coarse
    pass over blocks of 8^3 voxels skips blocks far from the surface, so long, rotated, or
    coiled shapes cost about their own size, not their bounding box's.
    """
    rot = np.eye(3) if rotation is None else np.asarray(rotation, dtype=float)
    # world-frame half extent of the rotated local box
    half_world = np.abs(rot) @ np.asarray(half_extent_nm, dtype=float)
    spacing_xyz = zyx_to_xyz(np.asarray(voxel_size_nm, dtype=float))
    n_half = np.ceil(half_world / spacing_xyz).astype(int) + margin_vox
    shape_xyz = 2 * n_half + 1
    mask = np.zeros(tuple(xyz_to_zyx(shape_xyz).tolist()), dtype=bool)

    def centres(idx_xyz: np.ndarray) -> np.ndarray:
        # voxel index (i, j, k) -> local-frame coordinates (x, y, z) in nm: world = R @ local
        # (column vectors, the convention of shapelib.random_rotation), so local = world @ R
        return ((idx_xyz - n_half) * spacing_xyz) @ rot

    # coarse pass: keep blocks whose centre is within half a block diagonal of the surface
    nb = -(-shape_xyz // _BLOCK)
    bidx = np.stack(np.meshgrid(*[np.arange(n) for n in nb], indexing="ij"), -1).reshape(-1, 3)
    half_diag = 0.5 * np.linalg.norm(_BLOCK * spacing_xyz)
    bcent = centres(bidx * _BLOCK + (_BLOCK - 1) / 2.0)
    keep = bidx[distance(bcent, half_diag) <= half_diag]
    # fine pass over the voxels of kept blocks, a few thousand blocks at a time
    off = np.stack(np.meshgrid(*[np.arange(_BLOCK)] * 3, indexing="ij"), -1).reshape(-1, 3)
    for start in range(0, len(keep), 2048):
        idx = (keep[start : start + 2048, None, :] * _BLOCK + off[None]).reshape(-1, 3)
        idx = idx[np.all(idx < shape_xyz, axis=1)]
        inside = distance(centres(idx.astype(float)), 0.0) <= 0
        mask[tuple(xyz_to_zyx(idx[inside]).T)] = True
    return mask


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(((p - a) @ ab) / float(ab @ ab), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)


def _tube_distance(axis_nm: np.ndarray, radius_nm: float):
    """Signed distance to a round tube (with round end caps) around a densely sampled axis."""
    from scipy.spatial import cKDTree

    tree = cKDTree(axis_nm)

    def distance(p: np.ndarray, tol: float) -> np.ndarray:
        d, _ = tree.query(p, distance_upper_bound=radius_nm + tol + 1e-6)
        return d - radius_nm

    return distance


def _dense_spacing(voxel_size_nm) -> float:
    # axis sample spacing: the distance error to a curve sampled every ds is < ds^2 / (8 r)
    return min(voxel_size_nm) / 8.0


def _arc_axis(length_nm: float, bend_deg: float, ds: float) -> np.ndarray:
    """Points along a circular arc of given length and turning angle, centred on the origin."""
    n = max(2, int(math.ceil(length_nm / ds)) + 1)
    s = np.linspace(-length_nm / 2, length_nm / 2, n)
    theta = math.radians(bend_deg)
    if theta < 1e-9:
        return np.stack([s, np.zeros_like(s), np.zeros_like(s)], axis=1)
    rho = length_nm / theta
    phi = s / rho
    pts = np.stack([rho * np.sin(phi), rho * (1 - np.cos(phi)), np.zeros_like(s)], axis=1)
    return pts - (pts.min(axis=0) + pts.max(axis=0)) / 2


def _capsule_truth(length_nm: float, radius_nm: float) -> tuple[float, float]:
    """Volume ``pi r^2 L + 4/3 pi r^3`` and area ``2 pi r L + 4 pi r^2`` of a round tube of
    radius ``r`` with hemispherical caps around an axis of length ``L`` (straight or curved:
    Pappus, while the axis' curvature radius exceeds ``r`` and the tube does not touch itself)."""
    r, length = float(radius_nm), float(length_nm)
    return (
        math.pi * r * r * length + 4 / 3 * math.pi * r**3,
        2 * math.pi * r * length + 4 * math.pi * r * r,
    )


def _junction_truth(ends: np.ndarray, r: float) -> tuple[float, float]:
    """Volume and area of a union of tubes from the origin: exact arms + numerical junction.

    Inside a ball of radius 4 r around the junction each arm is cut to a straight piece of
    length 4 r; the union of those pieces is integrated on a fine grid (volume by counting,
    area by marching cubes of the exact distance field) and the exact far parts are added.
    """
    from skimage.measure import marching_cubes, mesh_surface_area

    cut = 4.0 * r
    lengths = np.linalg.norm(ends, axis=1)
    near_len = np.minimum(lengths, cut)
    near_ends = ends / lengths[:, None] * near_len[:, None]
    h = r / 10.0
    ax = np.arange(-cut - 2 * r, cut + 2 * r + h, h)
    zax = np.arange(-r - 2 * h, r + 3 * h, h)
    zz, yy, xx = np.meshgrid(zax, ax, ax, indexing="ij")
    p = np.stack([xx.ravel(), yy.ravel(), zz.ravel()], axis=1)
    d = np.min([_segment_distance(p, np.zeros(3), e) for e in near_ends], axis=0) - r
    d = d.reshape(zz.shape)
    vol_near = np.count_nonzero(d <= 0) * h**3
    verts, faces, _, _ = marching_cubes(d, 0.0, spacing=(h, h, h))
    area_near = mesh_surface_area(verts, faces)
    # the near pieces end in flat-less round caps at near_len; swap those caps for the exact
    # remainder of each arm (cylinder of length l - near_len, same cap)
    far = lengths - near_len
    return (
        vol_near + math.pi * r * r * far.sum(),
        area_near + 2 * math.pi * r * far.sum(),
    )


def _helix_axis(length_nm: float, coil_radius_nm: float, pitch_nm: float, ds: float):
    c = pitch_nm / (2 * math.pi)
    speed = math.hypot(coil_radius_nm, c)  # arc length per radian
    t_total = length_nm / speed
    n = max(2, int(math.ceil(length_nm / ds)) + 1)
    t = np.linspace(0, t_total, n)
    pts = np.stack([coil_radius_nm * np.cos(t), coil_radius_nm * np.sin(t), c * t], axis=1)
    return pts - (pts.min(axis=0) + pts.max(axis=0)) / 2
