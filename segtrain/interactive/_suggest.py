"""Suggested clicks: where the uncertainty map says a click would help most.

DeepPI-EM takes the most uncertain pixels (the top 0.015 %) and clusters their coordinates by
k-means (k = 3); each cluster is one suggestion. Here, in addition:

- pixels already clicked and the disks around earlier clicks (regions already corrected) are
  never suggested;
- each suggestion is the cluster's member pixel nearest its centroid (a pixel that really is
  uncertain, not a point between two blobs), scored by the uncertainty mass of its cluster (the
  sum over its pixels), and the suggestions come best first;
- a suggestion within a click radius of a better one is dropped (two suggestions on one blob
  waste the user's time).

k-means is deterministic: the first centre is the most uncertain pixel, each next one the
pixel farthest from the centres so far, then Lloyd iterations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..inference._clicks import Click, disk

__all__ = ["TOP_FRACTION", "Suggestion", "corrected_mask", "kmeans", "suggest_clicks"]

# DeepPI-EM: the top 0.015 % most uncertain pixels.
TOP_FRACTION = 0.00015


@dataclass(frozen=True)
class Suggestion:
    """A suggested click: pixel `row`, `col` and its `score` (uncertainty mass of its region)."""

    row: int
    col: int
    score: float


def corrected_mask(shape: tuple[int, int], clicks: Sequence[Click], radius_px: int) -> np.ndarray:
    """(h, w) bool: the disks of radius `radius_px` around the clicks."""
    out = np.zeros(shape, bool)
    d = disk(radius_px)
    r = int(radius_px)
    h, w = shape
    for c in clicks:
        y0, y1 = max(c.row - r, 0), min(c.row + r + 1, h)
        x0, x1 = max(c.col - r, 0), min(c.col + r + 1, w)
        if y0 < y1 and x0 < x1:
            out[y0:y1, x0:x1] |= d[y0 - c.row + r : y1 - c.row + r, x0 - c.col + r : x1 - c.col + r]
    return out


def kmeans(points: np.ndarray, weights: np.ndarray, k: int, *, iters: int = 20) -> np.ndarray:
    """Cluster index (N,) of each point (N, 2) among k clusters (deterministic init)."""
    n = len(points)
    k = min(k, n)
    centres = [points[int(np.argmax(weights))]]
    d2 = ((points - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        centres.append(points[int(np.argmax(d2))])
        d2 = np.minimum(d2, ((points - centres[-1]) ** 2).sum(1))
    c = np.array(centres, np.float64)
    labels = np.zeros(n, int)
    for _ in range(iters):
        dist = ((points[:, None, :] - c[None]) ** 2).sum(-1)
        new = np.argmin(dist, 1)
        if _ and np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            sel = labels == j
            if sel.any():
                c[j] = np.average(points[sel], axis=0, weights=weights[sel] + 1e-12)
    return labels


def suggest_clicks(
    uncertainty: np.ndarray,
    *,
    clicks: Sequence[Click] = (),
    n: int = 3,
    top_fraction: float = TOP_FRACTION,
    radius_px: int = 20,
    valid: np.ndarray | None = None,
    min_uncertainty: float = 1e-6,
) -> tuple[Suggestion, ...]:
    """Up to `n` suggested clicks on an uncertainty map, best first.

    Parameters
    ----------
    uncertainty : (Y, X) ndarray, e.g. the std of the sampled probabilities
    clicks : earlier clicks; their disks of `radius_px` are never suggested
    n : int, suggestions wanted (DeepPI-EM: 3 = k of k-means)
    top_fraction : float, share of the pixels clustered (the most uncertain; at least `n`)
    valid : (Y, X) bool or None, where suggestions may go (None: everywhere)
    min_uncertainty : pixels at or below it are never suggested (an empty map gives none)

    Returns
    -------
    tuple of Suggestion (row, col, score = uncertainty mass of the cluster)
    """
    if n < 1:
        return ()
    u = np.asarray(uncertainty, np.float32)  # float32: the top pixels are found twice as fast
    allowed = u > min_uncertainty
    if clicks:
        allowed &= ~corrected_mask(u.shape, clicks, radius_px)
    if valid is not None:
        allowed &= np.asarray(valid, bool)
    flat = np.flatnonzero(allowed)
    if flat.size == 0:
        return ()
    m = min(flat.size, max(n, math.ceil(top_fraction * u.size)))
    vals = u.ravel()[flat]
    top = flat[np.argpartition(-vals, m - 1)[:m]] if m < flat.size else flat
    w = u.ravel()[top]
    pts = np.stack(np.unravel_index(top, u.shape), 1).astype(np.float64)
    labels = kmeans(pts, w, n)
    found = []
    for j in np.unique(labels):
        sel = labels == j
        centre = np.average(pts[sel], axis=0, weights=w[sel] + 1e-12)
        i = int(np.argmin(((pts[sel] - centre) ** 2).sum(1)))
        row, col = (int(v) for v in pts[sel][i])
        found.append(Suggestion(row, col, float(w[sel].sum())))
    found.sort(key=lambda s: (-s.score, s.row, s.col))
    kept: list[Suggestion] = []
    for s in found:
        if all((s.row - k.row) ** 2 + (s.col - k.col) ** 2 > radius_px**2 for k in kept):
            kept.append(s)
    return tuple(kept[:n])
