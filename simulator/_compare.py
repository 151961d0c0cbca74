"""Comparing simulated data with real references: images (a released 3DMSL view) and beads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shapelib import InputError

from ._config import Optics
from ._psf import fwhm_1d_nm
from ._psf_stack import compute_psf

__all__ = ["central_ncc", "BeadComparison", "compare_bead_psf"]


def central_ncc(a: np.ndarray, b: np.ndarray, *, crop_px: int = 48) -> float:
    """Normalised cross-correlation of two images over their central ``crop_px`` square.

    Parameters
    ----------
    a, b : (Y, X) ndarray
        Images of the same shape.
    crop_px : int
        Side of the central square compared (48 px: the figure REFERENCES.md quotes).

    Returns
    -------
    ncc : float in [-1, 1]
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 2 or min(a.shape) < crop_px:
        raise InputError(
            f"need two 2D images of one shape, at least {crop_px} px a side; got {a.shape} "
            f"and {b.shape}."
        )
    y0, x0 = (a.shape[0] - crop_px) // 2, (a.shape[1] - crop_px) // 2
    s = np.s_[y0 : y0 + crop_px, x0 : x0 + crop_px]
    x, y = a[s] - a[s].mean(), b[s] - b[s].mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))


@dataclass(frozen=True)
class BeadComparison:
    """FWHM of a measured bead and of the model PSF of the same optics, through their peaks.

    Attributes
    ----------
    lateral_bead_nm, lateral_model_nm : float
        Lateral FWHM (nm), the mean of the x and y profiles through the peak.
    axial_bead_nm, axial_model_nm : float
        Axial FWHM (nm) along z through the peak.
    """

    lateral_bead_nm: float
    lateral_model_nm: float
    axial_bead_nm: float
    axial_model_nm: float

    @property
    def lateral_ratio(self) -> float:
        """Model / bead lateral FWHM."""
        return self.lateral_model_nm / self.lateral_bead_nm

    @property
    def axial_ratio(self) -> float:
        """Model / bead axial FWHM."""
        return self.axial_model_nm / self.axial_bead_nm


def _fwhm_through_peak(v: np.ndarray, px_nm: float, dz_nm: float, half_px: int):
    z, y, x = np.unravel_index(np.argmax(v), v.shape)
    if min(y, x, v.shape[1] - 1 - y, v.shape[2] - 1 - x) < half_px:
        raise InputError(
            f"the peak at (z, y, x) = ({z}, {y}, {x}) lies within {half_px} px of the border "
            f"of a {v.shape} stack; centre the bead or crop a larger stack."
        )
    h = half_px
    lateral = 0.5 * (
        fwhm_1d_nm(v[z, y, x - h : x + h + 1], px_nm)
        + fwhm_1d_nm(v[z, y - h : y + h + 1, x], px_nm)
    )
    return lateral, fwhm_1d_nm(v[:, y, x], dz_nm)


def compare_bead_psf(
    bead: np.ndarray,
    optics: Optics,
    *,
    z_step_nm: float,
    size_px: int = 65,
    half_window_px: int = 12,
) -> BeadComparison:
    """Compare a measured bead stack with the model PSF of ``optics`` (same sampling).

    The bead's median is subtracted as its background; the model PSF (emitter on the
    coverslip, ``size_px`` square, as many planes as the bead) is sampled at
    ``optics.pixel_size_nm`` and ``z_step_nm``. Widths are measured through each stack's
    brightest voxel, laterally over ``+- half_window_px``.

    Parameters
    ----------
    bead : (Z, Y, X) ndarray
        A measured point-source stack (raw counts).
    optics : Optics
        The optics it was taken with; its pixel size must be the bead's.
    z_step_nm : float
        The bead stack's plane spacing, nm.

    Returns
    -------
    BeadComparison
    """
    b = np.asarray(bead, float)
    if b.ndim != 3 or b.shape[0] < 3:
        raise InputError(f"a bead must be a (Z, Y, X) stack of >= 3 planes; got shape {b.shape}.")
    b = b - np.median(b)
    model = compute_psf(optics, size_px=size_px, z_planes=b.shape[0], z_step_nm=z_step_nm)
    px = optics.pixel_size_nm
    lat_b, ax_b = _fwhm_through_peak(b, px, z_step_nm, half_window_px)
    lat_m, ax_m = _fwhm_through_peak(model, px, z_step_nm, half_window_px)
    return BeadComparison(lat_b, lat_m, ax_b, ax_m)
