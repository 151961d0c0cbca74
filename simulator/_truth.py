"""Ground truth on the image grid: in-focus and projection masks, and per-plane label volumes."""

from __future__ import annotations

import numpy as np
import trimesh

__all__ = [
    "Placement",
    "ray_intervals",
    "surface_intervals",
    "truth_masks",
    "visible_from_in_focus",
]


def _hull_vertices(mesh: trimesh.Trimesh) -> np.ndarray:
    """Vertices of the mesh's convex hull (cached in the mesh's own cache)."""
    hull = mesh._cache["mitoshape_hull_vertices"]  # None when absent or stale
    if hull is None:
        try:
            hull = np.asarray(mesh.convex_hull.vertices, float)
        except Exception:  # qhull can fail on degenerate meshes: all vertices then  # noqa: BLE001
            hull = np.asarray(mesh.vertices, float)
        mesh._cache["mitoshape_hull_vertices"] = hull
    return hull


class Placement:
    """A mesh in its own frame and where it sits in the image: ``x_img = R (x - centre) + offset``.

    Rays are cast in the mesh's own frame (rotated into it), so the mesh's ray-tracing
    structure is built once per mesh, not once per rotation.
    """

    def __init__(self, mesh: trimesh.Trimesh, rotation, centre, offset_nm):
        self.mesh = mesh
        self.rotation = np.asarray(rotation, float)
        self.centre = np.asarray(centre, float)
        self.offset = np.asarray(offset_nm, float)
        # the bounds of the rotated mesh are those of its rotated convex hull (fewer vertices)
        hull = _hull_vertices(mesh)
        vertices = (hull - self.centre) @ self.rotation.T + self.offset
        self.bounds = np.array([vertices.min(axis=0), vertices.max(axis=0)])
        """(2, 3) bounds of the placed mesh in the image frame (nm)."""

    def to_mesh_frame(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, float) - self.offset) @ self.rotation + self.centre


def ray_intervals(mesh, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inside intervals along rays parallel to z through points ``xy``, as flat arrays.

    Parameters
    ----------
    mesh : trimesh.Trimesh or Placement
        Closed mesh in the image frame (x, y nm; z = depth nm), or a placed mesh.
    xy : (N, 2) ndarray of float
        Ray positions, nm.

    Returns
    -------
    ray : (K,) ndarray of int
        Which ray each interval is on (sorted).
    z_in, z_out : (K,) ndarrays of float
        Depths (nm) where the ray enters and leaves the object.
    """
    if not isinstance(mesh, Placement):
        mesh = Placement(mesh, np.eye(3), np.zeros(3), np.zeros(3))
    xy = np.asarray(xy, float).reshape(-1, 2)
    parts_ray, parts_z = [], []
    if len(xy) == 0:
        return np.zeros(0, int), np.zeros(0), np.zeros(0)
    z0 = mesh.bounds[0, 2] - 100.0
    direction = mesh.rotation[2]  # +z of the image in the mesh's frame (R^T z)
    todo = np.arange(len(xy))
    shift = np.zeros(2)
    for attempt in range(4):
        origins = mesh.to_mesh_frame(np.c_[xy[todo] + shift, np.full(len(todo), z0)])
        dirs = np.tile(direction, (len(todo), 1))
        loc, ray, _ = mesh.mesh.ray.intersects_location(origins, dirs, multiple_hits=True)
        if len(ray) == 0:
            break
        t = np.einsum("ij,j->i", loc - origins[ray], direction)
        order = np.lexsort((t, ray))
        ray, z = ray[order], z0 + t[order]
        # a hit on an edge shared by two faces counts once
        keep = np.r_[True, (ray[1:] != ray[:-1]) | (np.diff(z) > 1e-6)]
        ray, z = ray[keep], z[keep]
        count = np.bincount(ray, minlength=len(todo))
        odd = count % 2 == 1
        good = ~odd[ray]
        parts_ray.append(todo[ray[good]])
        parts_z.append(z[good])
        if not odd.any():
            break
        todo = todo[odd]
        shift = np.array([1e-3, 2e-3]) * (attempt + 1)  # nudge rays off edges and vertices
    if not parts_ray:
        return np.zeros(0, int), np.zeros(0), np.zeros(0)
    ray, z = np.concatenate(parts_ray), np.concatenate(parts_z)
    order = np.lexsort((z, ray))
    ray, z = ray[order], z[order]
    return ray[0::2], z[0::2], z[1::2]


def surface_intervals(mesh, xy: np.ndarray) -> list[np.ndarray]:
    """Depth intervals inside a closed mesh along rays parallel to z through points ``xy``.

    Parameters
    ----------
    mesh : trimesh.Trimesh or Placement
        Closed mesh in the image frame (x, y nm; z = depth nm), or a placed mesh.
    xy : (N, 2) ndarray of float
        Ray positions, nm.

    Returns
    -------
    intervals : list of (K, 2) ndarrays, one per ray, [z_enter, z_exit] in nm
    """
    ray, z_in, z_out = ray_intervals(mesh, xy)
    out: list[np.ndarray] = [np.empty((0, 2)) for _ in range(len(xy))]
    splits = np.flatnonzero(np.r_[True, ray[1:] != ray[:-1]]) if len(ray) else np.zeros(0, int)
    for a, b in zip(splits, list(splits[1:]) + [len(ray)], strict=True):
        out[ray[a]] = np.c_[z_in[a:b], z_out[a:b]]
    return out


def truth_masks(
    mesh,
    *,
    size_px: int,
    pixel_size_nm: float,
    focal_depths_nm: tuple[float, ...],
    dof_nm: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks of one object on the pixel grid (pixel centres).

    ``mesh`` is a closed mesh in the image frame or a :class:`Placement`.

    Returns
    -------
    in_focus : (P, H, W) ndarray of bool
        The object's cross-section within ``dof_nm / 2`` of each focal plane.
    projection : (H, W) ndarray of bool
        Any part of the object along the optical axis.
    label : (P, H, W) ndarray of bool
        Pixel centre inside the object at the focal plane's depth (the 3D label volume).
    """
    n_planes = len(focal_depths_nm)
    in_focus = np.zeros((n_planes, size_px, size_px), bool)
    label = np.zeros_like(in_focus)
    projection = np.zeros((size_px, size_px), bool)
    (x0, y0, _), (x1, y1, _) = mesh.bounds
    j0 = max(0, int(np.floor(x0 / pixel_size_nm - 0.5)))
    j1 = min(size_px - 1, int(np.ceil(x1 / pixel_size_nm - 0.5)))
    i0 = max(0, int(np.floor(y0 / pixel_size_nm - 0.5)))
    i1 = min(size_px - 1, int(np.ceil(y1 / pixel_size_nm - 0.5)))
    if j1 < j0 or i1 < i0:
        return in_focus, projection, label
    ii, jj = np.mgrid[i0 : i1 + 1, j0 : j1 + 1]
    ii, jj = ii.ravel(), jj.ravel()
    xy = np.c_[(jj + 0.5) * pixel_size_nm, (ii + 0.5) * pixel_size_nm]
    ray, z_in, z_out = ray_intervals(mesh, xy)
    projection[ii[ray], jj[ray]] = True
    half = dof_nm / 2
    for k, f in enumerate(focal_depths_nm):
        near = ray[(z_in <= f + half) & (z_out >= f - half)]
        in_focus[k, ii[near], jj[near]] = True
        on = ray[(z_in <= f) & (z_out >= f)]
        label[k, ii[on], jj[on]] = True
    return in_focus, projection, label


def visible_from_in_focus(in_focus: np.ndarray, *, pixel_size_nm: float, fwhm_nm: float):
    """The ``visible`` mask of one object from its in-focus masks: each plane grown by half
    the difference between the apparent width sqrt(w^2 + F^2) and the width w, where w is the
    widest inscribed disk of that plane's in-focus mask (a tubule's diameter) and F the PSF's
    half-maximum width. Pixel centres within that distance of an in-focus pixel centre.

    Parameters
    ----------
    in_focus : (P, H, W) ndarray of bool
    pixel_size_nm, fwhm_nm : float

    Returns
    -------
    (P, H, W) ndarray of bool
    """
    from scipy.ndimage import distance_transform_edt

    out = np.zeros_like(in_focus)
    for k, plane in enumerate(in_focus):
        if not plane.any():
            continue
        # in nm: the inscribed radius of a pixel-centre mask is about its EDT max minus half
        # a pixel (the EDT counts from background pixel centres)
        w = 2.0 * max(float(distance_transform_edt(plane).max()) - 0.5, 0.5) * pixel_size_nm
        grow = (np.sqrt(w**2 + fwhm_nm**2) - w) / 2.0
        out[k] = distance_transform_edt(~plane) * pixel_size_nm <= grow + 1e-6
    return out
