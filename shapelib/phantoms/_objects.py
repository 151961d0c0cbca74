"""Single phantoms with closed-form truth: ellipsoid, capsule (straight or bent), torus,
branched tube, mega, nano-tunnel. Public through :mod:`shapelib.phantoms`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._errors import InputError
from .._units import as_spacing_nm
from ._geometry import (
    _arc_axis,
    _capsule_truth,
    _dense_spacing,
    _helix_axis,
    _junction_truth,
    _rasterize,
    _segment_distance,
    _tube_distance,
)

__all__ = ["Phantom", "ellipsoid", "capsule", "torus", "branched_tube", "mega", "nano_tunnel"]


@dataclass(frozen=True)
class Phantom:
    """One procedural object and its closed-form truth.

    Attributes
    ----------
    mask : (Z, Y, X) ndarray of bool
        The object, with a margin of background voxels on every side.
    voxel_size_nm : tuple of 3 float
        ``(z, y, x)`` voxel size in nm.
    kind : str
        ``"dot"``, ``"rod"``, ``"curved_rod"``, ``"donut"``, ``"network"``, ``"mega"``,
        ``"nano_tunnel"``.
    expected_class : str
        The class the rules should give: dot, rod, donut, network, mega, nano-tunnel.
    volume_nm3, surface_area_nm2 : float
        Volume and surface area of the continuous shape (closed form except for the
        network, whose junction overlap is integrated numerically; see its docstring).
    genus : int
        Number of handles (torus 1, others 0).
    skeleton_length_nm : float or None
        Length of the medial axis (between the centres of the end caps) in nm; None for the
        ellipsoid, whose medial "axis" is a surface.
    """

    mask: np.ndarray
    voxel_size_nm: tuple[float, float, float]
    kind: str
    expected_class: str
    volume_nm3: float
    surface_area_nm2: float
    genus: int
    skeleton_length_nm: float | None


def _check_positive(**values: float) -> None:
    for name, v in values.items():
        if not (math.isfinite(v) and v > 0):
            raise InputError(f"{name} must be a finite number > 0 nm; got {v!r}.")


def ellipsoid(
    semi_axes_nm: float | tuple[float, float, float] = (250.0, 180.0, 150.0),
    *,
    voxel_size_nm: float | tuple[float, float, float] = 20.0,
    rotation: np.ndarray | None = None,
) -> Phantom:
    """A solid ellipsoid ("dot").

    Parameters
    ----------
    semi_axes_nm : float or (a, b, c)
        Semi-axes along local x, y, z in nm (one value: a ball).
    voxel_size_nm : float or (z, y, x)
    rotation : (3, 3) ndarray, optional

    Notes
    -----
    The surface area uses Thomsen's formula (p = 1.6075, error <= 1.1%; exact for a ball).
    """
    spacing = as_spacing_nm(voxel_size_nm)
    a, b, c = np.broadcast_to(np.asarray(semi_axes_nm, dtype=float), (3,))
    _check_positive(a=a, b=b, c=c)
    semi = np.array([a, b, c])

    def distance(p, tol):
        # lower bound: the surface of k * ellipsoid through p is >= (k - 1) min(semi) away
        return (np.sqrt(np.sum((p / semi) ** 2, axis=1)) - 1.0) * semi.min()

    mask = _rasterize(distance, semi, spacing, rotation)
    pw = 1.6075
    area = 4 * math.pi * (((a * b) ** pw + (a * c) ** pw + (b * c) ** pw) / 3) ** (1 / pw)
    if a == b == c:
        area = 4 * math.pi * a * a
    return Phantom(mask, spacing, "dot", "dot", 4 / 3 * math.pi * a * b * c, area, 0, None)


def capsule(
    length_nm: float,
    radius_nm: float,
    *,
    voxel_size_nm: float | tuple[float, float, float] = 20.0,
    bend_deg: float = 0.0,
    rotation: np.ndarray | None = None,
    kind: str | None = None,
    expected_class: str | None = None,
) -> Phantom:
    """A round tube with hemispherical ends around a straight or circular-arc axis ("rod").

    Parameters
    ----------
    length_nm : float
        Axis length between the centres of the two end caps, in nm.
    radius_nm : float
        Tube radius in nm.
    voxel_size_nm : float or (z, y, x)
    bend_deg : float
        Total turning angle of the axis (0 straight; the arc's radius is ``length / angle``,
        which must exceed ``radius_nm``; below 300 degrees so the ends do not meet).
    rotation : (3, 3) ndarray, optional

    Notes
    -----
    Volume and area are those of :func:`_capsule_truth` (``pi r^2 L + 4/3 pi r^3``,
    ``2 pi r L + 4 pi r^2``); they hold for the bent tube too (Pappus), as long as the arc
    radius exceeds the tube radius.
    """
    spacing = as_spacing_nm(voxel_size_nm)
    _check_positive(length_nm=length_nm, radius_nm=radius_nm)
    if not 0 <= bend_deg < 300:
        raise InputError(f"bend_deg must be in [0, 300) degrees; got {bend_deg}.")
    if bend_deg > 0 and length_nm / math.radians(bend_deg) <= radius_nm:
        raise InputError(
            f"bend_deg={bend_deg} bends a {length_nm} nm axis tighter than its radius "
            f"{radius_nm} nm; use a smaller angle or a longer capsule."
        )
    r = float(radius_nm)
    if bend_deg == 0:
        a, b = np.array([-length_nm / 2, 0, 0]), np.array([length_nm / 2, 0, 0])

        def distance(p, tol):
            return _segment_distance(p, a, b) - r

        half = np.array([length_nm / 2 + r, r, r])
    else:
        axis = _arc_axis(length_nm, bend_deg, _dense_spacing(spacing))
        distance = _tube_distance(axis, r)
        half = np.abs(axis).max(axis=0) + r
    mask = _rasterize(distance, half, spacing, rotation)
    kind = kind or ("rod" if bend_deg == 0 else "curved_rod")
    volume, area = _capsule_truth(length_nm, r)
    return Phantom(mask, spacing, kind, expected_class or "rod", volume, area, 0, float(length_nm))


def torus(
    major_radius_nm: float = 600.0,
    minor_radius_nm: float = 150.0,
    *,
    voxel_size_nm: float | tuple[float, float, float] = 20.0,
    rotation: np.ndarray | None = None,
) -> Phantom:
    """A ring torus ("donut"): volume ``2 pi^2 R r^2``, area ``4 pi^2 R r``, genus 1, axis
    length ``2 pi R``. ``major_radius_nm`` must exceed ``minor_radius_nm``."""
    spacing = as_spacing_nm(voxel_size_nm)
    R, r = float(major_radius_nm), float(minor_radius_nm)
    _check_positive(major_radius_nm=R, minor_radius_nm=r)
    if R <= r:
        raise InputError(f"major_radius_nm ({R}) must exceed minor_radius_nm ({r}) for a ring.")

    def distance(p, tol):
        return np.hypot(np.hypot(p[:, 0], p[:, 1]) - R, p[:, 2]) - r

    mask = _rasterize(distance, np.array([R + r, R + r, r]), spacing, rotation)
    return Phantom(
        mask, spacing, "donut", "donut", 2 * math.pi**2 * R * r * r, 4 * math.pi**2 * R * r, 1,
        2 * math.pi * R,
    )  # fmt: skip


def branched_tube(
    arm_lengths_nm: tuple[float, ...] = (1500.0, 1200.0, 1000.0),
    radius_nm: float = 120.0,
    *,
    voxel_size_nm: float | tuple[float, float, float] = 20.0,
    rotation: np.ndarray | None = None,
) -> Phantom:
    """Tubes of one radius joined at a common centre, arms spread evenly in a plane ("network").

    Parameters
    ----------
    arm_lengths_nm : tuple of float
        Axis length of each arm from the junction to its cap centre (3 or more arms).
    radius_nm : float

    Notes
    -----
    Skeleton length is the sum of the arm lengths. The volume and area of the union near the
    junction are not closed-form: the arms away from the junction are exact (``pi r^2 l``,
    ``2 pi r l``), and the union within 4 radii of the junction is integrated numerically on a
    grid of ``radius / 10`` (error < 0.5%).
    """
    spacing = as_spacing_nm(voxel_size_nm)
    arms = np.asarray(arm_lengths_nm, dtype=float)
    if arms.size < 3 or not np.all(np.isfinite(arms) & (arms > 0)):
        raise InputError(f"arm_lengths_nm needs 3 or more lengths > 0 nm; got {arm_lengths_nm}.")
    r = float(radius_nm)
    _check_positive(radius_nm=r)
    angles = 2 * math.pi * np.arange(arms.size) / arms.size
    ends = np.stack([arms * np.cos(angles), arms * np.sin(angles), np.zeros_like(arms)], axis=1)
    centre = np.zeros(3)

    def distance(p, tol):
        return np.min([_segment_distance(p, centre, e) for e in ends], axis=0) - r

    half = np.abs(ends).max(axis=0) + r
    mask = _rasterize(distance, half, spacing, rotation)
    volume, area = _junction_truth(ends, r)
    return Phantom(mask, spacing, "network", "network", volume, area, 0, float(arms.sum()))


def nano_tunnel(
    length_nm: float = 32_000.0,
    radius_nm: float = 75.0,
    *,
    coil_radius_nm: float = 1200.0,
    pitch_nm: float = 450.0,
    voxel_size_nm: float | tuple[float, float, float] = 30.0,
    rotation: np.ndarray | None = None,
) -> Phantom:
    """A long thin tube wound as a helix so it fits in a small box ("nano-tunnel").

    Volume and area (:func:`_capsule_truth`) are exact (Pappus) while
    the helix's curvature radius exceeds ``radius_nm`` and turns do not touch
    (``pitch_nm > 2 radius_nm``). The default is 32 um long (class threshold 30 um).
    """
    spacing = as_spacing_nm(voxel_size_nm)
    _check_positive(length_nm=length_nm, radius_nm=radius_nm, coil_radius_nm=coil_radius_nm)
    r = float(radius_nm)
    if pitch_nm <= 2 * r + 2 * max(spacing):
        raise InputError(
            f"pitch_nm ({pitch_nm}) must exceed 2 * radius_nm + 2 voxels "
            f"({2 * r + 2 * max(spacing)} nm) so the turns do not touch."
        )
    axis = _helix_axis(length_nm, coil_radius_nm, pitch_nm, _dense_spacing(spacing))
    mask = _rasterize(_tube_distance(axis, r), np.abs(axis).max(axis=0) + r, spacing, rotation)
    volume, area = _capsule_truth(length_nm, r)
    return Phantom(mask, spacing, "nano_tunnel", "nano-tunnel", volume, area, 0, float(length_nm))


def mega(
    length_nm: float = 12_000.0,
    radius_nm: float = 300.0,
    *,
    bend_deg: float = 180.0,
    voxel_size_nm: float | tuple[float, float, float] = 30.0,
    rotation: np.ndarray | None = None,
) -> Phantom:
    """A large thick body ("mega"): a capsule bent into a U, by default 12 um long and
    300 nm in radius (3.5 um^3), so skeleton > 10 um and volume > 1 um^3."""
    return capsule(
        length_nm,
        radius_nm,
        voxel_size_nm=voxel_size_nm,
        bend_deg=bend_deg,
        rotation=rotation,
        kind="mega",
        expected_class="mega",
    )
