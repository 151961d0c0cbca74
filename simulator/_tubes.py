"""Tubules as the simulator needs them: fluorophores on their membrane and their exact truth.

A tubule is the swept sphere of its centreline (a sphere of the local radius moved along it:
a tube with round caps). Its truth on the pixel grid is the union of disks cut from those
spheres; with a centreline step well below the radius the scallops are a few nm deep.

- ``in_focus``: the tubule's cross-section within half the depth of field of the focal plane
  (for a sphere of radius r at depth z: a disk of radius sqrt(r^2 - d^2), d the distance from
  z to the slab [f - h, f + h]);
- ``projection``: any part along the optical axis (disks of radius r);
- ``visible``: what a person sees in focus and labels: the in-focus cross-section at the
  PSF-limited apparent width. A line of width w blurred by a PSF of half-maximum width F looks
  sqrt(w^2 + F^2) wide, so every in-focus disk grows by half the difference,
  (sqrt((2r)^2 + F^2) - 2r) / 2, with r the tubule's own radius (so a part that grazes the
  slab grows by the same amount as the tubule's core, and never more);
- ``label``: the 3D label volume at each plane (disks at the plane's exact depth).
"""

from __future__ import annotations

import numpy as np

from ._config import Labelling

__all__ = ["tube_emitters", "tube_samples", "stamp_disks", "visible_growth_nm"]


def visible_growth_nm(radius_nm, fwhm_nm: float):
    """How much the visible mask grows each side of a width-2r object: (sqrt(4r^2+F^2)-2r)/2."""
    w = 2.0 * np.asarray(radius_nm, float)
    return (np.sqrt(w**2 + fwhm_nm**2) - w) / 2.0


def _frames(tangents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit normals per tangent (orthonormal frame)."""
    t = tangents / np.linalg.norm(tangents, axis=1, keepdims=True)
    helper = np.where(np.abs(t[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    n1 = np.cross(t, helper)
    n1 /= np.linalg.norm(n1, axis=1, keepdims=True)
    return n1, np.cross(t, n1)


def tube_emitters(
    points: np.ndarray,
    radius: np.ndarray,
    labelling: Labelling,
    *,
    skip_start_nm: float = 0.0,
    rng: np.random.Generator,
) -> np.ndarray:
    """Fluorophores on the membrane (``surface``) or in the matrix (``volume``) of one tubule.

    Parameters
    ----------
    points : (N, 3) ndarray, centreline nm
    radius : (N,) ndarray, nm
    labelling : Labelling
        Density per um^2 of membrane or per um^3 of volume (Poisson count).
    skip_start_nm : float
        No fluorophores within this arc length of the start (a branch's start lies inside its
        parent, whose membrane is there instead).
    rng : Generator

    Returns
    -------
    (M, 3) ndarray of float, (x, y, depth) nm
    """
    seg = np.diff(points, axis=0)
    ds = np.linalg.norm(seg, axis=1)
    r = 0.5 * (radius[1:] + radius[:-1])
    s0 = np.r_[0.0, np.cumsum(ds)][:-1]
    surface = labelling.where == "surface"
    size = 2 * np.pi * r * ds / 1e6 if surface else np.pi * r**2 * ds / 1e9  # um^2 or um^3
    size = np.where(s0 + ds <= skip_start_nm, 0.0, size)
    density = labelling.density_per_um2 if surface else labelling.density_per_um3
    n = int(rng.poisson(density * size.sum()))
    parts = []
    if n and size.sum() > 0:
        k = np.searchsorted(np.cumsum(size) / size.sum(), rng.random(n), side="right")
        k = np.minimum(k, len(seg) - 1)
        u = rng.random(n)
        centre = points[k] + u[:, None] * seg[k]
        n1, n2 = _frames(seg[k])
        phi = rng.uniform(0, 2 * np.pi, n)
        rho = r[k] if surface else r[k] * np.sqrt(rng.random(n))
        parts.append(
            centre + rho[:, None] * (np.cos(phi)[:, None] * n1 + np.sin(phi)[:, None] * n2)
        )
    # the round end caps (the free end always, the start when it is not inside a parent)
    ends = [(points[-1], points[-1] - points[-2], radius[-1])]
    if skip_start_nm <= 0:
        ends.append((points[0], points[0] - points[1], radius[0]))
    for centre, out, rc in ends:
        cap = 2 * np.pi * rc**2 / 1e6 if surface else (2 / 3) * np.pi * rc**3 / 1e9
        m = int(rng.poisson(density * cap))
        if m == 0:
            continue
        v = rng.standard_normal((m, 3))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        v[v @ out < 0] *= -1  # the outward half
        rho = rc if surface else rc * rng.random(m) ** (1 / 3)
        parts.append(centre + np.reshape(rho, (-1, 1)) * v)
    return np.vstack(parts) if parts else np.empty((0, 3))


def tube_samples(points: np.ndarray, radius: np.ndarray, *, max_step_nm: float):
    """The centreline resampled at most ``max_step_nm`` apart: (K, 3) points, (K,) radii."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.r_[0.0, np.cumsum(seg)]
    n = max(2, int(np.ceil(s[-1] / max_step_nm)) + 1)
    t = np.linspace(0.0, s[-1], n)
    out = np.stack([np.interp(t, s, points[:, i]) for i in range(3)], axis=1)
    return out, np.interp(t, s, radius)


def stamp_disks(
    shape: tuple[int, int],
    centres_nm: np.ndarray,
    radii_nm: np.ndarray,
    values: np.ndarray,
    pixel_size_nm: float,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Write ``values`` into every pixel whose centre lies in a disk (later disks win).

    Parameters
    ----------
    shape : (H, W)
    centres_nm : (K, 2) ndarray, (x, y) nm; pixel (i, j) has its centre at ((j+.5)a, (i+.5)a)
    radii_nm : (K,) ndarray; disks with radius <= 0 are skipped
    values : (K,) ndarray, what to write (a label)
    out : (H, W) ndarray, optional, written in place

    Returns
    -------
    (H, W) ndarray
    """
    if out is None:
        out = np.zeros(shape, np.asarray(values).dtype)
    keep = radii_nm > 0
    c, r, v = centres_nm[keep], radii_nm[keep], np.asarray(values)[keep]
    if len(r) == 0:
        return out
    a = pixel_size_nm
    h, w = shape
    half = int(np.ceil(r.max() / a)) + 1
    off = np.arange(-half, half + 1)
    grid_y, grid_x = np.meshgrid(off, off, indexing="ij")
    oy, ox = grid_y.ravel(), grid_x.ravel()
    # in chunks, so the (disks x window) arrays stay small
    chunk = max(1, 2_000_000 // len(oy))
    for s in range(0, len(r), chunk):
        cc, rr, vv = c[s : s + chunk], r[s : s + chunk], v[s : s + chunk]
        j0 = np.floor(cc[:, 0] / a - 0.5).astype(int)
        i0 = np.floor(cc[:, 1] / a - 0.5).astype(int)
        jj = j0[:, None] + ox[None, :]
        ii = i0[:, None] + oy[None, :]
        dx = (jj + 0.5) * a - cc[:, :1]
        dy = (ii + 0.5) * a - cc[:, 1:]
        hit = (dx**2 + dy**2 <= rr[:, None] ** 2) & (jj >= 0) & (jj < w) & (ii >= 0) & (ii < h)
        rows = np.nonzero(hit)[0]
        out[ii[hit], jj[hit]] = vv[rows]
    return out
