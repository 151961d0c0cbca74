"""Fields of view with several mitochondria: placement, one render, per-object label truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import trimesh
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shapelib import InputError

from ._camera import apply_camera
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
from ._render import render_emitters
from ._truth import Placement, truth_masks, visible_from_in_focus

__all__ = ["SceneConfig", "Scene", "SceneShape", "render_scene", "target_mask"]


class SceneConfig(BaseModel):
    """How to build one field of view of several objects (a 2D image or a z-stack)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["objects"] = Field("objects", description="the scene kind")
    acquisition: Acquisition = Field(
        default_factory=lambda: Acquisition(size_px=256),
        description="image size, focal depth (of the middle plane), z planes and step, mask "
        "target; the default is a 256 px 2D image",
    )
    objects: tuple[int, int] = Field((1, 8), description="min and max objects per image")
    allow_overlap: bool = Field(False, description="allow projections of objects to overlap")
    depth_spread_nm: float = Field(
        400.0, ge=0, le=5000, description="object centres drawn within +- this of the focal plane"
    )
    max_attempts: int = Field(50, ge=1, le=10000, description="placement tries per object")

    @model_validator(mode="after")
    def _check(self) -> SceneConfig:
        lo, hi = self.objects
        if not 1 <= lo <= hi:
            raise ValueError(f"objects must be MIN-MAX with 1 <= MIN <= MAX; got {lo}-{hi}")
        return self


@dataclass(frozen=True)
class SceneShape:
    """A library shape as the simulator uses it: its mesh (nm), library id and class."""

    mesh: trimesh.Trimesh
    id: int = 0
    shape_class: str = ""


@dataclass(frozen=True)
class Scene:
    """One field of view and its truth, on the image's grid.

    Attributes
    ----------
    image : (H, W) or (Z, H, W) ndarray of uint16
        A z-stack when the acquisition has several planes.
    expected : same shape, ndarray of float32, noise-free photons
    mask : same shape, ndarray of uint8 {0, 1}
    instances : same shape, ndarray of uint16
        Object labels of the mask target (``acquisition.mask``): 0 = background, k = the k-th
        object of ``objects``.
    labels : (Z, H, W) ndarray of uint16
        The 3D label volume on the stack's grid: k where the pixel centre lies inside object k
        at the plane's depth (one plane for a 2D image).
    objects : list of dict
        Per object: label, id, class, x_nm, y_nm, depth_nm, rotation (R, 3x3 list; rows of
        points rotate as ``points @ R.T``), n_emitters.
    params : dict
        What was drawn for this image beyond its objects (microscope variant, export), for
        the record written beside it.
    """

    image: np.ndarray
    expected: np.ndarray
    mask: np.ndarray
    instances: np.ndarray
    labels: np.ndarray
    objects: list = field(default_factory=list)
    params: dict = field(default_factory=dict)


def render_scene(
    shapes: Sequence[SceneShape],
    microscope: Microscope,
    config: SceneConfig | None = None,
    *,
    rng: int | np.random.Generator | None = None,
) -> Scene:
    """Several randomly placed, rotated shapes in one image or z-stack, rendered together.

    Objects are drawn uniformly from ``shapes`` (with replacement), rotated uniformly at
    random, centred at a random position in the image and a random depth within
    ``depth_spread_nm`` of the focal plane (the middle plane of a stack). Unless
    ``allow_overlap``, an object whose projection would overlap another is re-placed (up to
    ``max_attempts``) or left out.

    Examples
    --------
    >>> import trimesh
    >>> from simulator import EPI1, Acquisition, SceneConfig, SceneShape, render_scene
    >>> rod = SceneShape(trimesh.creation.capsule(height=1000, radius=200), 1, "rod")
    >>> cfg = SceneConfig(acquisition=Acquisition(size_px=48, z_planes=3), objects=(2, 2))
    >>> sc = render_scene([rod], EPI1, cfg, rng=0)
    >>> sc.image.shape, sc.labels.shape
    ((3, 48, 48), (3, 48, 48))
    """
    rng = np.random.default_rng(rng)
    cfg = config or SceneConfig()
    acq = cfg.acquisition
    if len(shapes) == 0:
        raise InputError("render_scene needs at least one shape; got an empty list.")
    optics = microscope.optics
    a, n_px = optics.pixel_size_nm, acq.size_px
    # which objects: their number and shapes
    n_obj = int(rng.integers(cfg.objects[0], cfg.objects[1] + 1))
    picks = [shapes[int(i)] for i in rng.integers(0, len(shapes), n_obj)]
    radius = max(mesh_radius_nm(s.mesh) for s in picks)
    focal = acq.focal_depth_nm
    if focal is None:
        focal = auto_focal_depth_nm(radius, cfg.depth_spread_nm)
    depths = focal_depths(acq, focal)
    shape3 = (len(depths), n_px, n_px)
    occupied = np.zeros((n_px, n_px), bool)
    instances = np.zeros(shape3, np.uint16)
    labels = np.zeros(shape3, np.uint16)
    all_xyz: list[np.ndarray] = []
    objects: list[dict] = []
    for shape in picks:
        # place each object where its projection is free (or anywhere, allow_overlap)
        check_mesh(shape.mesh, name=f"mesh of shape {shape.id}")
        for _ in range(cfg.max_attempts):
            m = random_rotation(rng)
            pos = (rng.uniform(0, n_px * a), rng.uniform(0, n_px * a))
            depth = focal + rng.uniform(-cfg.depth_spread_nm, cfg.depth_spread_nm)
            offset = (pos[0], pos[1], depth)
            moved = Placement(shape.mesh, m, shape.mesh.centroid, offset)
            in_focus, proj, inside = truth_masks(
                moved, size_px=n_px, pixel_size_nm=a, focal_depths_nm=depths, dof_nm=optics.dof_nm
            )
            if cfg.allow_overlap or not np.any(proj & occupied):
                break
        else:
            continue  # no free place found: leave this object out
        # its truth, then its fluorophores in the image frame
        occupied |= proj
        label = len(objects) + 1
        instances[target_mask(acq.mask, in_focus, proj, optics)] = label
        labels[inside] = label
        em = sample_fluorophores(shape.mesh, microscope.labelling, rng=rng)
        all_xyz.append(place(em, m, shape.mesh.centroid, offset_nm=offset))
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
            }
        )
    # one render of all fluorophores, camera noise last
    xyz = np.vstack(all_xyz) if all_xyz else np.empty((0, 3))
    return image_scene(xyz, microscope, depths, instances, labels, objects, rng=rng)


def target_mask(kind: str, in_focus: np.ndarray, projection: np.ndarray, optics) -> np.ndarray:
    """One object's segmentation target, (P, H, W) bool: ``Acquisition.mask`` of its truth."""
    if kind == "in_focus":
        return in_focus
    if kind == "visible":
        return visible_from_in_focus(
            in_focus, pixel_size_nm=optics.pixel_size_nm, fwhm_nm=optics.nominal_fwhm_nm
        )
    return np.broadcast_to(projection, in_focus.shape)


def image_scene(
    emitters_nm: np.ndarray,
    microscope: Microscope,
    focal_depths_nm,
    instances: np.ndarray,
    labels: np.ndarray,
    objects: list,
    *,
    background: np.ndarray | None = None,
    brightness: np.ndarray | None = None,
    rng: np.random.Generator,
) -> Scene:
    """Render placed fluorophores (plus a noise-free ``background`` in photons), add camera
    noise and assemble the `Scene` with its truth (a 2D scene when one focal plane).
    ``brightness`` (N,) scales each emitter's photons (uneven labelling; default 1)."""
    optics = microscope.optics
    weights = np.full(len(emitters_nm), microscope.labelling.photons_per_fluorophore)
    if brightness is not None:
        weights = weights * np.asarray(brightness, float)
    expected = render_emitters(
        emitters_nm, weights, optics, size_px=instances.shape[-1], focal_depths_nm=focal_depths_nm
    )
    if background is not None:
        expected += background
    image = apply_camera(expected, microscope.camera, rng=rng)
    squeeze = len(focal_depths_nm) == 1
    instances = instances[0] if squeeze else instances
    return Scene(
        image=image[0] if squeeze else image,
        expected=(expected[0] if squeeze else expected).astype(np.float32),
        mask=(instances > 0).astype(np.uint8),
        instances=instances,
        labels=labels,
        objects=objects,
    )
