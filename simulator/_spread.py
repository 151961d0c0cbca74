"""Gaussian spreading of weighted points onto a grid (numba): the fast renderer's inner loop."""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["spread_gaussian"]


@numba.njit(cache=False)
def _spread(buf, u, v, w, half, var):  # pragma: no cover - numba
    n_sp = 2 * half + 1
    norm = 1.0 / (2.0 * math.pi * var)
    wx = np.empty(n_sp)
    wy = np.empty(n_sp)
    for e in range(u.shape[0]):
        bx = int(math.floor(u[e] + 0.5)) - half
        by = int(math.floor(v[e] + 0.5)) - half
        for k in range(n_sp):
            dx = bx + k - u[e]
            dy = by + k - v[e]
            wx[k] = math.exp(-dx * dx / (2.0 * var))
            wy[k] = math.exp(-dy * dy / (2.0 * var))
        we = w[e] * norm
        for a in range(n_sp):
            row = buf[by + a]
            wa = we * wy[a]
            for b in range(n_sp):
                row[bx + b] += wa * wx[b]


def spread_gaussian(
    shape: tuple[int, int], u: np.ndarray, v: np.ndarray, w: np.ndarray, *, half: int, var: float
) -> np.ndarray:
    """Sum of ``w`` times a normalised 2D Gaussian (variance ``var``, grid units^2) at ``(v, u)``.

    Each point touches the ``2 half + 1`` nodes per axis centred on its nearest node; the caller
    keeps every point at least ``half`` nodes from the grid's edges. Points are added in order,
    so the result is the same bytes every run.

    Returns
    -------
    grid : (ny, nx) ndarray of float32
        Single precision, as the FFT that follows (each node sums a few points).
    """
    buf = np.zeros(shape, np.float32)
    if len(w):
        _spread(
            buf,
            np.ascontiguousarray(u, np.float64),
            np.ascontiguousarray(v, np.float64),
            np.ascontiguousarray(w, np.float64),
            int(half),
            float(var),
        )
    return buf
