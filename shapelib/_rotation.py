"""Rotations of (x, y, z) point sets: the one random rotation of the project and its convention.

Convention: a rotation is a 3x3 matrix ``R`` acting on column vectors, so points stored as rows
``(N, 3)`` rotate as ``points @ R.T`` (see :func:`rotate_points`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["random_rotation", "rotate_points"]


def random_rotation(rng: int | np.random.Generator | None = None) -> np.ndarray:
    """A rotation drawn uniformly from SO(3) (Haar measure), as a 3x3 matrix.

    Parameters
    ----------
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    R : (3, 3) ndarray of float64, orthonormal with det +1; rotate rows with ``points @ R.T``.

    Examples
    --------
    >>> R = random_rotation(0)
    >>> bool(np.allclose(R @ R.T, np.eye(3)))
    True
    """
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(rng)
    return Rotation.random(random_state=rng).as_matrix()


def rotate_points(
    points: np.ndarray, rotation: np.ndarray, *, center: npt.ArrayLike | None = None
) -> np.ndarray:
    """Rotate ``(N, 3)`` points by ``rotation`` (column-vector convention) about ``center``."""
    points = np.asarray(points, dtype=float)
    rotation = np.asarray(rotation, dtype=float)
    if center is None:
        return points @ rotation.T
    c = np.asarray(center, dtype=float)
    return (points - c) @ rotation.T + c
