"""All shape forms of one instance (mesh, point cloud, occupancy, skeleton, class, measurements)
as one pure function, so a process pool or a Dask cluster can map it over instances."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ._classify import ClassThresholds, classify_shape
from ._errors import InputError
from ._instance import Instance
from ._memory import check_array_size
from ._mesh import mesh_facts, mesh_instance
from ._occupancy import Occupancy, points_inside, sample_occupancy
from ._pointcloud import PointCloud, sample_pointcloud
from ._skeleton import Skeleton, skeletonize_mask
from ._units import as_spacing_nm, int3, xyz_to_zyx, zyx_to_xyz

if TYPE_CHECKING:
    import trimesh

__all__ = ["ShapeParams", "Shape", "build_shape", "classify_mesh", "voxelize_mesh"]

log = logging.getLogger(__name__)


class ShapeParams(BaseModel):
    """Settings of the per-instance shape forms (written beside every library)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sigma_vox: float = Field(
        0.6,
        ge=0,
        le=5,
        description="Gaussian smoothing of the mask before marching cubes (voxels).",
    )
    n_surface_points: int = Field(
        100_000, ge=1, le=10_000_000, description="Surface samples in pointcloud.ply."
    )
    n_occupancy_points: int = Field(
        100_000, ge=1, le=10_000_000, description="Occupancy samples in occupancies.npz."
    )
    occupancy_padding: float = Field(
        0.1, ge=0, lt=10, description="Occupancy box is [-(1+p)/2, (1+p)/2]^3 (unit-cube units)."
    )
    spur_factor: float = Field(
        1.5, ge=0, description="Prune skeleton spurs shorter than this x local radius + 1 voxel."
    )
    smooth_window: int = Field(
        5, ge=1, le=51, description="Moving-average window (voxels) for skeleton branch lengths."
    )
    skeleton_voxel_nm: float = Field(
        10.0,
        ge=0,
        le=1000,
        description="Thin a copy max-pooled per axis by floor(this / voxel size) (>= 1): "
        "5 nm data is thinned at 10 nm, ~10x faster; 0 thins at the native voxel size.",
    )
    thresholds: ClassThresholds = Field(
        default_factory=ClassThresholds, description="Class rule thresholds."
    )


@dataclass(frozen=True)
class Shape:
    """One library entry. Fields a reader cannot know (e.g. for released 3DMSL folders) are None.

    Attributes
    ----------
    id : int
    mesh : trimesh.Trimesh
        Vertices ``(x, y, z)`` in nm (source-volume coordinates).
    pointcloud : PointCloud or None
    occupancy : Occupancy or None
    skeleton : Skeleton or None
    shape_class : str or None
    measurements : dict
        ``voxel_count``, ``voxel_volume_um3`` (voxel count x voxel volume), ``mesh_volume_um3``
        (enclosed by the mesh), ``surface_area_um2`` (mesh), ``skeleton_length_um``,
        ``n_branches``, ``n_junctions``, ``n_end_points``, ``n_loops``, ``genus`` (mesh Euler
        number), ``loops_agree``, ``bbox`` (z0, y0, x0, z1, y1, x1 voxels), ``offset_vox``,
        ``centroid_nm`` (x, y, z), ``touches_border``, ``voxel_size_nm``, ``source``,
        ``source_label``, ``watertight``, ``n_vertices``, ``n_faces``.
    timings_s : dict
        Seconds per step (mesh, pointcloud, occupancy, skeleton, measure).
    """

    id: int
    mesh: object
    pointcloud: PointCloud | None
    occupancy: Occupancy | None
    skeleton: Skeleton | None
    shape_class: str | None
    measurements: dict = field(default_factory=dict)
    timings_s: dict = field(default_factory=dict)


def build_shape(
    instance: Instance,
    params: ShapeParams = ShapeParams(),
    *,
    rng: int | np.random.Generator | None = None,
) -> Shape:
    """Every shape form of one instance: the pure per-instance function of a library.

    Parameters
    ----------
    instance : Instance
        Boolean crop, its offset and voxel size.
    params : ShapeParams
    rng : int or numpy.random.Generator, optional
        Seeds the point-cloud and occupancy samples (the same seed gives the same bytes).

    Returns
    -------
    Shape

    Examples
    --------
    >>> from shapelib import Instance, build_shape, phantoms
    >>> p = phantoms.torus(voxel_size_nm=30)
    >>> s = build_shape(Instance(1, p.mask, (0, 0, 0), p.voxel_size_nm),
    ...                 ShapeParams(n_surface_points=1000, n_occupancy_points=1000), rng=0)
    >>> s.shape_class, s.measurements["genus"]
    ('donut', 1)
    """
    rng = np.random.default_rng(rng)
    rng_pc, rng_occ = rng.spawn(2)
    spacing = as_spacing_nm(instance.voxel_size_nm)
    mask = np.asarray(instance.mask, dtype=bool)
    t: dict[str, float] = {}

    t0 = time.perf_counter()
    mesh = mesh_instance(
        mask, voxel_size_nm=spacing, offset_vox=instance.offset_vox, sigma_vox=params.sigma_vox
    )
    t["mesh"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    pc = sample_pointcloud(mesh, params.n_surface_points, rng=rng_pc)
    t["pointcloud"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    occ = sample_occupancy(
        mesh, params.n_occupancy_points, padding=params.occupancy_padding, rng=rng_occ,
        source_mask=mask, voxel_size_nm=spacing, offset_vox=instance.offset_vox,
    )  # fmt: skip
    t["occupancy"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    skel = _skeleton(mask, spacing, params)
    t["skeleton"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    m = _mesh_measurements(mesh, skel)
    shape_class = classify_shape(skel, m["mesh_volume_um3"], thresholds=params.thresholds)
    # centroid from the per-axis projections (cheaper than listing every voxel); the y and x
    # projections come from the (y, x) one, so the mask is read twice, not three times
    per_z, per_yx = mask.sum(axis=(1, 2)), mask.sum(axis=0)
    voxel_count = int(per_z.sum())
    projections = (per_z, per_yx.sum(axis=1), per_yx.sum(axis=0))
    centroid_vox = np.array(
        [np.dot(p, np.arange(n)) for p, n in zip(projections, mask.shape, strict=True)]
    ) / max(voxel_count, 1) + np.asarray(instance.offset_vox)
    # id and class are fields of the Shape, not measurements (meta.json stores each once)
    m.update(
        voxel_count=voxel_count,
        voxel_volume_um3=voxel_count * float(np.prod(spacing)) / 1e9,
        bbox=[int(v) for v in instance.bbox_vox],
        offset_vox=[int(v) for v in instance.offset_vox],
        centroid_nm=[float(v) for v in zyx_to_xyz(centroid_vox * np.asarray(spacing))],
        touches_border=bool(instance.touches_border),
        voxel_size_nm=[float(v) for v in spacing],
        source=str(instance.source),
        source_label=int(instance.source_label),
    )
    if not m["loops_agree"]:
        log.info(
            "instance %s: skeleton loops %d != mesh genus %d",
            instance.id, skel.n_loops, m["genus"],
        )  # fmt: skip
    t["measure"] = time.perf_counter() - t0
    return Shape(int(instance.id), mesh, pc, occ, skel, shape_class, m, t)


def _skeleton(mask: np.ndarray, spacing, params: ShapeParams) -> Skeleton:
    """The skeleton of a mask with the settings of ``params`` (build_shape and classify_mesh)."""
    return skeletonize_mask(
        mask, voxel_size_nm=spacing, spur_factor=params.spur_factor,
        smooth_window=params.smooth_window,
        downsample=_skeleton_factors(spacing, params.skeleton_voxel_nm),
    )  # fmt: skip


def check_skeleton_grid(spacing, params: ShapeParams) -> None:
    """Price the skeleton step before any instance is built: it max-pools blocks of
    ``skeleton_voxel_nm / voxel size`` voxels per axis, one such block at least per instance,
    so a tiny voxel size (``--voxel-size-nm 0.001``) would ask for hundreds of GiB."""
    from ._memory import max_array_bytes

    factors = _skeleton_factors(spacing, params.skeleton_voxel_nm)
    side = max(1, int(max_array_bytes() ** (1 / 3)))
    smallest = params.skeleton_voxel_nm / side
    check_array_size(
        factors, np.bool_, what=f"the skeleton step at {tuple(spacing)} nm voxels",
        hint=f"Pass a larger --voxel-size-nm (the smallest that fits is about {smallest:.3g} nm).",
    )  # fmt: skip


def _skeleton_factors(spacing, skeleton_voxel_nm: float) -> tuple[int, int, int]:
    """Per-axis max-pool factors so thinning runs at about ``skeleton_voxel_nm`` or coarser."""
    return int3(max(1, int(skeleton_voxel_nm // s)) for s in spacing)


def _mesh_measurements(mesh, skel: Skeleton) -> dict:
    facts = mesh_facts(mesh)
    genus = facts.genus
    return {
        "mesh_volume_um3": facts.volume / 1e9,
        "surface_area_um2": facts.area / 1e6,
        "skeleton_length_um": float(skel.length_um),
        "n_branches": int(skel.n_branches),
        "n_junctions": int(skel.n_junctions),
        "n_end_points": int(skel.n_end_points),
        "n_loops": int(skel.n_loops),
        "genus": int(genus),
        "loops_agree": bool(genus == skel.n_loops),
        "watertight": facts.watertight,
        "n_vertices": int(len(mesh.vertices)),
        "n_faces": int(len(mesh.faces)),
    }


def voxelize_mesh(
    mesh: trimesh.Trimesh, *, voxel_size_nm: float | Sequence[float]
) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Voxels whose centres lie inside a closed mesh (vertices in nm).

    Voxel ``(k, j, i)`` has its centre at ``(i*sx, j*sy, k*sz)`` nm, the convention of
    :func:`mesh_instance`, so a mesh of a mask re-voxelizes onto the same grid.

    Returns
    -------
    mask : (Z, Y, X) ndarray of bool
    offset_vox : (z, y, x) index of ``mask[0, 0, 0]``
    """
    spacing = np.asarray(as_spacing_nm(voxel_size_nm))
    lo, hi = xyz_to_zyx(np.asarray(mesh.bounds))  # (z, y, x) nm
    # The grid, its coordinates and the inside test take ~64 bytes per voxel: check first.
    check_array_size(
        [*(np.ceil(hi / spacing) - np.floor(lo / spacing) + 3), 8], np.float64,
        what=f"voxelizing the mesh at {tuple(spacing.tolist())} nm",
        hint="Pass a larger --voxel-size-nm (the mesh's own voxel size; 3DMSL: 24).",
    )  # fmt: skip
    k0 = np.floor(lo / spacing).astype(int) - 1
    k1 = np.ceil(hi / spacing).astype(int) + 2
    axes = [np.arange(a, b) for a, b in zip(k0, k1, strict=True)]
    zz, yy, xx = np.meshgrid(*axes, indexing="ij")
    centres = zyx_to_xyz(np.stack([zz.ravel(), yy.ravel(), xx.ravel()], 1) * spacing)
    inside = np.asarray(points_inside(mesh, centres)).reshape(zz.shape)
    return inside, int3(k0)


def classify_mesh(
    mesh: trimesh.Trimesh,
    *,
    voxel_size_nm: float | Sequence[float],
    params: ShapeParams = ShapeParams(),
) -> dict:
    """Class and measurements of a closed mesh: voxelize at ``voxel_size_nm``, then the same
    skeleton and rules as :func:`build_shape` (for released 3DMSL folders, which ship no mask).

    Returns
    -------
    dict
        ``shape_class``, ``voxel_count``, ``mesh_volume_um3``, ``surface_area_um2``,
        ``skeleton_length_um``, ``n_branches``, ``n_junctions``, ``n_end_points``, ``n_loops``,
        ``genus``, ``loops_agree``, ``voxel_size_nm`` and mesh facts.
    """
    spacing = as_spacing_nm(voxel_size_nm)
    if not mesh.is_watertight:
        # An open surface has no inside: voxelizing it gives holes that read as loops.
        raise InputError(
            f"the mesh is not closed (watertight): {len(mesh.faces)} faces with open edges or "
            "flipped faces; classify needs a closed surface (repair it, e.g. with "
            "trimesh.repair.fill_holes, or re-extract the instance)."
        )
    mask, _ = voxelize_mesh(mesh, voxel_size_nm=spacing)
    if not mask.any():
        raise InputError(
            f"the mesh holds no voxel centre at voxel size {spacing} nm; pass a smaller "
            "--voxel-size-nm or check the mesh's units."
        )
    skel = _skeleton(mask, spacing, params)
    m = _mesh_measurements(mesh, skel)
    m["shape_class"] = classify_shape(skel, m["mesh_volume_um3"], thresholds=params.thresholds)
    m["voxel_count"] = int(np.count_nonzero(mask))
    m["voxel_size_nm"] = [float(v) for v in spacing]
    return m
