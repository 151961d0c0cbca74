"""Simulated users: where the next click goes, and the click loop that records the IoU.

Clickers (each labels its click from the truth, positive where the truth is object):

- ``error`` (RITM): the largest error region (4-connected; missed object and false object
  regions apart; a missed region first on equal areas), and in it the pixel farthest from the
  region's edge (Euclidean distance transform, the image border and earlier clicks counting as
  edge; on a plateau of equal depth the one nearest the plateau's centroid): its centre.
- ``uncertainty`` (DeepPI-EM): the best suggestion of the uncertainty map (`suggest_clicks`:
  the most uncertain pixels clustered, never inside an earlier click's disk). When no pixel is
  left to suggest, the error clicker's click (a person would click an error they see).
- ``random``: a pixel drawn uniformly from the error pixels.

No clicker gives a pixel already clicked, and a prediction without errors (inside `valid`)
stops the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from shapelib import InputError

from ..inference._clicks import Click
from ._suggest import suggest_clicks

__all__ = ["CLICKERS", "ClickTrace", "Clicker", "iou_counts", "next_click", "simulate_clicks"]

Clicker = Literal["error", "uncertainty", "random"]
CLICKERS: tuple[str, ...] = ("error", "uncertainty", "random")


def check_clicker(clicker: str) -> None:
    if clicker not in CLICKERS:
        raise InputError(f"unknown clicker {clicker!r}; choose one of: {', '.join(CLICKERS)}.")


def iou_counts(mask, truth, valid=None) -> tuple[int, int]:
    """(intersection, union) of foreground, counted inside `valid` (None: everywhere)."""
    p, t = np.asarray(mask) > 0, np.asarray(truth) > 0
    if valid is not None:
        v = np.asarray(valid, bool)
        p, t = p & v, t & v
    return int(np.count_nonzero(p & t)), int(np.count_nonzero(p | t))


def _iou(inter: int, union: int) -> float:
    return 1.0 if union == 0 else inter / union


def _clicked(shape, clicks) -> np.ndarray:
    out = np.zeros(shape, bool)
    for c in clicks:
        out[c.row, c.col] = True
    return out


def _error_click(fn: np.ndarray, fp: np.ndarray) -> Click | None:
    """The centre of the largest error region (missed object first on equal areas)."""
    from scipy import ndimage

    best = None  # (area, -kind, labels, id, positive)
    for kind, err in ((0, fn), (1, fp)):
        if not err.any():
            continue
        labels, n = ndimage.label(err)
        areas = np.bincount(labels.ravel())[1:]
        j = int(np.argmax(areas))
        if best is None or areas[j] > best[0]:
            best = (int(areas[j]), labels, j + 1, kind == 0)
    if best is None:
        return None
    _, labels, j, positive = best
    rows, cols = np.nonzero(labels == j)
    y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    region = np.pad(labels[y0:y1, x0:x1] == j, 1)
    dist = ndimage.distance_transform_edt(region)[1:-1, 1:-1]
    # The deepest pixels; on a plateau (a rectangle) the one nearest the plateau's centroid.
    rr, cc = np.nonzero(dist >= dist.max() - 1e-9)
    k = int(np.argmin((rr - rr.mean()) ** 2 + (cc - cc.mean()) ** 2))
    return Click(int(y0 + rr[k]), int(x0 + cc[k]), positive)


def next_click(
    mask: np.ndarray,
    truth: np.ndarray,
    *,
    clicker: Clicker = "error",
    clicks: Sequence[Click] = (),
    uncertainty: np.ndarray | None = None,
    valid: np.ndarray | None = None,
    radius_px: int = 20,
    rng=None,
) -> Click | None:
    """The simulated user's next click on a predicted `mask`, or None when it has no error.

    Parameters
    ----------
    mask, truth : (Y, X) arrays, prediction and truth (> 0 is object)
    clicker : "error", "uncertainty" or "random" (module docstring)
    clicks : earlier clicks (never given again; their disks are not suggested)
    uncertainty : (Y, X) array, needed by the uncertainty clicker
    valid : (Y, X) bool or None, where the user may click and errors count
    radius_px : click disk radius (suggestions keep out of earlier disks)
    """
    check_clicker(clicker)
    pred, true = np.asarray(mask) > 0, np.asarray(truth) > 0
    if pred.shape != true.shape:
        raise InputError(f"mask {pred.shape} and truth {true.shape} differ in shape.")
    allowed = ~_clicked(pred.shape, clicks)
    if valid is not None:
        allowed &= np.asarray(valid, bool)
    fn, fp = true & ~pred & allowed, pred & ~true & allowed
    if not (fn.any() or fp.any()):
        return None
    if clicker == "uncertainty":
        if uncertainty is None:
            raise InputError("the uncertainty clicker needs the uncertainty map.")
        best = suggest_clicks(uncertainty, clicks=clicks, n=3, radius_px=radius_px, valid=allowed)
        if best:
            s = best[0]
            return Click(s.row, s.col, bool(true[s.row, s.col]))
    if clicker == "random":
        rng = np.random.default_rng(rng)
        err = np.flatnonzero(fn | fp)
        r, c = np.unravel_index(int(err[rng.integers(err.size)]), pred.shape)
        return Click(int(r), int(c), bool(true[r, c]))
    return _error_click(fn, fp)


@dataclass(frozen=True)
class ClickTrace:
    """One simulated user's session on one image (or object).

    Attributes
    ----------
    ious : tuple of float, IoU after 0, 1, ... clicks (len = clicks made + 1)
    intersections, unions : tuples of int, the pixel counts behind each IoU
    clicks : tuple of Click, in order
    seconds : tuple of float, wall time of each click's prediction
    stop : str, why the loop ended: "max_clicks", "no_error" or "stop_iou"
    """

    ious: tuple[float, ...]
    intersections: tuple[int, ...]
    unions: tuple[int, ...]
    clicks: tuple[Click, ...]
    seconds: tuple[float, ...]
    stop: str


def simulate_clicks(
    predict: Callable,
    truth: np.ndarray,
    *,
    clicker: Clicker = "error",
    max_clicks: int = 20,
    first=None,
    valid: np.ndarray | None = None,
    radius_px: int = 20,
    stop_iou: float | None = None,
    rng=None,
) -> ClickTrace:
    """Run a simulated user: click, predict, score, up to `max_clicks` times.

    Parameters
    ----------
    predict : ``predict(clicks, previous) -> state`` with ``state.mask`` (Y, X) and
        ``state.uncertainty`` (for the uncertainty clicker): the prediction after `clicks`
        (a tuple of Click) from the `previous` state (e.g. `segtrain.refine_input`)
    truth : (Y, X) array, the object(s) the user wants
    first : the state without clicks, or None to get it as ``predict((), None)``
    valid : (Y, X) bool or None, where clicks go and the IoU is counted
    stop_iou : float or None, stop once the IoU reaches it (RITM's protocol)
    rng : seed or Generator (the random clicker)

    Returns
    -------
    ClickTrace
    """
    check_clicker(clicker)
    if max_clicks < 0:
        raise InputError(f"max_clicks must be >= 0; got {max_clicks}.")
    rng = np.random.default_rng(rng)
    state = first if first is not None else predict((), None)
    inter, union = iou_counts(state.mask, truth, valid)
    ious, inters, unions, clicks, secs = [_iou(inter, union)], [inter], [union], [], []
    stop = "max_clicks"
    while len(clicks) < max_clicks:
        if stop_iou is not None and ious[-1] >= stop_iou:
            stop = "stop_iou"
            break
        c = next_click(
            state.mask,
            truth,
            clicker=clicker,
            clicks=clicks,
            valid=valid,
            uncertainty=getattr(state, "uncertainty", None),
            radius_px=radius_px,
            rng=rng,
        )
        if c is None:
            stop = "no_error"
            break
        clicks.append(c)
        state = predict(tuple(clicks), state)
        inter, union = iou_counts(state.mask, truth, valid)
        ious.append(_iou(inter, union))
        inters.append(inter)
        unions.append(union)
        secs.append(float(getattr(state, "seconds", 0.0)))
    else:
        if stop_iou is not None and ious[-1] >= stop_iou:
            stop = "stop_iou"
    return ClickTrace(tuple(ious), tuple(inters), tuple(unions), tuple(clicks), tuple(secs), stop)
