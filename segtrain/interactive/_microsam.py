"""micro-sam's interactive protocol, so our tables stand beside its published ones.

Per true object (the object scope's objects and crops, `_objects.py`), from nothing (an empty
previous mask): a first point at the object's centre (the error clicker's click on an empty
mask: the pixel deepest inside the object), then up to 7 corrective points, each at the
centre of the largest error region (positive on a missed region, negative on a false one);
8 clicks in all (micro-sam's 1 + 7 iterations). A box as the first prompt has no equivalent:
our networks take clicks only.

After k clicks per object, each object's prediction is one predicted instance (the parts of
its mask in its crop, less other objects' pixels, connected to a positive click), pasted into
one label image (larger objects first, so a small one is not covered), and scored against the
prompted true objects by **mean segmentation accuracy**: for each IoU threshold t in
0.50, 0.55, ..., 0.95, one-to-one matches (Hungarian) with IoU >= t are TP, the other
predicted objects FP and the other true objects FN, SA(t) = TP / (TP + FP + FN); mSA is its
mean over the 10 thresholds (micro-sam's and empanada's metric;
`segtrain.match_instances(...).mean_accuracy`). mSA@k is averaged over images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..evaluate._instances import match_instances
from ..inference._config import RefineConfig
from ._clickers import ClickTrace
from ._objects import ObjectProblem, object_problems, object_user
from ._refine import Refinement

__all__ = ["MICROSAM_CLICKS", "MicroSamImage", "object_instance", "run_microsam"]

# micro-sam's iterative prompting: a first point and 7 corrections.
MICROSAM_CLICKS = 8


@dataclass(frozen=True, eq=False)
class MicroSamImage:
    """micro-sam's protocol on one image.

    Attributes
    ----------
    traces : list of (object id, ClickTrace), the IoU of each object after each click
    msa : tuple of float, mean segmentation accuracy after 0, 1, ..., max_clicks clicks per
        object (0 clicks: nothing predicted yet)
    n_objects : int, the prompted true objects
    """

    traces: list[tuple[int, ClickTrace]]
    msa: tuple[float, ...]
    n_objects: int


def object_instance(mask: np.ndarray, valid: np.ndarray, clicks) -> np.ndarray:
    """The predicted instance of one object: the 8-connected parts of `mask` inside `valid`
    that hold a positive click (none: empty); a bool array."""
    from scipy import ndimage

    m = (np.asarray(mask) > 0) & np.asarray(valid, bool)
    labels, _ = ndimage.label(m, structure=np.ones((3, 3), bool))
    ids = {int(labels[c.row, c.col]) for c in clicks if c.positive} - {0}
    return np.isin(labels, sorted(ids)) if ids else np.zeros_like(m)


def _empty(shape) -> Refinement:
    zeros = np.zeros(shape, np.float32)
    return Refinement(np.zeros(shape, np.uint8), zeros, zeros.copy(), (), 0.0)


def _paste(shape, problems: list[ObjectProblem], instances: list[np.ndarray]) -> np.ndarray:
    """One label image of the objects' predicted instances, larger objects first."""
    out = np.zeros(shape, np.int32)
    order = sorted(range(len(problems)), key=lambda i: -int(problems[i].target.sum()))
    for i in order:
        ry0, ry1, rx0, rx1 = problems[i].region
        out[ry0:ry1, rx0:rx1][instances[i]] = problems[i].oid
    return out


def run_microsam(
    run,
    x: np.ndarray,
    truth: np.ndarray,
    *,
    user,
    options: RefineConfig,
    clicker: str = "error",
    click_rng=None,
    rng=0,
) -> MicroSamImage:
    """micro-sam's protocol (module docstring) on one prepared image `x` with its truth mask;
    `user` (a `SimulatedUser`) gives the clicks per object (`MICROSAM_CLICKS` in the
    protocol), the stop and the objects."""
    labels, problems = object_problems(truth, user=user, context_px=options.context_px)
    click_rng = np.random.default_rng(click_rng)
    kw = {"clicker": clicker, "user": user, "options": options, "rng": rng}
    traces, per_k = [], []  # per_k[i][k]: object i's instance after k clicks
    for p in problems:
        start = _empty(p.target.shape)
        trace, masks = object_user(run, x, p, start, click_rng=click_rng, **kw)
        traces.append((p.oid, trace))
        inst = [
            object_instance(masks[min(k, len(masks) - 1)], p.valid, trace.clicks[:k])
            for k in range(user.max_clicks + 1)
        ]
        per_k.append(inst)
    gt = np.where(np.isin(labels, [p.oid for p in problems]), labels, 0)
    msa = []
    for k in range(user.max_clicks + 1):
        pred = _paste(labels.shape, problems, [inst[k] for inst in per_k])
        msa.append(match_instances(pred, gt).mean_accuracy)
    return MicroSamImage(traces, tuple(msa), len(problems))
