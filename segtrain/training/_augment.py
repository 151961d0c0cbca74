"""Patch augmentation: the geometry (flips, 90-degree turns, a warp of any-angle rotation, scale
and elastic deformation) applied to image and mask together, then the intensity and EM-section
changes of `_intensity` on the image alone. Numpy and scipy, seeded by the caller's generator.

Coordinates: a patch of side P is centred on a point ``c = (cy, cx)`` of the source image; output
pixel ``i`` (offset ``u = i - (P - 1) / 2`` from the patch centre) is read at
``c + M u + d(u)``, where ``M = rotation(theta) / zoom`` and ``d`` is the elastic displacement
field (a cubic-spline interpolation of Gaussian displacements on a coarse control grid). Image
channels are read by linear interpolation; the mask likewise, then thresholded at 0.5, so mask
and image stay aligned to a fraction of a pixel. Outside the source both reflect.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from shapelib import InputError

from ._augment_config import AugmentConfig
from ._intensity import augment_intensity, augment_sections

__all__ = [
    "Geometry",
    "augment_patch",
    "random_geometry",
    "sample_patch",
]


@dataclass(frozen=True, eq=False)
class Geometry:
    """One patch's random geometry.

    Attributes
    ----------
    flip_y, flip_x : bool, flips applied after sampling
    k90 : int, quarter turns applied after sampling (``np.rot90(patch, k90)``)
    matrix : (2, 2) ndarray or None, output offset (y, x) -> source offset; None: no warp
    displacement : (2, P, P) ndarray of float or None, the elastic field (y, x) in pixels
    """

    flip_y: bool = False
    flip_x: bool = False
    k90: int = 0
    matrix: np.ndarray | None = None
    displacement: np.ndarray | None = None

    @property
    def warped(self) -> bool:
        return self.matrix is not None or self.displacement is not None


@functools.lru_cache(maxsize=16)
def _spline_matrix(out_px: int, spacing_px: int) -> np.ndarray:
    """(P, n) matrix of cubic-spline interpolation from n control points, `spacing_px` apart,
    to P pixels (column j: the interpolant of the j-th unit vector)."""
    n = int(np.ceil((out_px - 1) / spacing_px)) + 1
    pos = np.arange(out_px) / spacing_px
    eye = np.eye(n)
    return np.stack(
        [ndi.map_coordinates(eye[j], [pos], order=3, mode="nearest") for j in range(n)], axis=1
    )


def _elastic_field(rng: np.random.Generator, out_px: int, std_px: float, spacing_px: int):
    """(2, P, P) smooth displacement: Gaussian values on a control grid, cubic-spline between
    (separable: ``A @ grid @ A.T``, the same as 2D spline interpolation of the grid; einsum
    rather than BLAS, whose threads cost more than these small products)."""
    a = _spline_matrix(out_px, spacing_px)
    grid = rng.normal(0.0, std_px, size=(2, a.shape[1], a.shape[1]))
    rows = np.einsum("ij,cjk->cik", a, grid)
    return np.einsum("cik,lk->cil", rows, a)


def random_geometry(rng: np.random.Generator, config: AugmentConfig, out_px: int) -> Geometry:
    """Draw one patch's geometry from `config` (flips, quarter turns, and the warp with
    probability ``config.warp_p``)."""
    flip_y = bool(config.flips and rng.random() < 0.5)
    flip_x = bool(config.flips and rng.random() < 0.5)
    k90 = int(rng.integers(4)) if config.rot90 else 0
    matrix = displacement = None
    if config.warp_p > 0 and rng.random() < config.warp_p:
        theta = np.deg2rad(rng.uniform(-config.rotate_deg, config.rotate_deg))
        s = config.scale
        zoom = float(np.exp(rng.uniform(np.log(1 - s), np.log(1 + s)))) if s > 0 else 1.0
        c, sn = np.cos(theta), np.sin(theta)
        if theta != 0 or zoom != 1:
            matrix = np.array([[c, -sn], [sn, c]]) / zoom
        if config.elastic_px > 0:
            displacement = _elastic_field(rng, out_px, config.elastic_px, config.elastic_spacing_px)
    return Geometry(flip_y, flip_x, k90, matrix, displacement)


def sample_patch(
    image: np.ndarray,
    mask: np.ndarray,
    center_yx: tuple[float, float],
    out_px: int,
    geometry: Geometry | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut a (C, P, P) patch and its (P, P) mask centred on `center_yx`, with `geometry`.

    Without a warp the patch is a plain slice (then flipped and turned: exact pixels); it must
    lie inside the image. With a warp it may reach outside (reflected).

    Parameters
    ----------
    image : (C, Y, X) ndarray of float32
    mask : (Y, X) ndarray of uint8 {0, 1}
    center_yx : the patch centre in source pixels (``y0 + (P - 1) / 2`` for a patch at y0)
    out_px : int, the patch side P

    Returns
    -------
    image : (C, P, P) float32; mask : (P, P) uint8
    """
    g = geometry or Geometry()
    if not g.warped:
        y0 = int(round(center_yx[0] - (out_px - 1) / 2))
        x0 = int(round(center_yx[1] - (out_px - 1) / 2))
        im = image[:, y0 : y0 + out_px, x0 : x0 + out_px]
        m = mask[y0 : y0 + out_px, x0 : x0 + out_px]
    else:
        u = np.arange(out_px) - (out_px - 1) / 2
        uy, ux = np.meshgrid(u, u, indexing="ij")
        mat = g.matrix if g.matrix is not None else np.eye(2)
        sy = center_yx[0] + mat[0, 0] * uy + mat[0, 1] * ux
        sx = center_yx[1] + mat[1, 0] * uy + mat[1, 1] * ux
        if g.displacement is not None:
            sy = sy + g.displacement[0]
            sx = sx + g.displacement[1]
        coords = np.stack([sy, sx])
        im = np.stack(
            [ndi.map_coordinates(ch, coords, order=1, mode="reflect") for ch in image]
        ).astype(np.float32)
        mf = ndi.map_coordinates(mask, coords, order=1, mode="reflect", output=np.float32)
        m = (mf >= 0.5).astype(np.uint8)
    # Flips and quarter turns: exact, on the sampled patch.
    if g.flip_y:
        im, m = im[:, ::-1], m[::-1]
    if g.flip_x:
        im, m = im[:, :, ::-1], m[:, ::-1]
    if g.k90:
        im, m = np.rot90(im, g.k90, axes=(1, 2)), np.rot90(m, g.k90)
    return np.ascontiguousarray(im, dtype=np.float32), np.ascontiguousarray(m, dtype=np.uint8)


def augment_patch(
    image: np.ndarray,
    mask: np.ndarray,
    rng: int | np.random.Generator | None = None,
    *,
    config: AugmentConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Augment one square patch and its mask with `config` (default `AugmentConfig()`).

    The geometry samples the patch itself (reflected beyond its border), then intensity and
    (for several channels) EM-section changes touch the image only.

    Parameters
    ----------
    image : (P, P) or (C, P, P) ndarray of float32, normalised to about [0, 1]; with C > 1 the
        centre channel is the slice and the others its neighbours (2.5D)
    mask : (P, P) ndarray of uint8 {0, 1}
    rng : seed or Generator

    Returns
    -------
    image, mask : augmented copies, the same shapes (float32, uint8)

    Examples
    --------
    >>> im = np.zeros((32, 32), np.float32); im[8:24, 8:24] = 1
    >>> a, m = augment_patch(im, (im > 0).astype(np.uint8), 0)
    >>> a.shape, m.shape
    ((32, 32), (32, 32))
    """
    rng = np.random.default_rng(rng)
    config = config or AugmentConfig()
    image = np.asarray(image, dtype=np.float32)
    flat = image.ndim == 2
    chans = image[None] if flat else image
    p = chans.shape[-1]
    if chans.shape[-2] != p or mask.shape != chans.shape[-2:]:
        raise InputError(
            f"augment_patch needs a square (P, P) or (C, P, P) patch and a (P, P) mask; got "
            f"{image.shape} and {mask.shape}."
        )
    geometry = random_geometry(rng, config, p)
    im, m = sample_patch(chans, np.asarray(mask), ((p - 1) / 2, (p - 1) / 2), p, geometry)
    im = augment_intensity(im, rng, config)
    im = augment_sections(im, rng, config)
    return (im[0] if flat else im), m
