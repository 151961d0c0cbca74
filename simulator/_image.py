"""One shape, one microscope -> images (2D or z-stack) with their ground truth."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import trimesh

from shapelib import InputError

from ._camera import apply_camera
from ._config import Acquisition, Microscope
from ._geometry import (
    VIEWS_3DMSL,
    auto_focal_depth_nm,
    check_mesh,
    focal_depths,
    mesh_radius_nm,
    place,
    random_rotation,
    sample_fluorophores,
    view_rotation,
)
from ._render import render_emitters
from ._seeds import stream
from ._truth import Placement, truth_masks, visible_from_in_focus

__all__ = ["RenderedView", "render_view", "simulate_shape", "simulate_instance", "view_names"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedView:
    """One simulated view and its truth, all on one pixel grid.

    Attributes
    ----------
    image : (H, W) or (Z, H, W) ndarray of uint16
        The noisy camera image (z-stack when the acquisition has several planes).
    expected : same shape, ndarray of float32
        Noise-free expected photons per pixel (before quantum efficiency).
    mask : same shape, ndarray of uint8 {0, 1}
        The segmentation target chosen by ``Acquisition.mask`` (in-focus, projection, visible).
    in_focus : (H, W) or (Z, H, W) ndarray of uint8
        Object within half the depth of field of the focal plane.
    projection : (H, W) ndarray of uint8
        Object anywhere along the optical axis.
    label : (Z, H, W) ndarray of uint8
        Pixel centre inside the object at each focal plane's depth (3D label volume).
    n_emitters : int
    rotation : (3, 3) ndarray
        Rotation R applied to the shape; rows of points rotate as ``points @ R.T``.
    """

    image: np.ndarray
    expected: np.ndarray
    mask: np.ndarray
    in_focus: np.ndarray
    projection: np.ndarray
    label: np.ndarray
    n_emitters: int
    rotation: np.ndarray


def _check_sampling(microscope: Microscope) -> None:
    o = microscope.optics
    nyquist = o.nominal_fwhm_nm / 2.3
    if o.pixel_size_nm > 2 * nyquist:
        warnings.warn(
            f"{microscope.name}: pixel size {o.pixel_size_nm:g} nm undersamples the PSF (FWHM "
            f"{o.nominal_fwhm_nm:.0f} nm) by {o.pixel_size_nm / nyquist:.1f}x Nyquist; images "
            "stay correct but fine detail aliases. Use pixels <= "
            f"{2 * nyquist:.0f} nm to silence this.",
            stacklevel=3,
        )


def _as_rotation(rotation, rng) -> np.ndarray:
    if isinstance(rotation, str):
        if rotation == "random":
            return random_rotation(rng)
        return view_rotation(rotation)
    m = np.asarray(rotation, float)
    if m.shape != (3, 3):
        raise InputError(
            f"rotation must be a view name, 'random' or a (3, 3) matrix; got shape {m.shape}."
        )
    return m


def render_view(
    mesh: trimesh.Trimesh,
    microscope: Microscope,
    *,
    rotation: str | np.ndarray = "0",
    acquisition: Acquisition | None = None,
    emitters: np.ndarray | None = None,
    rng: int | np.random.Generator | None = None,
) -> RenderedView:
    """Image one closed mesh: fluorophores -> rotation -> PSF + pixel integration -> camera.

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Closed mesh, vertices (x, y, z) in nm.
    microscope : Microscope
    rotation : str or (3, 3) ndarray
        A 3DMSL view name ('0', 'x90', ...; cumulative as released), 'random', or a rotation
        matrix R (rows of points rotate as ``points @ R.T``, shapelib's convention).
    acquisition : Acquisition, optional
        Image size, focal depth (the mesh centroid is placed there, at the image centre),
        z-planes and mask kind.
    emitters : (N, 3) ndarray, optional
        Fluorophores (x, y, z) nm in the mesh's frame; sampled from ``microscope.labelling``
        when omitted.
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    RenderedView

    Examples
    --------
    >>> import trimesh
    >>> from simulator import EPI1, render_view
    >>> view = render_view(trimesh.creation.capsule(height=1500, radius=250), EPI1, rng=0)
    >>> view.image.shape, view.image.dtype.name
    ((128, 128), 'uint16')
    """
    rng = np.random.default_rng(rng)
    acq = acquisition or Acquisition()
    check_mesh(mesh)
    _check_sampling(microscope)
    m = _as_rotation(rotation, rng)
    if emitters is None:
        emitters = sample_fluorophores(mesh, microscope.labelling, rng=rng)
    optics = microscope.optics
    half = acq.size_px * optics.pixel_size_nm / 2
    focal = acq.focal_depth_nm
    if focal is None:
        focal = auto_focal_depth_nm(mesh_radius_nm(mesh))
    offset = (half, half, focal)
    centre = np.asarray(mesh.centroid)
    xyz = place(emitters, m, centre, offset_nm=offset)
    depths = focal_depths(acq, focal)
    weights = np.full(len(xyz), microscope.labelling.photons_per_fluorophore)
    expected = render_emitters(xyz, weights, optics, size_px=acq.size_px, focal_depths_nm=depths)
    moved = Placement(mesh, m, centre, offset)
    in_focus, projection, label = truth_masks(
        moved,
        size_px=acq.size_px,
        pixel_size_nm=optics.pixel_size_nm,
        focal_depths_nm=depths,
        dof_nm=optics.dof_nm,
    )
    image = apply_camera(expected, microscope.camera, rng=rng)
    squeeze = acq.z_planes == 1
    in_focus_u8 = in_focus.astype(np.uint8)
    proj_u8 = projection.astype(np.uint8)
    if acq.mask == "in_focus":
        mask = in_focus_u8
    elif acq.mask == "visible":
        mask = visible_from_in_focus(
            in_focus, pixel_size_nm=optics.pixel_size_nm, fwhm_nm=optics.nominal_fwhm_nm
        ).astype(np.uint8)
    else:
        mask = np.broadcast_to(proj_u8, in_focus_u8.shape).copy()
    return RenderedView(
        image=image[0] if squeeze else image,
        expected=(expected[0] if squeeze else expected).astype(np.float32),
        mask=mask[0] if squeeze else mask,
        in_focus=in_focus_u8[0] if squeeze else in_focus_u8,
        projection=proj_u8,
        label=label.astype(np.uint8),
        n_emitters=int(len(xyz)),
        rotation=m,
    )


def _is_random_view(name: str) -> bool:
    return re.fullmatch(r"r\d+", name) is not None


def view_names(views: Sequence[str] | int) -> list[str]:
    """The names of the views asked for: the given names, or ``r000``, ``r001``, ... for N."""
    if isinstance(views, int):
        if views < 1:
            raise InputError(f"the number of random views must be >= 1; got {views}.")
        return [f"r{i:03d}" for i in range(views)]
    names = [str(v).strip().lower() for v in views]
    if not names:
        raise InputError("no view asked for; give view names (0, x90, ...) or a number N >= 1.")
    for v in names:
        if not _is_random_view(v):
            view_rotation(v)  # unknown names fail here, before anything is rendered
    return names


def simulate_shape(
    mesh: trimesh.Trimesh,
    microscope: Microscope,
    *,
    views: Sequence[str] | int = VIEWS_3DMSL,
    acquisition: Acquisition | None = None,
    rng: int | np.random.Generator | None = None,
) -> dict[str, RenderedView]:
    """Several views of one shape's mesh with one set of fluorophores (as 3DMSL released them).

    The fluorophores are drawn from ``rng``; then each view draws from its own stream,
    ``SeedSequence([k, name_key(view)])`` with ``k`` the next 63-bit integer of ``rng``: its
    rotation (random views) and its camera noise. So a view's image is the same whichever other
    views are asked for (``["0", "x90"]`` and the six views give the same ``x90``; 2 and 5
    random views share ``r000`` and ``r001``).

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Closed mesh, vertices in nm.
    microscope : Microscope
    views : sequence of str or int
        View names (default the six 3DMSL views, cumulative as released), or a number of
        uniformly random orientations (named ``r000``, ``r001``, ...; a name ``rNNN`` in the
        sequence is such a random view too).
    acquisition : Acquisition, optional
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    dict mapping view name -> RenderedView

    Examples
    --------
    >>> import trimesh
    >>> from simulator import EPI1, Acquisition, simulate_shape
    >>> mesh = trimesh.creation.capsule(height=1500, radius=250)
    >>> out = simulate_shape(mesh, EPI1, views=["0", "x90"], acquisition=Acquisition(size_px=32))
    >>> sorted(out), out["x90"].image.shape
    (['0', 'x90'], (32, 32))
    """
    rng = np.random.default_rng(rng)
    check_mesh(mesh)
    names = view_names(views)
    emitters = sample_fluorophores(mesh, microscope.labelling, rng=rng)
    key = int(rng.integers(2**63))  # the views' streams hang off this one draw
    out = {}
    for name in names:
        view_rng = stream(key, name)
        rot = random_rotation(view_rng) if _is_random_view(name) else view_rotation(name)
        out[name] = render_view(
            mesh, microscope, rotation=rot, acquisition=acquisition, emitters=emitters,
            rng=view_rng,
        )  # fmt: skip
    return out


simulate_instance = simulate_shape  # the former name (it takes a mesh, not an Instance)
