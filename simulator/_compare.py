"""Comparing a simulated image with a reference one (for example a released 3DMSL view)."""

from __future__ import annotations

import numpy as np

__all__ = ["central_ncc"]


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
        raise ValueError(
            f"need two 2D images of one shape, at least {crop_px} px a side; got {a.shape} "
            f"and {b.shape}."
        )
    y0, x0 = (a.shape[0] - crop_px) // 2, (a.shape[1] - crop_px) // 2
    s = np.s_[y0 : y0 + crop_px, x0 : x0 + crop_px]
    x, y = a[s] - a[s].mean(), b[s] - b[s].mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))
