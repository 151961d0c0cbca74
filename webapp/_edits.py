"""Edits of a mask by hand: brush and eraser strokes, a click's window pasted over the
current state (so strokes stay where no click re-predicted), and the instance layer's edits:
merging two objects into one label, committing the object the clicks built."""

from __future__ import annotations

import numpy as np

from ._segment import Prediction

__all__ = ["committed", "disks", "inside_image", "merged", "with_window"]


def inside_image(y: int, x: int, shape) -> bool:
    return 0 <= x < shape[1] and 0 <= y < shape[0]


def _stroke(points) -> list[tuple[int, int]]:
    """The (x, y) points of a drag, consecutive ones joined by a pixel step."""
    out = [tuple(points[0])]
    for (xa, ya), (xb, yb) in zip(points, points[1:], strict=False):
        n = max(abs(xb - xa), abs(yb - ya), 1)
        t = np.arange(1, n + 1) / n
        xs, ys = np.rint(xa + t * (xb - xa)).astype(int), np.rint(ya + t * (yb - ya)).astype(int)
        out += list(zip(xs.tolist(), ys.tolist(), strict=True))
    return out


def disks(shape, points, radius_px: int) -> np.ndarray:
    """Where disks of `radius_px` along the drag through the (x, y) `points` fall (points
    outside the image are skipped)."""
    hit = np.zeros(shape, bool)
    r = int(radius_px)
    points = _stroke(points)
    dy, dx = np.ogrid[-r : r + 1, -r : r + 1]
    disk = dy**2 + dx**2 <= r * r
    for x, y in points:
        if not inside_image(y, x, shape):
            continue
        y0, x0 = max(0, y - r), max(0, x - r)
        y1, x1 = min(shape[0], y + r + 1), min(shape[1], x + r + 1)
        hit[y0:y1, x0:x1] |= disk[y0 - y + r : y1 - y + r, x0 - x + r : x1 - x + r]
    return hit


def with_window(current: Prediction, new: Prediction) -> Prediction:
    """`new` in its window and `current` outside it (edits by hand stay where no click
    re-predicted)."""
    if new is current:
        return current
    if new.window is None:
        return new.but(instances=current.instances)
    y0, y1, x0, x1 = new.window
    mask = current.mask.copy()
    mask[y0:y1, x0:x1] = new.mask[y0:y1, x0:x1]
    return Prediction(new.probability, mask, new.uncertainty, new.suggestions, new.seconds,
                      instances=current.instances)  # fmt: skip


def merged(labels: np.ndarray, instances: np.ndarray, a: int, b: int) -> np.ndarray:
    """The instance layer with objects `a` and `b` (values of `labels`) one label: the
    instance of `a` when it has one, else of `b`, else a new one; a new array."""
    out = instances.copy()
    ia, ib = int(instances[labels == a].max()), int(instances[labels == b].max())
    k = ia or ib or _new_instance(instances)
    out[(labels == a) | (labels == b)] = k
    return out


def committed(labels: np.ndarray, instances: np.ndarray, ids) -> np.ndarray:
    """The instance layer with the objects `ids` (values of `labels`) one new instance."""
    out = instances.copy()
    out[np.isin(labels, list(ids))] = _new_instance(instances)
    return out


def _new_instance(instances: np.ndarray) -> int:
    k = int(instances.max(initial=0)) + 1
    if k > np.iinfo(np.uint16).max:
        raise ValueError("65,535 objects committed: no label is left")
    return k
