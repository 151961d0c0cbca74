"""A sampled 3D PSF for users (``mitoshape psf``, the bead comparison): a point emitter at a
depth, the focal plane scanned through it, read from the cached tables of `simulator._psf`.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from ._config import Optics
from ._psf import TABLE_DEPTH_STEP_NM, best_focus_stage_nm, psf_on_grid, psf_table, r_max_nm

__all__ = ["compute_psf"]

logger = logging.getLogger(__name__)


def compute_psf(
    optics: Optics,
    *,
    size_px: int = 41,
    z_planes: int = 41,
    z_step_nm: float = 100.0,
    depth_nm: float = 0.0,
    pixel_size_nm: float | None = None,
) -> np.ndarray:
    """3D PSF of a point emitter at ``depth_nm``, the focal plane scanned through it.

    Parameters
    ----------
    optics : Optics
    size_px : int
        Lateral size (odd sizes put the emitter on the central pixel).
    z_planes, z_step_nm : int, float
        Number of focal planes and their step (nm, in the sample), centred on the emitter.
    depth_nm : float
        Emitter depth below the coverslip, nm (0 = on the coverslip: the nominal resolution).
    pixel_size_nm : float, optional
        Lateral sampling; default ``optics.pixel_size_nm``.

    Returns
    -------
    psf : (Z, Y, X) ndarray of float32
        Sampled at pixel centres, normalised to a maximum of 1.
    """
    px = _check_psf_request(optics, size_px, z_planes, z_step_nm, depth_nm, pixel_size_nm)
    c = (size_px - 1) / 2
    yy, xx = np.mgrid[0:size_px, 0:size_px]
    rr = np.hypot(yy - c, xx - c) * px
    offsets = (np.arange(z_planes) - (z_planes - 1) / 2) * z_step_nm
    out = np.zeros((z_planes, size_px, size_px))
    stage0 = best_focus_stage_nm(optics, float(depth_nm))
    scale = optics.immersion_index / optics.sample_index  # stage moves per nm of focus depth
    if rr.max() > r_max_nm(optics):
        logger.warning("PSF corners beyond the table radius %.0f nm are set to 0", r_max_nm(optics))
    for k, dz in enumerate(offsets):
        stage = stage0 - dz * scale
        tab = psf_table(optics, float(round(stage, 3)), float(depth_nm) + 1.0)
        row = int(round(depth_nm / TABLE_DEPTH_STEP_NM))
        out[k] = psf_on_grid(tab, row, (yy - c) * px, (xx - c) * px)
    out /= out.max()
    return out.astype(np.float32)


def _check_psf_request(optics, size_px, z_planes, z_step_nm, depth_nm, pixel_size_nm) -> float:
    """The pixel size to use; InputError for sizes that are not physical or would not fit in
    memory (checked before anything is allocated)."""
    from shapelib import InputError, check_array_size

    px = optics.pixel_size_nm if pixel_size_nm is None else pixel_size_nm

    def whole(v) -> bool:
        return isinstance(v, (int, np.integer)) and bool(v >= 1)

    checks = [
        ("size_px (--size)", size_px, whole(size_px), "an integer >= 1"),
        ("z_planes (--z-planes)", z_planes, whole(z_planes), "an integer >= 1"),
        ("z_step_nm (--z-step-nm)", z_step_nm, math.isfinite(z_step_nm) and 0 < z_step_nm <= 1e4,
         "in (0, 10000] nm"),
        ("depth_nm (--depth-nm)", depth_nm, math.isfinite(depth_nm) and 0 <= depth_nm <= 5e4,
         "in [0, 50000] nm below the coverslip"),
        ("pixel_size_nm (--pixel-size-nm)", px, math.isfinite(px) and 1 <= px <= 5000,
         "in [1, 5000] nm"),
    ]  # fmt: skip
    for name, value, ok, expected in checks:
        if not ok:
            raise InputError(f"{name} must be {expected}; got {value!r}.")
    check_array_size(
        (z_planes, size_px, size_px, 4), np.float64, what="the PSF",
        hint="Lower --size or --z-planes.",
    )  # fmt: skip
    return float(px)
