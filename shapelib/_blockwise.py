"""Connected components of a volume too big to label in one piece: blockwise, and exact.

1. The volume is cut into a grid of blocks (:class:`BlockGrid`); each block is labelled alone
   by cc3d (`shapelib._block_labels.label_block`). Item ``k`` of block ``b`` stands for the
   part of a component that lies in ``b``; no block needs another's result, so they run in any
   order, anywhere.
2. Two items are one component when a voxel of one touches a voxel of the other across the
   boundary of their blocks: a face, and for 18- and 26-connectivity an edge, and for
   26-connectivity a corner (:func:`block_pairs`, from the six boundary planes each block
   keeps). With labels (instance mode) the two voxels must also hold the same id.
3. :func:`join_blocks` joins the pairs with :func:`shapelib._graph.join_pairs` (the one
   union-find) and sums each component's voxel count, bounding box and first voxel over its
   items.

:func:`label_blockwise` runs the three steps on an array in memory and returns the same labels
as ``cc3d.connected_components`` (numbered in raster order of each component's first voxel).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ._block_labels import BlockLabels, block_labels, connected_components
from ._errors import InputError
from ._graph import join_pairs
from ._units import int3

__all__ = [
    "BlockGrid",
    "Components",
    "FORWARD_DIRECTIONS",
    "block_pairs",
    "join_blocks",
    "label_blockwise",
]

# Neighbour blocks one step away, one of each +- pair: the first non-zero step is +1.
FORWARD_DIRECTIONS: tuple[tuple[int, int, int], ...] = tuple(
    int3(d) for d in itertools.product((-1, 0, 1), repeat=3) if d > (0, 0, 0)
)
_MAX_STEPS = {6: 1, 18: 2, 26: 3}  # non-zero offsets allowed between two neighbour voxels


@dataclass(frozen=True)
class BlockGrid:
    """A regular grid of blocks over a ``(Z, Y, X)`` volume (the last blocks may be smaller)."""

    shape: tuple[int, int, int]
    block_shape: tuple[int, int, int]

    @property
    def grid(self) -> tuple[int, int, int]:
        """Blocks along each axis."""
        return int3(-(-s // b) for s, b in zip(self.shape, self.block_shape, strict=True))

    def __len__(self) -> int:
        return int(np.prod(self.grid))

    def indices(self) -> list[tuple[int, int, int]]:
        """Every block index ``(i, j, k)`` in raster order."""
        return [int3(i) for i in itertools.product(*(range(n) for n in self.grid))]

    def linear(self, index) -> int:
        return int(np.ravel_multi_index(tuple(index), self.grid))

    def box(self, index) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """``(lo, hi)`` voxel corners of a block, half-open."""
        lo = int3(i * b for i, b in zip(index, self.block_shape, strict=True))
        hi = int3(min(a + b, s) for a, b, s in zip(lo, self.block_shape, self.shape, strict=True))
        return lo, hi

    def contains(self, index) -> bool:
        return all(0 <= i < n for i, n in zip(index, self.grid, strict=True))


def _overlap(n: int, step: int) -> tuple[slice, slice]:
    """Slices of two equal-length rows so that ``b[j] `` sits ``step`` after ``a[i]``."""
    return slice(max(0, -step), n - max(0, step)), slice(max(0, step), n - max(0, -step))


def block_pairs(
    a: BlockLabels, b: BlockLabels, direction, *, connectivity: int = 26, multilabel: bool = False
) -> np.ndarray:
    """Pairs of items of ``a`` and of its neighbour ``b = a + direction`` whose voxels touch.

    Parameters
    ----------
    a, b : BlockLabels
        Neighbouring blocks; ``direction`` (one of :data:`FORWARD_DIRECTIONS`) leads from ``a``
        to ``b``: a face (one non-zero step), an edge (two) or a corner (three).
    connectivity : 6, 18 or 26
    multilabel : bool
        Only voxels holding the same value join (instance mode).

    Returns
    -------
    pairs : (P, 2) ndarray of int64
        ``(item of a, item of b)``, 1-based, each pair once.
    """
    d = tuple(int(v) for v in direction)
    if d not in FORWARD_DIRECTIONS:
        raise InputError(f"direction must be one of {FORWARD_DIRECTIONS}; got {direction!r}.")
    limit = _MAX_STEPS[connectivity]
    n_steps = sum(v != 0 for v in d)
    if n_steps > limit:
        return np.zeros((0, 2), np.int64)
    # the first non-zero step is +1: a's last plane on that axis meets b's first plane
    axis = next(i for i, v in enumerate(d) if v)
    pa, pb = a.faces[2 * axis + 1], b.faces[2 * axis]
    others = [i for i in range(3) if i != axis]
    base_a, base_b, free = [slice(None)] * 2, [slice(None)] * 2, []
    for j, ax in enumerate(others):
        if d[ax] == 1:  # a's last row meets b's first
            base_a[j], base_b[j] = slice(-1, None), slice(0, 1)
        elif d[ax] == -1:
            base_a[j], base_b[j] = slice(0, 1), slice(-1, None)
        else:
            free.append(j)
    pa, pb = pa[tuple(base_a)], pb[tuple(base_b)]
    found = []
    for steps in itertools.product((-1, 0, 1), repeat=len(free)):
        if n_steps + sum(s != 0 for s in steps) > limit:
            continue
        sa, sb = [slice(None)] * 2, [slice(None)] * 2
        for j, s in zip(free, steps, strict=True):
            sa[j], sb[j] = _overlap(pa.shape[j], s)
        la, lb = pa[tuple(sa)].reshape(-1), pb[tuple(sb)].reshape(-1)
        m = (la > 0) & (lb > 0)
        if not m.any():
            continue
        la, lb = la[m].astype(np.int64), lb[m].astype(np.int64)
        if multilabel:
            same = a.values[la - 1] == b.values[lb - 1]
            la, lb = la[same], lb[same]
        found.append(la * (b.n + 1) + lb)
    if not found:
        return np.zeros((0, 2), np.int64)
    keys = np.unique(np.concatenate(found))
    return np.stack([keys // (b.n + 1), keys % (b.n + 1)], axis=1)


@dataclass(frozen=True)
class Components:
    """Components of a blockwise-labelled volume, numbered ``0 .. n - 1``.

    Attributes
    ----------
    n : int
    counts : (n,) ndarray of int64
        Voxels of each component.
    boxes : (n, 6) ndarray of int64
        ``(z0, y0, x0, z1, y1, x1)`` half-open bounding box, volume voxels.
    first : (n,) ndarray of int64
        Linear index in the volume of the component's first voxel (raster order).
    values : (n,) ndarray of uint64
        The value its voxels hold (1 for a mask).
    item_component : dict of block index -> (n_items + 1,) ndarray of int64
        Component of each item of each block (entry 0, background, is -1).
    """

    n: int
    counts: np.ndarray
    boxes: np.ndarray
    first: np.ndarray
    values: np.ndarray
    item_component: dict


def join_blocks(blocks, pairs) -> Components:
    """Join every block's items into components.

    Parameters
    ----------
    blocks : iterable of BlockLabels
        Every block of the grid once (their faces are not read: they may be dropped).
    pairs : iterable of (index_a, index_b, (P, 2) ndarray)
        Touching items from :func:`block_pairs`.

    Returns
    -------
    Components
        Numbered in the order of each component's first item (blocks in raster order).
    """
    blocks = sorted(blocks, key=lambda bl: bl.index)
    offset, start = {}, 0
    for bl in blocks:
        offset[bl.index] = start
        start += bl.n
    n_items = start
    joined = [
        np.stack([p[:, 0] - 1 + offset[ia], p[:, 1] - 1 + offset[ib]], axis=1)
        for ia, ib, p in pairs
        if len(p)
    ]
    edges = np.concatenate(joined) if joined else np.zeros((0, 2), np.int64)
    group = join_pairs(n_items, edges)
    n = int(group.max()) + 1 if n_items else 0

    def cat(name, shape):
        parts = [getattr(bl, name) for bl in blocks if bl.n]
        return np.concatenate(parts) if parts else np.zeros(shape, np.int64)

    counts = np.zeros(n, np.int64)
    np.add.at(counts, group, cat("counts", (0,)))
    boxes_all = cat("boxes", (0, 6))
    lo = np.full((n, 3), np.iinfo(np.int64).max)
    hi = np.full((n, 3), -1, np.int64)
    np.minimum.at(lo, group, boxes_all[:, :3])
    np.maximum.at(hi, group, boxes_all[:, 3:])
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, group, cat("first", (0,)))
    values = np.zeros(n, np.uint64)
    values[group] = cat("values", (0,)).astype(np.uint64)
    item_component = {
        bl.index: np.concatenate([[-1], group[offset[bl.index] : offset[bl.index] + bl.n]])
        for bl in blocks
    }
    return Components(n, counts, np.concatenate([lo, hi], axis=1), first, values, item_component)


def label_blockwise(
    volume: np.ndarray, *, block_shape, connectivity: int = 26
) -> tuple[np.ndarray, int]:
    """Connected components of an in-memory volume, computed block by block.

    The same labels as ``cc3d.connected_components(volume, connectivity=connectivity)``: 0
    for background, ``1..n`` in raster order of each component's first voxel; a bool volume
    is a mask, an unsigned one holds ids (voxels join only with equal ids).

    Parameters
    ----------
    volume : (Z, Y, X) ndarray of bool or unsigned int
    block_shape : int or (z, y, x) ints
        Block size in voxels.
    connectivity : 6, 18 or 26

    Returns
    -------
    labels : (Z, Y, X) ndarray of uint32 (uint64 above 2**32 - 1 components)
    n : int
    """
    volume = np.asarray(volume)
    if volume.ndim != 3:
        raise InputError(f"volume must be 3D (Z, Y, X); got shape {volume.shape}.")
    if connectivity not in _MAX_STEPS:
        raise InputError(f"connectivity must be 6, 18 or 26; got {connectivity!r}.")
    bshape = int3(np.broadcast_to(np.asarray(block_shape), (3,)))
    if min(bshape) < 1:
        raise InputError(f"block_shape must be >= 1 voxel per axis; got {block_shape!r}.")
    grid = BlockGrid(int3(volume.shape), bshape)
    multilabel = volume.dtype != bool
    ccs, blocks = {}, {}
    for idx in grid.indices():
        lo, hi = grid.box(idx)
        sel = volume[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))]
        cc, n = connected_components(sel, connectivity)
        ccs[idx] = cc
        blocks[idx] = block_labels(cc, n, sel, index=idx, origin=lo, volume_shape=volume.shape)
    pairs = []
    for idx, bl in blocks.items():
        for d in FORWARD_DIRECTIONS:
            nb = int3(i + s for i, s in zip(idx, d, strict=True))
            if grid.contains(nb):
                p = block_pairs(bl, blocks[nb], d, connectivity=connectivity, multilabel=multilabel)
                pairs.append((idx, nb, p))
    comps = join_blocks(blocks.values(), pairs)
    # number components in raster order of their first voxel, as cc3d does
    rank = np.empty(comps.n, np.int64)
    rank[np.argsort(comps.first, kind="stable")] = np.arange(1, comps.n + 1)
    out = np.zeros(volume.shape, np.uint32 if comps.n < 2**32 else np.uint64)
    for idx, cc in ccs.items():
        lo, hi = grid.box(idx)
        lut = np.concatenate([[0], rank[comps.item_component[idx][1:]]]).astype(out.dtype)
        out[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))] = lut[cc]
    return out, comps.n
