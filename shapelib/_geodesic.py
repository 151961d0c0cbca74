"""Geodesic regions inside one connected component, and the bridges between them.

The numerical core of the split rule of `_extract` (its module docstring, steps 2 and 4):
the distance to the background (the erosion), every voxel's geodesically nearest eroded core,
and, per pair of touching regions, the shortest core-to-core path and the widest point of
their interface. All arrays are one component's crop, (Z, Y, X), distances in voxels.
"""

from __future__ import annotations

import functools
import heapq
import math

import numpy as np

__all__ = ["bridges", "distance_to_background", "geodesic_regions", "label_maxima"]


@functools.cache
def _voronoi():
    """Compile (once per process, cached on disk) the multi-source Dijkstra of the regions.

    Written here because scipy and scikit-image give no labels of the geodesically nearest
    of many sources inside a mask (skimage.graph.MCP_Geometric returns costs and traceback,
    not the source's label).
    """
    from numba import njit

    @njit(cache=True)
    def voronoi(mask, seeds, offsets, weights):  # pragma: no cover - compiled
        n = mask.size
        dist = np.full(n, np.inf)
        lab = seeds.copy()
        heap = [(0.0, np.int64(0))]
        heap.pop()
        for i in range(n):
            if seeds[i] > 0:
                dist[i] = 0.0
                heap.append((0.0, np.int64(i)))
        heapq.heapify(heap)
        while len(heap) > 0:
            d, i = heapq.heappop(heap)
            if d > dist[i]:
                continue
            for k in range(offsets.size):
                j = i + offsets[k]
                if mask[j] == 0:
                    continue
                nd = d + weights[k]
                if nd < dist[j]:
                    dist[j] = nd
                    lab[j] = lab[i]
                    heapq.heappush(heap, (nd, j))
        return dist, lab

    return voronoi


def _half_offsets(connectivity: int) -> list[tuple[int, int, int]]:
    """One of each +-pair of neighbour offsets for a connectivity."""
    out = []
    for dz in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                n = abs(dz) + abs(dy) + abs(dx)
                if n == 0 or n > {6: 1, 18: 2, 26: 3}[connectivity]:
                    continue
                if (dz, dy, dx) > (0, 0, 0):
                    out.append((dz, dy, dx))
    return out


def geodesic_regions(comp: np.ndarray, cores: np.ndarray, connectivity: int):
    """Nearest-core labels and geodesic distance (voxels) inside ``comp``; both (Z, Y, X)."""
    # One voxel of background around the crop so flat neighbour offsets never leave it.
    mask = np.pad(comp, 1).astype(np.uint8)
    seeds = np.pad(cores, 1).astype(np.int32)
    strides = np.array([mask.shape[1] * mask.shape[2], mask.shape[2], 1])
    half = _half_offsets(connectivity)
    offs = [o for h in half for o in (h, tuple(-v for v in h))]
    flat = np.array([int(np.dot(o, strides)) for o in offs], dtype=np.int64)
    weights = np.array([math.sqrt(sum(v * v for v in o)) for o in offs])
    dist, lab = _voronoi()(mask.ravel(), seeds.ravel(), flat, weights)
    inner = (slice(1, -1),) * 3
    return lab.reshape(mask.shape)[inner], dist.reshape(mask.shape)[inner]


def bridges(lab, dist, edt, connectivity):
    """Per pair of touching regions: shortest core-to-core path and widest interface point."""
    keys, gaps, necks = [], [], []
    n = int(lab.max()) + 1
    for dz, dy, dx in _half_offsets(connectivity):
        a = tuple(
            slice(max(0, -d), s - max(0, d)) for d, s in zip((dz, dy, dx), lab.shape, strict=True)
        )
        b = tuple(
            slice(max(0, d), s - max(0, -d)) for d, s in zip((dz, dy, dx), lab.shape, strict=True)
        )
        la, lb = lab[a], lab[b]
        m = (la > 0) & (lb > 0) & (la != lb)
        if not m.any():
            continue
        la, lb = la[m].astype(np.int64), lb[m].astype(np.int64)
        keys.append(np.minimum(la, lb) * n + np.maximum(la, lb))
        gaps.append(dist[a][m] + dist[b][m] + math.sqrt(dz * dz + dy * dy + dx * dx))
        necks.append(np.minimum(edt[a][m], edt[b][m]))
    if not keys:
        return []
    key, gap, neck = (np.concatenate(v) for v in (keys, gaps, necks))
    order = np.argsort(key, kind="stable")
    key, gap, neck = key[order], gap[order], neck[order]
    uniq, start = np.unique(key, return_index=True)
    gmin = np.minimum.reduceat(gap, start)
    nmax = np.maximum.reduceat(neck, start)
    return [
        (int(k // n), int(k % n), float(g), float(w))
        for k, g, w in zip(uniq, gmin, nmax, strict=True)
    ]


def label_maxima(values: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Largest value of each label ``0 .. n`` (0 where a label has no voxel), one pass.

    The same numbers as ``scipy.ndimage.maximum(values, labels, index=range(n + 1))`` for
    labels ``0 .. n`` and non-negative values, without its sort of every voxel by label.
    """
    labels = np.asarray(labels).ravel()
    values = np.asarray(values).ravel()
    out = np.zeros(n + 1, dtype=np.result_type(values.dtype, np.float32))
    np.maximum.at(out, labels, values)
    return out


def distance_to_background(comp: np.ndarray, at_border) -> np.ndarray:
    """Euclidean distance (voxels) to the background; the volume border is not background.

    Sides of the crop that are not the volume border get one layer of background.
    """
    zero = [(0 if lo else 1, 0 if hi else 1) for lo, hi in at_border]
    padded = np.pad(comp, zero)
    inner = tuple(slice(z0, s - z1) for s, (z0, z1) in zip(padded.shape, zero, strict=True))
    try:
        import edt  # seung-lab edt: several times faster than scipy's on large crops
    except ImportError:  # pragma: no cover - scipy fallback: copy the edge outward instead
        from scipy import ndimage

        m = 64
        edge = [(m if lo else 0, m if hi else 0) for lo, hi in at_border]
        big = np.pad(padded, edge, mode="edge")
        inner2 = tuple(slice(e0, s - e1) for s, (e0, e1) in zip(big.shape, edge, strict=True))
        return ndimage.distance_transform_edt(big)[inner2][inner]
    # edt takes a uint8 view of the 0/1 mask on a faster path than a bool array, with the
    # same distances (tests/shapelib/test_extract.py compares them)
    u8 = np.ascontiguousarray(padded, dtype=bool).view(np.uint8)
    return edt.edt(u8, black_border=False, parallel=1)[inner]
