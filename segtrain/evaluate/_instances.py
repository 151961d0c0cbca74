"""Instance matching: Hungarian assignment of predicted to true objects at IoU thresholds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from shapelib import InputError

__all__ = ["InstanceScores", "iou_matrix", "match_instances"]

THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


@dataclass(frozen=True)
class InstanceScores:
    """Instance scores per IoU threshold (arrays aligned with `thresholds`).

    accuracy = TP / (TP + FP + FN); f1 = 2TP / (2TP + FP + FN); panoptic quality
    pq = sum of matched IoU / (TP + FP/2 + FN/2). Both images empty: every score is 1.
    """

    thresholds: tuple[float, ...]
    n_pred: int
    n_gt: int
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    f1: np.ndarray
    accuracy: np.ndarray
    pq: np.ndarray

    def at(self, threshold: float) -> int:
        """Index of `threshold` in `thresholds`."""
        return int(np.argmin(np.abs(np.asarray(self.thresholds) - threshold)))

    @property
    def mean_accuracy(self) -> float:
        """Accuracy averaged over the thresholds (0.5:0.05:0.95 by default), mAP-style."""
        return float(np.mean(self.accuracy))

    def as_dict(self) -> dict[str, float]:
        """Flat per-image columns: counts and F1 at 0.5 and 0.75, PQ at 0.5, mean accuracy."""
        i50, i75 = self.at(0.5), self.at(0.75)
        return {
            "n_pred": self.n_pred,
            "n_gt": self.n_gt,
            "inst_tp50": int(self.tp[i50]),
            "inst_fp50": int(self.fp[i50]),
            "inst_fn50": int(self.fn[i50]),
            "inst_tp75": int(self.tp[i75]),
            "inst_fp75": int(self.fp[i75]),
            "inst_fn75": int(self.fn[i75]),
            "f1_50": float(self.f1[i50]),
            "f1_75": float(self.f1[i75]),
            "pq_50": float(self.pq[i50]),
            "mean_accuracy": self.mean_accuracy,
        }


def iou_matrix(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IoU of every (pred object, true object) pair from the label images' overlap counts.

    Returns
    -------
    iou : (n_pred, n_gt) float64; pred_ids, gt_ids : the label ids of the rows and columns
    """
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.shape != gt.shape:
        raise InputError(
            f"instance label shapes differ: prediction {pred.shape}, truth {gt.shape}."
        )
    p_ids, p_inv = np.unique(pred, return_inverse=True)
    g_ids, g_inv = np.unique(gt, return_inverse=True)
    # Contingency table (includes background 0 as row/column 0 when present).
    n_g = g_ids.size
    codes = p_inv.ravel().astype(np.int64) * n_g + g_inv.ravel()
    cont = np.bincount(codes, minlength=p_ids.size * n_g).reshape(p_ids.size, n_g)
    area_p = cont.sum(1)
    area_g = cont.sum(0)
    keep_p = p_ids != 0
    keep_g = g_ids != 0
    inter = cont[np.ix_(keep_p, keep_g)].astype(float)
    union = area_p[keep_p][:, None] + area_g[keep_g][None, :] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return iou, p_ids[keep_p], g_ids[keep_g]


def match_instances(
    pred: np.ndarray, gt: np.ndarray, *, thresholds: tuple[float, ...] = THRESHOLDS
) -> InstanceScores:
    """Match predicted to true objects one-to-one by the Hungarian method at each IoU threshold.

    At threshold t only pairs with IoU >= t may match; the assignment maximises the summed IoU of
    those pairs (scipy.optimize.linear_sum_assignment), so each object is used at most once.

    Parameters
    ----------
    pred, gt : (Y, X) or (Z, Y, X) ndarray of int, instance labels, 0 = background

    Returns
    -------
    InstanceScores

    Examples
    --------
    >>> a = np.zeros((6, 6), int); a[1:3, 1:3] = 1; a[4:6, 4:6] = 2
    >>> float(match_instances(a, a).f1[0])
    1.0
    """
    iou, p_ids, g_ids = iou_matrix(pred, gt)
    n_p, n_g = len(p_ids), len(g_ids)
    tps, fps, fns, f1s, accs, pqs = [], [], [], [], [], []
    for t in thresholds:
        if n_p and n_g:
            valid = np.where(iou >= t, iou, 0.0)
            rows, cols = linear_sum_assignment(valid, maximize=True)
            matched = valid[rows, cols]
            matched = matched[matched >= t]
        else:
            matched = np.zeros(0)
        tp = int(matched.size)
        fp, fn = n_p - tp, n_g - tp
        empty = n_p == 0 and n_g == 0
        tps.append(tp)
        fps.append(fp)
        fns.append(fn)
        f1s.append(1.0 if empty else 2 * tp / (2 * tp + fp + fn))
        accs.append(1.0 if empty else tp / (tp + fp + fn))
        den = tp + fp / 2 + fn / 2
        pqs.append(1.0 if empty else float(matched.sum() / den))
    return InstanceScores(
        thresholds=tuple(thresholds),
        n_pred=n_p,
        n_gt=n_g,
        tp=np.array(tps),
        fp=np.array(fps),
        fn=np.array(fns),
        f1=np.array(f1s),
        accuracy=np.array(accs),
        pq=np.array(pqs),
    )
