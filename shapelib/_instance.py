"""The unit of work of the shape library: one connected object cut out of a label volume."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._units import float3

__all__ = ["Instance", "paint_instances"]


@dataclass(frozen=True)
class Instance:
    """One mitochondrion as a boolean crop of its source volume.

    Parameters
    ----------
    id : int
        Instance id (1-based, unique in a library).
    mask : (Z, Y, X) ndarray of bool
        The object's voxels, cropped to its bounding box.
    offset_vox : tuple of 3 int
        ``(z, y, x)`` index of ``mask[0, 0, 0]`` in the (possibly downsampled) source volume.
    voxel_size_nm : tuple of 3 float
        ``(z, y, x)`` voxel size of ``mask`` in nm.
    source : str
        Where the volume came from (a path, or a phantom description).
    touches_border : bool
        True when the object touches the border of the source volume (it may be cut).
    source_label : int
        The label id the object came from in the source volume (0 when the union was used).
    """

    id: int
    mask: np.ndarray
    offset_vox: tuple[int, int, int]
    voxel_size_nm: tuple[float, float, float]
    source: str = ""
    touches_border: bool = False
    source_label: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def voxel_count(self) -> int:
        return int(np.count_nonzero(self.mask))

    @property
    def bbox_vox(self) -> tuple[int, int, int, int, int, int]:
        """``(z0, y0, x0, z1, y1, x1)``, half-open, in source-volume voxels."""
        z0, y0, x0 = self.offset_vox
        dz, dy, dx = self.mask.shape
        return (z0, y0, x0, z0 + dz, y0 + dy, x0 + dx)

    @property
    def centroid_px(self) -> tuple[float, float, float]:
        """``(z, y, x)`` mean voxel index in the source volume (library.csv's centroid)."""
        idx = np.nonzero(self.mask)
        return float3(idx[a].mean() + self.offset_vox[a] for a in range(3))


def paint_instances(instances, shape: tuple[int, int, int]) -> np.ndarray:
    """The (Z, Y, X) uint32 label volume of `instances`: each one's mask painted with its id
    at its offset (in id order; a later id wins a shared voxel)."""
    out = np.zeros(tuple(int(n) for n in shape), np.uint32)
    for inst in sorted(instances, key=lambda i: i.id):
        z0, y0, x0, z1, y1, x1 = inst.bbox_vox
        out[z0:z1, y0:y1, x0:x1][np.asarray(inst.mask, bool)] = inst.id
    return out
