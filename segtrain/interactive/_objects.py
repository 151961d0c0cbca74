"""The simulated user per true object (RITM's object scope, micro-sam's protocol): each
object's crop, its sub-problem (the crop with context, the pixels that count) and one user
clicking on it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._clickers import simulate_clicks

__all__ = ["ObjectProblem", "object_crops", "object_problems", "object_user"]


def object_crops(truth: np.ndarray, *, min_object_px: int = 64, min_crop_px: int = 96):
    """Per true object (4-connected, >= min_object_px): (id, box, labels) with box the
    bounding box grown by 40 % per side (at least min_crop_px per side, inside the image)."""
    from scipy import ndimage

    labels, n = ndimage.label(np.asarray(truth) > 0)
    h, w = labels.shape
    out = []
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None or np.count_nonzero(labels[sl] == i) < min_object_px:
            continue
        box = []
        for s, size in zip(sl, (h, w), strict=True):
            a, b = s.start, s.stop
            grow = max(round(0.4 * (b - a)), (min_crop_px - (b - a) + 1) // 2, 0)
            a, b = max(a - grow, 0), min(b + grow, size)
            box += [a, b]
        out.append((i, tuple(int(v) for v in box)))
    return labels, out


@dataclass(frozen=True, eq=False)
class ObjectProblem:
    """One true object's sub-problem (RITM's object scope): `region` (row0, row1, col0, col1)
    is its crop with `context_px` of image around it, `window` the crop inside the region, and
    on the region's grid `target` (the object) and `valid` (the crop, less other objects'
    pixels: where clicks go and pixels count)."""

    oid: int
    region: tuple[int, int, int, int]
    window: tuple[int, int, int, int]
    target: np.ndarray
    valid: np.ndarray


def object_problems(
    truth: np.ndarray, *, user, context_px: int
) -> tuple[np.ndarray, list[ObjectProblem]]:
    """(the truth's labels, an `ObjectProblem` per true object of `object_crops`); `user` (a
    `SimulatedUser`) gives the least object area and crop side."""
    kw = {"min_object_px": user.min_object_px, "min_crop_px": user.min_crop_px}
    labels, crops = object_crops(truth, **kw)
    m, (h, w) = context_px, labels.shape
    out = []
    for oid, (y0, y1, x0, x1) in crops:
        ry0, ry1 = max(y0 - m, 0), min(y1 + m, h)
        rx0, rx1 = max(x0 - m, 0), min(x1 + m, w)
        sub_labels = labels[ry0:ry1, rx0:rx1]
        target = sub_labels == oid
        valid = np.zeros(target.shape, bool)
        valid[y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0] = True
        valid &= (sub_labels == 0) | target
        window = (y0 - ry0, y1 - ry0, x0 - rx0, x1 - rx0)
        out.append(ObjectProblem(oid, (ry0, ry1, rx0, rx1), window, target, valid))
    return labels, out


def object_user(run, x, problem: ObjectProblem, start, *, clicker, user, options, rng, click_rng):
    """One simulated user on one object's sub-problem from the state `start` (on the region's
    grid); (the trace, the mask after 0, 1, ... clicks)."""
    ry0, ry1, rx0, rx1 = problem.region
    sub_x = x[:, ry0:ry1, rx0:rx1]
    quiet = options.replace(n_suggestions=0)
    masks = [start.mask]

    def predict(clicks, prev):
        state = run.refine(
            sub_x, clicks, prev, options=quiet, window=problem.window, rng=rng, prepared=True
        )
        masks.append(state.mask)
        return state

    trace = simulate_clicks(
        predict,
        problem.target,
        clicker=clicker,
        max_clicks=user.max_clicks,
        first=start,
        valid=problem.valid,
        radius_px=run.click_radius_px,
        stop_iou=user.stop_iou,
        rng=click_rng,
    )
    return trace, masks
