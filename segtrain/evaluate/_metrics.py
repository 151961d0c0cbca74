"""Per-image segmentation metrics and their summaries, with the conventions stated.

Conventions (see REFERENCES.md, "Segmentation and quantification"):

- **IoU** is the foreground Jaccard index ``TP / (TP + FP + FN)``. The mean of foreground and
  background Jaccard, which some papers print as "IoU", is reported separately as
  ``iou_mean_fg_bg``.
- **Empty images**: a ratio whose denominator is 0 (for example Dice when prediction and truth are
  both empty, precision when nothing is predicted) is 1.0 when prediction and truth are both
  empty (perfect agreement) and 0.0 otherwise.
- **Betti numbers** of a binary image: b0 = foreground components, b1 = holes = background
  components that do not touch the image border (the outside counts as background). By default the
  foreground is 4-connected and the background 8-connected (the construction of Stucki et al.,
  ICML 2023); ``connectivity=8`` swaps them. The Betti error is ``|db0| + |db1|`` per image, after
  thresholding the prediction at 0.5.
- **Summaries**: ``*_mean`` and ``*_std`` over images (sample std, ddof=1; 0 for one image) and,
  for the pixel scores, ``*_pooled`` from the confusion counts summed over all images.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage as ndi

from shapelib import InputError

from ._instances import match_instances

__all__ = [
    "Connectivity",
    "EvaluationResult",
    "evaluate_images",
    "binary_scores",
    "betti_numbers",
    "betti_error",
    "evaluate_pair",
    "summarize",
]

# Foreground pixel connectivity of 2D masks (the background gets the other one).
Connectivity = Literal[4, 8]

PIXEL_SCORES = ("dice", "iou", "iou_mean_fg_bg", "precision", "recall", "accuracy")


def _ratio(num: float, den: float, both_empty: bool) -> float:
    if den == 0:
        return 1.0 if both_empty else 0.0
    return float(num / den)


def _as_bool(a: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == bool:
        return a
    if a.dtype.kind == "f":
        return a >= threshold
    return a > 0


def _scores_from_counts(tp: float, fp: float, fn: float, tn: float) -> dict[str, float]:
    both_empty = tp + fp + fn == 0
    iou = _ratio(tp, tp + fp + fn, both_empty)
    iou_bg = _ratio(tn, tn + fp + fn, tn + fp + fn == 0)
    return {
        "dice": _ratio(2 * tp, 2 * tp + fp + fn, both_empty),
        "iou": iou,
        "iou_mean_fg_bg": (iou + iou_bg) / 2,
        "precision": _ratio(tp, tp + fp, both_empty),
        "recall": _ratio(tp, tp + fn, both_empty),
        "accuracy": _ratio(tp + tn, tp + fp + fn + tn, True),
    }


def binary_scores(pred: np.ndarray, gt: np.ndarray, *, threshold: float = 0.5) -> dict[str, float]:
    """Pixel scores of a binary prediction against a binary truth.

    Parameters
    ----------
    pred : (Y, X) or (Z, Y, X) ndarray; float = probability (>= threshold is foreground),
        integer or bool = mask (> 0 is foreground)
    gt : ndarray of the same shape, mask or instance labels (> 0 is foreground)

    Returns
    -------
    dict with tp, fp, fn, tn (pixel counts) and dice, iou (foreground), iou_mean_fg_bg,
    precision, recall, accuracy.

    Examples
    --------
    >>> m = np.zeros((4, 4), bool); m[1:3, 1:3] = True
    >>> binary_scores(m, m)["dice"]
    1.0
    """
    p = _as_bool(pred, threshold)
    g = _as_bool(gt)
    if p.shape != g.shape:
        raise InputError(f"prediction shape {p.shape} differs from ground truth {g.shape}.")
    tp = int(np.count_nonzero(p & g))
    fp = int(np.count_nonzero(p & ~g))
    fn = int(np.count_nonzero(~p & g))
    tn = int(p.size - tp - fp - fn)
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, **_scores_from_counts(tp, fp, fn, tn)}


def _structure(connectivity: Connectivity) -> np.ndarray:
    if connectivity == 4:
        return ndi.generate_binary_structure(2, 1)
    if connectivity == 8:
        return ndi.generate_binary_structure(2, 2)
    raise InputError(f"connectivity must be 4 or 8; got {connectivity}.")


def betti_numbers(mask: np.ndarray, *, connectivity: Connectivity = 4) -> tuple[int, int]:
    """Betti numbers (b0, b1) of a 2D binary image.

    Parameters
    ----------
    mask : (Y, X) ndarray, > 0 (or True) is foreground
    connectivity : 4 or 8, of the foreground; the background gets the other one

    Returns
    -------
    (b0, b1) : foreground components, holes

    Examples
    --------
    >>> ring = np.ones((5, 5), bool); ring[2, 2] = False
    >>> betti_numbers(ring)
    (1, 1)
    """
    m = _as_bool(mask)
    if m.ndim != 2:
        raise InputError(f"betti_numbers needs a 2D image; got shape {m.shape}.")
    b0 = int(ndi.label(m, structure=_structure(connectivity))[1])
    # Holes: background components not connected to the outside (pad with background).
    bg = np.pad(~m, 1, constant_values=True)
    n_bg = int(ndi.label(bg, structure=_structure(12 - connectivity))[1])
    return b0, n_bg - 1


def betti_error(
    pred: np.ndarray, gt: np.ndarray, *, connectivity: Connectivity = 4, threshold: float = 0.5
) -> dict[str, int]:
    """Betti-number error of one 2D image: ``betti0_error``, ``betti1_error`` and their sum.

    `pred` may be a probability (thresholded at `threshold`) or a mask.
    """
    p0, p1 = betti_numbers(_as_bool(pred, threshold), connectivity=connectivity)
    g0, g1 = betti_numbers(_as_bool(gt), connectivity=connectivity)
    return {
        "betti0_error": abs(p0 - g0),
        "betti1_error": abs(p1 - g1),
        "betti_error": abs(p0 - g0) + abs(p1 - g1),
    }


def evaluate_pair(
    pred: np.ndarray,
    gt: np.ndarray,
    *,
    pred_instances: np.ndarray | None = None,
    gt_instances: np.ndarray | None = None,
    threshold: float = 0.5,
    connectivity: Connectivity = 4,
) -> dict[str, float]:
    """All per-image metrics of one prediction: pixel scores, Betti errors, instance matching.

    Instances are the given label images, else the connected components of the mask with the
    foreground `connectivity`.

    Returns
    -------
    dict: tp, fp, fn, tn, dice, iou, iou_mean_fg_bg, precision, recall, accuracy, betti0_error,
    betti1_error, betti_error, n_pred, n_gt, inst_tp50, inst_fp50, inst_fn50, inst_tp75,
    inst_fp75, inst_fn75, f1_50, f1_75, pq_50, mean_accuracy (over IoU 0.5:0.05:0.95).
    """
    p = _as_bool(pred, threshold)
    g = _as_bool(gt)
    out: dict[str, float] = binary_scores(p, g)
    out.update(betti_error(p, g, connectivity=connectivity))
    st = _structure(connectivity)
    pi = pred_instances if pred_instances is not None else ndi.label(p, structure=st)[0]
    gi = gt_instances if gt_instances is not None else ndi.label(g, structure=st)[0]
    inst = match_instances(pi, gi)
    out.update(inst.as_dict())
    return out


def summarize(per_image) -> dict[str, float]:
    """Mean and std over images of every numeric column, plus pooled pixel and instance scores.

    Parameters
    ----------
    per_image : pandas.DataFrame, one row per image as returned by `evaluate_pair`

    Returns
    -------
    dict: ``<metric>_mean``, ``<metric>_std`` (ddof=1), ``<score>_pooled`` for dice, iou,
    iou_mean_fg_bg, precision, recall, accuracy (from summed tp/fp/fn/tn), ``f1_50_pooled`` and
    ``f1_75_pooled`` (from summed instance counts), and ``n_images``.
    """
    df = per_image.select_dtypes("number")
    out: dict[str, float] = {"n_images": int(len(df))}
    for col in df.columns:
        if col in ("tp", "fp", "fn", "tn") or col.startswith("inst_"):
            continue
        out[f"{col}_mean"] = float(df[col].mean())
        out[f"{col}_std"] = float(df[col].std(ddof=1)) if len(df) > 1 else 0.0
    if {"tp", "fp", "fn", "tn"} <= set(df.columns):
        tot = {k: float(df[k].sum()) for k in ("tp", "fp", "fn", "tn")}
        pooled = _scores_from_counts(tot["tp"], tot["fp"], tot["fn"], tot["tn"])
        out.update({f"{k}_pooled": v for k, v in pooled.items()})
    for t in ("50", "75"):
        cols = [f"inst_tp{t}", f"inst_fp{t}", f"inst_fn{t}"]
        if set(cols) <= set(df.columns):
            tp, fp, fn = (float(df[c].sum()) for c in cols)
            out[f"f1_{t}_pooled"] = _ratio(2 * tp, 2 * tp + fp + fn, tp + fp + fn == 0)
    return out


@dataclass(frozen=True)
class EvaluationResult:
    """Per-image metrics (one row per image) and their summary (mean, std, pooled; named)."""

    per_image: object  # pandas.DataFrame
    summary: dict

    def summary_table(self):
        """The summary as a one-column DataFrame (metric -> value)."""
        import pandas as pd

        return pd.Series(self.summary, name="value").to_frame()


def evaluate_images(
    images: Iterable[tuple], *, threshold: float = 0.5, connectivity: Connectivity = 4
) -> EvaluationResult:
    """`evaluate_pair` of every image and the `summarize` of them all.

    Parameters
    ----------
    images : iterable of ``(name, pred, pred_instances, gt, gt_instances)``, the arrays as
        `evaluate_pair` takes them (instances may be None), one tuple per image

    Returns
    -------
    EvaluationResult, ``per_image`` (DataFrame: name + `evaluate_pair` columns, in the given
    order) and ``summary``
    """
    import pandas as pd

    rows = []
    for name, pred, pred_inst, gt, gt_inst in images:
        if np.shape(pred) != np.shape(gt):
            raise InputError(
                f"the prediction of image {name!r} has shape {np.shape(pred)} but its truth has "
                f"{np.shape(gt)}; predict at the truth's size."
            )
        row = evaluate_pair(
            pred,
            gt,
            pred_instances=pred_inst,
            gt_instances=gt_inst,
            threshold=threshold,
            connectivity=connectivity,
        )
        rows.append({"name": name, **row})
    per_image = pd.DataFrame(rows)
    return EvaluationResult(per_image=per_image, summary=summarize(per_image))
