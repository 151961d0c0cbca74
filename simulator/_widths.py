"""Full widths at half maximum of sampled profiles (PSF and bead widths)."""

from __future__ import annotations

import numpy as np

__all__ = ["lateral_fwhm_nm", "fwhm_1d_nm"]


def lateral_fwhm_nm(r_nm: np.ndarray, profile: np.ndarray) -> float:
    """Full width at half maximum (nm) of a radial profile peaking at r = 0."""
    p = np.asarray(profile, float) / profile[0]
    i = int(np.argmax(p < 0.5))
    if i == 0:
        return float("nan")
    r0, r1, p0, p1 = r_nm[i - 1], r_nm[i], p[i - 1], p[i]
    return float(2 * (r0 + (0.5 - p0) * (r1 - r0) / (p1 - p0)))


def fwhm_1d_nm(profile: np.ndarray, step_nm: float) -> float:
    """FWHM (nm) of a 1D peak by linear interpolation of the half-maximum crossings."""
    p = np.asarray(profile, float)
    p = (p - p.min()) / (p.max() - p.min())
    i = int(np.argmax(p))
    left = i - int(np.argmax(p[i::-1] < 0.5))
    right = i + int(np.argmax(p[i:] < 0.5))
    xl = left + (0.5 - p[left]) / (p[left + 1] - p[left])
    xr = right - 1 + (p[right - 1] - 0.5) / (p[right - 1] - p[right])
    return float((xr - xl) * step_nm)
