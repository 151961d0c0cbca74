"""The library's shape classes (`shapelib.SHAPE_CLASSES`) for the objects of a 2D mask.

The class rules are shapelib's own (`shapelib.classify_shape`: donut > dot > nano-tunnel >
mega > rod > network); what this module gives them is a 2D object's skeleton, measured as
follows:

- the object's holes are its loops (a ring in the plane is a donut);
- its skeleton is `skimage.morphology.skeletonize`, with spurs shorter than the object's
  half width pruned (end pixels peeled that many times, as shapelib prunes the bumps of a
  thick body), and each remaining end given that length back (ends extended to the medial
  axis);
- length = skeleton steps (1 or sqrt 2 pixels) plus the end extensions; junctions = clusters
  of skeleton pixels with three or more skeleton neighbours;
- the volume, which a 2D mask does not hold, is that of a tube with the object's mean width
  (area / length): area x pi x width / 4.
"""

from __future__ import annotations

import numpy as np

__all__ = ["library_class"]

_NEIGH = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]])


def _neighbours(skel: np.ndarray) -> np.ndarray:
    from scipy.ndimage import convolve

    return convolve(skel.astype(np.uint8), _NEIGH, mode="constant") * skel


def library_class(obj: np.ndarray, pixel_size_nm: float) -> str:
    """The library class of one object (a 2D bool crop with a background border)."""
    from scipy.ndimage import distance_transform_edt, label
    from skimage.morphology import skeletonize

    from shapelib import Skeleton, classify_shape

    obj = np.asarray(obj, bool)
    px_um = pixel_size_nm / 1000.0
    holes, n = label(~obj)
    border = set(np.unique(np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]])))
    n_loops = sum(1 for i in range(1, n + 1) if i not in border)
    half = int(np.ceil(distance_transform_edt(obj).max()))
    skel = skeletonize(obj)
    for _ in range(max(0, half - 1)):  # peel the spurs (and every free end) by the half width
        ends = (_neighbours(skel) == 1) & skel
        if not ends.any() or ends.sum() == skel.sum():
            break
        skel = skel & ~ends
    deg = _neighbours(skel)
    n_ends = int(((deg == 1) & skel).sum())
    orth = (skel[1:] & skel[:-1]).sum() + (skel[:, 1:] & skel[:, :-1]).sum()
    diag = (skel[1:, 1:] & skel[:-1, :-1]).sum() + (skel[1:, :-1] & skel[:-1, 1:]).sum()
    steps = float(orth + np.sqrt(2.0) * diag)
    length_px = steps + n_ends * max(half - 1, 0) + (2 * half if n_ends == 0 and not n_loops else 0)
    n_junctions = int(label((deg >= 3) & skel, structure=np.ones((3, 3)))[1])
    length_um = length_px * px_um
    area_um2 = float(obj.sum()) * px_um**2
    width_um = area_um2 / length_um if length_um > 0 else 2 * half * px_um
    skeleton = Skeleton(length_um, 0, n_junctions, n_ends, n_loops, (), np.zeros((0, 3), int))
    return classify_shape(skeleton, area_um2 * np.pi * width_um / 4.0)
