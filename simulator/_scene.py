"""Fields of view with several mitochondria: placement, one render, instance ground truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import trimesh
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._camera import apply_camera
from ._config import Microscope
from ._geometry import check_mesh, random_rotation, sample_fluorophores
from ._image import auto_focal_depth_nm, mesh_radius_nm, place
from ._render import render_emitters
from ._truth import truth_masks

__all__ = ["SceneConfig", "Scene", "SceneShape", "render_scene"]


class SceneConfig(BaseModel):
    """How to build one training image of several objects."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size_px: int = Field(256, ge=16, le=4096, description="image side, pixels")
    objects: tuple[int, int] = Field((1, 8), description="min and max objects per image")
    allow_overlap: bool = Field(False, description="allow projections of objects to overlap")
    depth_spread_nm: float = Field(
        400.0, ge=0, le=5000, description="object centres drawn within +- this of the focal plane"
    )
    focal_depth_nm: float | None = Field(
        None, ge=0, description="focal plane depth, nm; default: deep enough for every object"
    )
    mask: Literal["in_focus", "projection"] = Field("in_focus", description="mask target")
    max_attempts: int = Field(50, ge=1, le=10000, description="placement tries per object")

    @model_validator(mode="after")
    def _check(self) -> SceneConfig:
        lo, hi = self.objects
        if not 1 <= lo <= hi:
            raise ValueError(f"objects must be MIN-MAX with 1 <= MIN <= MAX; got {lo}-{hi}")
        return self


@dataclass(frozen=True)
class SceneShape:
    """A shape that may appear in a scene: its mesh (nm), library id and class."""

    mesh: trimesh.Trimesh
    id: int = 0
    shape_class: str = ""


@dataclass(frozen=True)
class Scene:
    """One field of view and its truth.

    Attributes
    ----------
    image : (H, W) ndarray of uint16
    expected : (H, W) ndarray of float32, noise-free photons
    mask : (H, W) ndarray of uint8 {0, 1}
    instances : (H, W) ndarray of uint16, 0 = background, k = k-th object of ``objects``
    objects : list of dict
        Per object: label, id, class, x_nm, y_nm, depth_nm, rotation (3x3 list), n_emitters.
    """

    image: np.ndarray
    expected: np.ndarray
    mask: np.ndarray
    instances: np.ndarray
    objects: list = field(default_factory=list)


def render_scene(
    shapes: Sequence[SceneShape],
    microscope: Microscope,
    config: SceneConfig | None = None,
    *,
    rng: int | np.random.Generator | None = None,
) -> Scene:
    """Several randomly placed, rotated shapes in one image, rendered together.

    Objects are drawn uniformly from ``shapes`` (with replacement), rotated uniformly at
    random, centred at a random position in the image and a random depth within
    ``depth_spread_nm`` of the focal plane. Unless ``allow_overlap``, an object whose
    projection would overlap another is re-placed (up to ``max_attempts``) or left out.
    """
    rng = np.random.default_rng(rng)
    cfg = config or SceneConfig()
    if len(shapes) == 0:
        raise ValueError("render_scene needs at least one shape; got an empty list")
    optics = microscope.optics
    a, n_px = optics.pixel_size_nm, cfg.size_px
    n_obj = int(rng.integers(cfg.objects[0], cfg.objects[1] + 1))
    picks = [shapes[int(i)] for i in rng.integers(0, len(shapes), n_obj)]
    radius = max(mesh_radius_nm(s.mesh) for s in picks)
    focal = cfg.focal_depth_nm or auto_focal_depth_nm(radius, cfg.depth_spread_nm)
    occupied = np.zeros((n_px, n_px), bool)
    instances = np.zeros((n_px, n_px), np.uint16)
    all_xyz, objects = [], []
    for shape in picks:
        check_mesh(shape.mesh, name=f"mesh of shape {shape.id}")
        for _ in range(cfg.max_attempts):
            m = random_rotation(rng)
            pos = (rng.uniform(0, n_px * a), rng.uniform(0, n_px * a))
            depth = focal + rng.uniform(-cfg.depth_spread_nm, cfg.depth_spread_nm)
            offset = (pos[0], pos[1], depth)
            moved = trimesh.Trimesh(
                place(shape.mesh.vertices, m, shape.mesh.centroid, offset_nm=offset),
                shape.mesh.faces,
                process=False,
            )
            in_focus, proj, _ = truth_masks(
                moved, size_px=n_px, pixel_size_nm=a, focal_depths_nm=(focal,), dof_nm=optics.dof_nm
            )
            if cfg.allow_overlap or not np.any(proj & occupied):
                break
        else:
            continue  # no free place found: leave this object out
        occupied |= proj
        target = in_focus[0] if cfg.mask == "in_focus" else proj
        label = len(objects) + 1
        instances[target] = label
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
    xyz = np.vstack(all_xyz) if all_xyz else np.empty((0, 3))
    weights = np.full(len(xyz), microscope.labelling.photons_per_fluorophore)
    expected = render_emitters(xyz, weights, optics, size_px=n_px, focal_depths_nm=(focal,))[0]
    image = apply_camera(expected, microscope.camera, rng=rng)
    return Scene(
        image=image,
        expected=expected.astype(np.float32),
        mask=(instances > 0).astype(np.uint8),
        instances=instances,
        objects=objects,
    )
