"""Cell-like fields of view: tens of library shapes inside a cell, blur from above and below.

A cell is a smooth closed outline (a circle with random low harmonics) with a nucleus (an
ellipse inside it) that holds no mitochondria. Shapes are placed inside the cell and outside the
nucleus (their whole projection), at depths spread over the cell's thickness above and below
the focal plane, so out-of-focus objects blur into the image as in a real cell. The cytoplasm
adds a diffuse background (its thickness, a dome over the cell, times a labelling density,
blurred by the out-of-focus PSF's width, a Gaussian of ``haze_blur_nm``) and the whole cell a
uniform autofluorescence; both are stated in photons per um^2 of the sample at the focal
plane and are zero outside the cell. Only in-focus objects enter the masks (the in-focus truth
of :func:`render_scene`); z-stacks have 3D label volumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shapelib import InputError

from ._config import Acquisition, Microscope
from ._geometry import (
    auto_focal_depth_nm,
    check_mesh,
    focal_depths,
    mesh_radius_nm,
    place,
    random_rotation,
    sample_fluorophores,
)
from ._scene import Scene, SceneShape, image_scene
from ._truth import Placement, truth_masks

__all__ = ["CellSceneConfig", "CellPlan", "plan_cell_scene", "render_cell_scene"]


class CellSceneConfig(BaseModel):
    """How to build one cell-like field of view (a 2D image or a z-stack)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["cell"] = Field("cell", description="the scene kind")
    acquisition: Acquisition = Field(
        default_factory=lambda: Acquisition(size_px=256),
        description="image size, focal depth (middle plane), z planes and step, mask target",
    )
    objects: tuple[int, int] = Field((20, 60), description="min and max shapes in the cell")
    cell_radius_um: tuple[float, float] = Field(
        (6.0, 11.0), description="range of the cell's mean radius, um"
    )
    nucleus_fraction: tuple[float, float] = Field(
        (0.3, 0.45), description="range of the nucleus radius / cell radius"
    )
    depth_spread_nm: float = Field(
        1500.0, ge=0, le=10000, description="object centres within +- this of the focal plane"
    )
    cell_height_nm: float = Field(
        4000.0, gt=0, le=20000, description="thickness of the cytoplasm dome at its centre"
    )
    cytosol_photons_per_um3: float = Field(
        300.0, ge=0, description="diffuse cytosolic label: photons per um^3 of cytoplasm"
    )
    autofluorescence_photons_per_um2: float = Field(
        150.0, ge=0, description="uniform cell autofluorescence, photons per um^2 of the cell"
    )
    haze_blur_nm: float = Field(
        800.0, ge=0, le=10000, description="blur of the diffuse light (std of a Gaussian), nm"
    )
    max_attempts: int = Field(30, ge=1, le=10000, description="placement tries per object")

    @model_validator(mode="after")
    def _check(self) -> CellSceneConfig:
        for name, low in (("objects", 1), ("cell_radius_um", 0.5), ("nucleus_fraction", 0.0)):
            lo, hi = getattr(self, name)
            if not low <= lo <= hi:
                raise ValueError(
                    f"{name} must be MIN, MAX with {low} <= MIN <= MAX; got {lo}, {hi}"
                )
        if self.nucleus_fraction[1] >= 0.9:
            raise ValueError("nucleus_fraction must stay below 0.9 (room for mitochondria)")
        return self


@dataclass(frozen=True)
class CellPlan:
    """A cell scene before rendering: geometry, emitters and truth.

    Attributes
    ----------
    cell, nucleus : (H, W) ndarray of bool
        Pixel centres inside the cell outline and inside the nucleus.
    emitters : (N, 3) ndarray
        Fluorophores (x, y, depth) nm in the image frame, all objects.
    owner : (N,) ndarray of int
        Index into ``objects`` of each emitter's object.
    focal_depths_nm : tuple of float
    instances, labels : as :class:`Scene`
    background : (P, H, W) ndarray of float
        Diffuse photons per pixel (cytosol and autofluorescence).
    objects : list of dict
        As :class:`Scene` (label 0 for objects with no in-focus pixel), plus ``in_focus``.
    """

    cell: np.ndarray
    nucleus: np.ndarray
    emitters: np.ndarray
    owner: np.ndarray
    focal_depths_nm: tuple
    instances: np.ndarray
    labels: np.ndarray
    background: np.ndarray
    objects: list


def _outline(rng, n_px: int, a: float, cfg: CellSceneConfig):
    """Cell and nucleus masks on the pixel grid, and the cell's centre/radius function (nm)."""
    r0 = rng.uniform(*cfg.cell_radius_um) * 1000.0
    field = n_px * a
    # the centre lies in the field, the outline may leave it (a cell is about a field wide)
    cx, cy = rng.uniform(0.1, 0.9, 2) * field
    k = np.arange(2, 6)
    amp, phase = rng.uniform(0, 0.08, len(k)) / np.sqrt(k - 1), rng.uniform(0, 2 * np.pi, len(k))
    frac = rng.uniform(*cfg.nucleus_fraction)
    shift = rng.uniform(0, 0.3) * r0 * np.array([np.cos(t := rng.uniform(0, 2 * np.pi)), np.sin(t)])
    ax = frac * r0 * np.array([rng.uniform(0.85, 1.15), rng.uniform(0.7, 1.0)])
    tilt = rng.uniform(0, np.pi)

    def radius(theta):
        return r0 * (1 + np.sum(amp[:, None] * np.cos(k[:, None] * theta + phase[:, None]), 0))

    def inside(x, y):
        """(cell, nucleus) membership of points (nm)."""
        dx, dy = x - cx, y - cy
        cell = np.hypot(dx, dy) <= radius(np.arctan2(dy, dx).ravel()).reshape(np.shape(dx))
        ux, uy = dx - shift[0], dy - shift[1]
        c, s = np.cos(tilt), np.sin(tilt)
        nuc = ((c * ux + s * uy) / ax[0]) ** 2 + ((-s * ux + c * uy) / ax[1]) ** 2 <= 1
        return cell, nuc

    centres = (np.arange(n_px) + 0.5) * a
    xx, yy = np.meshgrid(centres, centres)
    cell, nuc = inside(xx, yy)
    dome = np.clip(1 - (np.hypot(xx - cx, yy - cy) / r0) ** 2, 0, None) ** 0.5
    return cell, nuc & cell, inside, dome


def plan_cell_scene(
    shapes: Sequence[SceneShape],
    microscope: Microscope,
    config: CellSceneConfig | None = None,
    *,
    rng: int | np.random.Generator | None = None,
) -> CellPlan:
    """Place shapes in a cell and compute its emitters, diffuse light and truth (no render)."""
    rng = np.random.default_rng(rng)
    cfg = config or CellSceneConfig()
    acq = cfg.acquisition
    if len(shapes) == 0:
        raise InputError("a cell scene needs at least one shape; got an empty list.")
    for s in shapes:
        check_mesh(s.mesh, name=f"mesh of shape {s.id}")
    optics = microscope.optics
    a, n_px = optics.pixel_size_nm, acq.size_px
    # the cell, its nucleus, then which shapes and where the focus lies
    cell, nucleus, inside, dome = _outline(rng, n_px, a, cfg)
    n_obj = int(rng.integers(cfg.objects[0], cfg.objects[1] + 1))
    picks = [shapes[int(i)] for i in rng.integers(0, len(shapes), n_obj)]
    focal = acq.focal_depth_nm
    if focal is None:
        focal = auto_focal_depth_nm(max(mesh_radius_nm(s.mesh) for s in picks), cfg.depth_spread_nm)
    depths = focal_depths(acq, focal)
    shape3 = (len(depths), n_px, n_px)
    instances = np.zeros(shape3, np.uint16)
    labels = np.zeros(shape3, np.uint16)
    emitters: list[np.ndarray] = []
    owner: list[np.ndarray] = []
    objects: list[dict] = []
    free = cell & ~nucleus
    for shape in picks:
        # a place whose projection lies in the cytoplasm (inside the cell, off the nucleus)
        for _ in range(cfg.max_attempts):
            m = random_rotation(rng)
            pos = rng.uniform(0, n_px * a, 2)
            c_in, n_in = inside(pos[0], pos[1])
            if not c_in or n_in:
                continue
            depth = focal + rng.uniform(-cfg.depth_spread_nm, cfg.depth_spread_nm)
            offset = (pos[0], pos[1], depth)
            moved = Placement(shape.mesh, m, shape.mesh.centroid, offset)
            if moved.bounds[0, 2] < 0:
                continue  # would cross the coverslip
            in_focus, proj, inside3 = truth_masks(
                moved, size_px=n_px, pixel_size_nm=a, focal_depths_nm=depths, dof_nm=optics.dof_nm
            )
            if not np.any(proj & ~free):
                break
        else:
            continue  # no place in the cytoplasm: leave this object out
        k = len(objects)
        focused = bool(in_focus.any())
        label = 1 + sum(o["in_focus"] for o in objects) if focused else 0
        if focused:
            target = in_focus if acq.mask == "in_focus" else np.broadcast_to(proj, shape3)
            instances[target] = label
            labels[inside3] = label
        em = sample_fluorophores(shape.mesh, microscope.labelling, rng=rng)
        emitters.append(place(em, m, shape.mesh.centroid, offset_nm=offset))
        owner.append(np.full(len(em), k))
        objects.append(
            {
                "label": label,
                "id": int(shape.id),
                "class": shape.shape_class,
                "x_nm": float(pos[0]),
                "y_nm": float(pos[1]),
                "depth_nm": float(depth),
                "rotation": m.round(6).tolist(),
                "n_emitters": int(len(em)),
                "in_focus": focused,
            }
        )
    # diffuse light: cytosol (dome thickness x density, blurred) and autofluorescence
    from scipy.ndimage import gaussian_filter

    area_um2 = (a / 1000.0) ** 2
    cyto = (cell & ~nucleus) * dome * cfg.cell_height_nm / 1000.0 * cfg.cytosol_photons_per_um3
    haze = cyto + cell * cfg.autofluorescence_photons_per_um2
    if cfg.haze_blur_nm > 0:
        haze = gaussian_filter(haze, cfg.haze_blur_nm / a, mode="nearest")
    background = np.broadcast_to(haze * area_um2, shape3).copy()
    return CellPlan(
        cell=cell,
        nucleus=nucleus,
        emitters=np.vstack(emitters) if emitters else np.empty((0, 3)),
        owner=np.concatenate(owner) if owner else np.zeros(0, int),
        focal_depths_nm=depths,
        instances=instances,
        labels=labels,
        background=background,
        objects=objects,
    )


def render_cell_scene(
    shapes: Sequence[SceneShape],
    microscope: Microscope,
    config: CellSceneConfig | None = None,
    *,
    rng: int | np.random.Generator | None = None,
) -> Scene:
    """A cell-like field of view (see the module's text), rendered with camera noise.

    Returns
    -------
    Scene
        As :func:`render_scene`; ``objects`` lists every placed shape, with ``in_focus`` and
        label 0 for those that do not reach the focal slab (they only blur the image).

    Examples
    --------
    >>> import trimesh
    >>> from simulator import EPI1, Acquisition, CellSceneConfig, SceneShape, render_cell_scene
    >>> rod = SceneShape(trimesh.creation.capsule(height=1000, radius=200), 1, "rod")
    >>> cfg = CellSceneConfig(acquisition=Acquisition(size_px=64), objects=(10, 10))
    >>> sc = render_cell_scene([rod], EPI1, cfg, rng=0)
    >>> sc.image.shape, len(sc.objects) <= 10
    ((64, 64), True)
    """
    rng = np.random.default_rng(rng)
    cfg = config or CellSceneConfig()
    plan = plan_cell_scene(shapes, microscope, cfg, rng=rng)
    return image_scene(
        plan.emitters, microscope, plan.focal_depths_nm, plan.instances, plan.labels,
        plan.objects, background=plan.background, rng=rng,
    )  # fmt: skip
