"""One block of a blockwise labelling, alone: its cc3d labels and what joining it to its
neighbours needs (items, their voxel counts, boxes, first voxels and values, and the block's six
boundary planes). `shapelib._blockwise` joins the blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._units import int3

__all__ = ["BlockLabels", "block_labels", "connected_components", "label_block"]


@dataclass(frozen=True)
class BlockLabels:
    """What a block's own labelling tells the rest: its items and its six boundary planes.

    Attributes
    ----------
    index : (i, j, k) block index
    n : int
        Items (cc3d labels ``1..n``) of the block.
    counts : (n,) ndarray of int64
        Voxels of each item.
    boxes : (n, 6) ndarray of int64
        ``(z0, y0, x0, z1, y1, x1)`` half-open bounding box of each item, volume voxels.
    first : (n,) ndarray of int64
        Linear index in the volume of each item's first voxel (raster order).
    values : (n,) ndarray of uint64
        The value the item's voxels hold (1 for a mask; the label id in instance mode).
    faces : tuple of 6 (2D) ndarrays
        Item labels on the block's planes ``z = first, z = last, y = first, y = last,
        x = first, x = last`` (0 = background).
    """

    index: tuple[int, int, int]
    n: int
    counts: np.ndarray
    boxes: np.ndarray
    first: np.ndarray
    values: np.ndarray
    faces: tuple[np.ndarray, ...]


def _numba_stats():
    """Compile (once, cached on disk) one raster pass giving every label's statistics."""
    from numba import njit

    @njit(cache=True)
    def stats(cc, n):  # pragma: no cover - compiled
        counts = np.zeros(n + 1, np.int64)
        lo = np.full((n + 1, 3), np.iinfo(np.int64).max, np.int64)
        hi = np.full((n + 1, 3), -1, np.int64)
        first = np.full(n + 1, -1, np.int64)
        nz, ny, nx = cc.shape
        for z in range(nz):
            for y in range(ny):
                for x in range(nx):
                    v = cc[z, y, x]
                    if v == 0:
                        continue
                    if counts[v] == 0:  # the first voxel in raster order: lowest z
                        first[v] = (z * ny + y) * nx + x
                        lo[v, 0] = z
                    counts[v] += 1
                    hi[v, 0] = z
                    if y < lo[v, 1]:
                        lo[v, 1] = y
                    if y > hi[v, 1]:
                        hi[v, 1] = y
                    if x < lo[v, 2]:
                        lo[v, 2] = x
                    if x > hi[v, 2]:
                        hi[v, 2] = x
        return counts, lo, hi, first

    return stats


_STATS = None


def _label_stats(cc: np.ndarray, n: int):
    """``(counts, lo, hi, first)`` of labels ``1..n`` (``hi`` inclusive, ``first`` the local
    linear index of the label's first voxel in raster order)."""
    global _STATS
    if _STATS is None:
        _STATS = _numba_stats()
    counts, lo, hi, first = _STATS(np.ascontiguousarray(cc), int(n))
    return counts[1:], lo[1:], hi[1:], first[1:]


def connected_components(sel: np.ndarray, connectivity: int) -> tuple[np.ndarray, int]:
    """cc3d labels ``1..n`` of a block (a mask, or ids joining only when equal) and ``n``."""
    import cc3d

    # cc3d mislabels strided views (seen with 4.1: a (2, 1, 1) slice of a larger array)
    sel = np.ascontiguousarray(sel)
    if connectivity == 26 and min(sel.shape) == 1:
        # the same neighbours in a flat block; cc3d 4.1 fails on (n, 1, 1) blocks at 26
        connectivity = 18
    return cc3d.connected_components(sel, connectivity=connectivity, return_N=True)


def block_labels(cc, n, sel, *, index, origin, volume_shape) -> BlockLabels:
    """The `BlockLabels` of a block `sel` whose cc3d labels are `cc` (``1..n``)."""
    if n:
        counts, lo, hi, first_local = _label_stats(cc, n)
        o = np.asarray(origin, np.int64)
        boxes = np.concatenate([lo + o, hi + 1 + o], axis=1)
        local = np.unravel_index(first_local, cc.shape)
        first = np.ravel_multi_index(
            tuple(local[a] + origin[a] for a in range(3)), volume_shape
        ).astype(np.int64)
        values = sel.reshape(-1)[first_local].astype(np.uint64)
    else:
        counts, first = np.zeros(0, np.int64), np.zeros(0, np.int64)
        boxes, values = np.zeros((0, 6), np.int64), np.zeros(0, np.uint64)
    small = np.min_scalar_type(max(n, 1))
    faces = tuple(
        np.ascontiguousarray(plane, dtype=small)
        for a in range(3)
        for plane in (np.take(cc, 0, axis=a), np.take(cc, -1, axis=a))
    )
    return BlockLabels(int3(index), int(n), counts, boxes, first, values, faces)


def label_block(
    sel: np.ndarray, *, index, origin, volume_shape, connectivity: int = 26
) -> BlockLabels:
    """Label one block alone (cc3d) and keep what joining it to its neighbours needs.

    Parameters
    ----------
    sel : (z, y, x) ndarray of bool or unsigned int
        The block: a mask, or label ids (voxels join only with equal ids).
    index : (i, j, k)
        The block's index in its :class:`BlockGrid`.
    origin : (z, y, x)
        Volume voxel of ``sel[0, 0, 0]``.
    volume_shape : (Z, Y, X)
    connectivity : 6, 18 or 26

    Returns
    -------
    BlockLabels
    """
    cc, n = connected_components(sel, connectivity)
    return block_labels(cc, n, sel, index=index, origin=origin, volume_shape=volume_shape)
