"""The simulated-user evaluation: IoU after each click, mIoU@k and NoC@t, and how well the
uncertainty map points at the errors.

Conventions (what `mitoshape clicks` writes):

- **IoU** is foreground IoU (Jaccard) of the mask (mean probability >= 0.5) against the truth;
  both empty counts 1. Click 0 is the prediction without clicks.
- **Scopes.** ``image``: the whole image is one object (all its foreground), clicks go anywhere
  and every click re-predicts a window around it, as in the web app (DeepPI-EM's way).
  ``object``: RITM's per-object protocol for each true mitochondrion (a 4-connected component
  of the truth mask of at least `min_object_px` pixels): the crop is its bounding box grown by
  40 % of its size on each side (at least `min_crop_px` per side, inside the image); the model
  re-predicts that crop (with `context_px` of image around it) after each click, starting from
  the image's zero-click prediction; the target is that object alone, and pixels of other true
  objects in the crop are ignored (never clicked, not counted).
- After the loop stops (no error left, or `stop_iou` reached), the last IoU is carried forward
  to `max_clicks` (rows with ``clicked`` false in ``clicks.csv``).
- **mIoU@k**: the mean over images (or objects) of the IoU after k clicks, k = 0..max_clicks;
  ``pooled_iou@k`` pools the pixel counts instead.
- **NoC@t**: the first click count k in 0..max_clicks whose IoU >= t (0 when the prediction
  without clicks already reaches it); `max_clicks` (20) when never, and those are counted as
  ``nof@t`` (number of failures). mean NoC@t averages over images (or objects). With
  `stop_iou`, thresholds above it count as never reached.
- **Uncertainty quality** (at 0 clicks): a pixel is wrong where mask != truth. AUROC of the
  per-pixel std as a detector of wrong pixels (ties averaged; NaN without wrong or right
  pixels), and the share of all wrong pixels that lie in the top 1 % / 5 % most uncertain pixels
  (exactly that many pixels; pixels tied at the cut count in proportion, the expected share under
  random tie-breaking). Pooled over all pixels of all images, and per image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shapelib import InputError

from ..inference._config import RefineConfig
from ._clickers import CLICKERS, ClickTrace, simulate_clicks
from ._objects import object_crops, object_problems, object_user
from ._refine import Refinement

__all__ = [
    "MIOU_AT",
    "SCOPES",
    "SimulatedUser",
    "THRESHOLDS",
    "UncertaintyScores",
    "auroc",
    "iou_curve",
    "noc",
    "object_crops",
    "run_object_scope",
    "run_image_scope",
    "summarize_traces",
    "trace_rows",
    "uncertainty_quality",
]

THRESHOLDS: tuple[float, ...] = (0.85, 0.90, 0.95)
MIOU_AT: tuple[int, ...] = (0, 1, 3, 5, 10, 20)
SCOPES: tuple[str, ...] = ("image", "object", "microsam")


class SimulatedUser(BaseModel):
    """The simulated user of `segtrain.clicks_folder`: how many clicks, by which clickers, in
    which scopes, when it stops, and which true objects the object scope takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_clicks: int = Field(
        20, ge=0, le=1000, description="Clicks per image or object; 0 scores the run alone."
    )
    clickers: tuple[str, ...] = Field(
        ("error", "uncertainty"), description="Clickers to run (error, uncertainty, random)."
    )
    scopes: tuple[str, ...] = Field(
        ("image",),
        description="image (the whole image as one object), object (RITM, per mitochondrion) "
        "or microsam (micro-sam's protocol: per object from nothing, a point then corrections; "
        "mean segmentation accuracy).",
    )
    stop_iou: float | None = Field(
        None, gt=0, le=1, description="Stop a user once its IoU reaches this (None: never)."
    )
    min_object_px: int = Field(64, ge=1, description="Object scope: least object area, pixels.")
    min_crop_px: int = Field(96, ge=1, description="Object scope: least side of its crop, pixels.")

    @model_validator(mode="after")
    def _known_choices(self):
        bad = [s for s in self.scopes if s not in SCOPES]
        bad += [c for c in self.clickers if c not in CLICKERS]
        if bad or not self.scopes or not self.clickers:
            raise InputError(
                f"choose scopes from {', '.join(SCOPES)} and clickers from "
                f"{', '.join(CLICKERS)}; got scopes {list(self.scopes)}, clickers "
                f"{list(self.clickers)}."
            )
        return self

    def replace(self, **changes) -> SimulatedUser:
        """A copy with `changes` applied (validated)."""
        return SimulatedUser(**{**self.model_dump(), **changes})


# --- bookkeeping ------------------------------------------------------------------------------


def iou_curve(ious: Sequence[float], max_clicks: int) -> np.ndarray:
    """IoU after 0..max_clicks clicks, the last value carried forward (len max_clicks + 1)."""
    a = np.asarray(ious, np.float64)[: max_clicks + 1]
    return np.concatenate([a, np.full(max_clicks + 1 - len(a), a[-1])])


def noc(ious: Sequence[float], threshold: float, max_clicks: int) -> tuple[int, bool]:
    """(NoC@threshold, reached): the first k with IoU >= threshold, or (max_clicks, False)."""
    curve = iou_curve(ious, max_clicks)
    hit = np.flatnonzero(curve >= threshold)
    return (int(hit[0]), True) if hit.size else (int(max_clicks), False)


def trace_rows(trace: ClickTrace, max_clicks: int, **keys) -> list[dict]:
    """One row per click count 0..max_clicks (`keys` prefixed): iou, intersection, union,
    the click (row, col, positive), its seconds, and ``clicked`` (False once carried forward)."""
    rows = []
    n = len(trace.ious)
    for k in range(max_clicks + 1):
        j = min(k, n - 1)
        c = trace.clicks[k - 1] if 1 <= k <= len(trace.clicks) else None
        rows.append(
            {
                **keys,
                "clicks": k,
                "iou": trace.ious[j],
                "intersection": trace.intersections[j],
                "union": trace.unions[j],
                "clicked": k < n,
                "row": c.row if c else None,
                "col": c.col if c else None,
                "positive": c.positive if c else None,
                "seconds": trace.seconds[k - 1] if 1 <= k <= len(trace.seconds) else None,
                "stop": trace.stop,
            }
        )
    return rows


def summarize_traces(table, *, max_clicks: int, thresholds=THRESHOLDS):
    """Per (scope, clicker): n, mIoU@k and pooled IoU@k for k = 0..max_clicks, mean NoC@t and
    NoF@t, and the mean seconds per click. `table`: rows of `trace_rows` (a DataFrame with
    scope, clicker, image, object).

    Returns
    -------
    summary : DataFrame, one row per (scope, clicker)
    curves : DataFrame (scope, clicker, clicks, miou, pooled_iou)
    """
    import pandas as pd

    rows, curves = [], []
    for (scope, clicker), t in table.groupby(["scope", "clicker"], sort=False):
        by_k = t.groupby("clicks")
        miou = by_k["iou"].mean()
        pooled = by_k["intersection"].sum() / by_k["union"].sum().clip(lower=1)
        for k in range(max_clicks + 1):
            curves.append(
                {
                    "scope": scope,
                    "clicker": clicker,
                    "clicks": k,
                    "miou": float(miou[k]),
                    "pooled_iou": float(pooled[k]),
                }
            )
        row = {"scope": scope, "clicker": clicker, "n": int(t.groupby(["image", "object"]).ngroups)}
        row |= {f"miou@{k}": float(miou[k]) for k in range(max_clicks + 1)}
        row |= {f"pooled_iou@{k}": float(pooled[k]) for k in range(max_clicks + 1)}
        traces = [
            g.sort_values("clicks")["iou"].to_numpy() for _, g in t.groupby(["image", "object"])
        ]
        for th in thresholds:
            res = [noc(curve, th, max_clicks) for curve in traces]
            tag = round(100 * th)
            row[f"noc@{tag}"] = float(np.mean([r[0] for r in res]))
            row[f"nof@{tag}"] = int(sum(not r[1] for r in res))
        secs = t.loc[t["clicked"] & (t["clicks"] > 0), "seconds"].astype(float)
        row["seconds_per_click"] = float(secs.mean()) if len(secs) else math.nan
        rows.append(row)
    return pd.DataFrame(rows), pd.DataFrame(curves)


# --- uncertainty quality ----------------------------------------------------------------------


@dataclass(frozen=True)
class UncertaintyScores:
    """How well an uncertainty map finds the wrong pixels (module docstring).

    Attributes
    ----------
    auroc : float, AUROC of the std as a detector of wrong pixels (NaN: one class only)
    wrong_in_top : dict fraction -> share of all wrong pixels among the top fraction
    wrong_fraction : float, share of pixels that are wrong
    n_pixels : int
    """

    auroc: float
    wrong_in_top: dict
    wrong_fraction: float
    n_pixels: int

    def row(self) -> dict:
        out = {
            "auroc": self.auroc,
            "wrong_fraction": self.wrong_fraction,
            "n_pixels": self.n_pixels,
        }
        out |= {f"wrong_in_top{round(100 * q)}pct": v for q, v in self.wrong_in_top.items()}
        return out


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of `scores` for binary `labels` (Mann-Whitney, ties averaged)."""
    from scipy.stats import rankdata

    s = np.asarray(scores, np.float64).ravel()
    y = np.asarray(labels, bool).ravel()
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def uncertainty_quality(
    std: np.ndarray, mask: np.ndarray, truth: np.ndarray, *, tops: Sequence[float] = (0.01, 0.05)
) -> UncertaintyScores:
    """`UncertaintyScores` of an uncertainty map against the errors of `mask` (any shape:
    pooled scores take the concatenated pixels of several images)."""
    u = np.asarray(std, np.float64).ravel()
    wrong = ((np.asarray(mask) > 0) != (np.asarray(truth) > 0)).ravel()
    n_wrong = int(wrong.sum())
    share = {}
    for q in tops:
        k = min(u.size, max(1, math.ceil(q * u.size)))
        cut = np.partition(u, u.size - k)[u.size - k]  # the k-th largest value
        above, at = u > cut, u == cut
        # Pixels tied at the cut count in proportion: the expected share when ties are broken
        # at random.
        got = wrong[above].sum() + wrong[at].sum() * (k - above.sum()) / max(at.sum(), 1)
        share[q] = float(got / n_wrong) if n_wrong else math.nan
    return UncertaintyScores(auroc(u, wrong), share, n_wrong / max(u.size, 1), int(u.size))


# --- the two scopes ---------------------------------------------------------------------------


def _first_state(prob, unc, threshold) -> Refinement:
    return Refinement((prob >= threshold).astype(np.uint8), prob, unc, (), 0.0, (), None)


def run_image_scope(
    run,
    x: np.ndarray,
    truth: np.ndarray,
    first: Refinement,
    *,
    clicker: str,
    user: SimulatedUser,
    options: RefineConfig,
    click_rng=None,
    rng=0,
) -> ClickTrace:
    """One simulated user on a whole image: `run` (a `segtrain.Run`) refines its prepared
    input `x` from the zero-click state `first`; `click_rng` draws the random clicker's clicks,
    `rng` the latent samples."""
    quiet = options.replace(n_suggestions=0)

    def predict(clicks, prev):
        return run.refine(x, clicks, prev, options=quiet, rng=rng, prepared=True)

    return simulate_clicks(
        predict,
        truth,
        clicker=clicker,
        max_clicks=user.max_clicks,
        first=first,
        radius_px=run.click_radius_px,
        stop_iou=user.stop_iou,
        rng=click_rng,
    )


def run_object_scope(
    run,
    x: np.ndarray,
    truth: np.ndarray,
    first: Refinement,
    *,
    clicker: str,
    user: SimulatedUser,
    options: RefineConfig,
    click_rng=None,
    rng=0,
) -> list[tuple[int, ClickTrace]]:
    """RITM's per-object protocol on one image: (object id, trace) per true object
    (`run_image_scope`'s arguments); each object starts from the image's zero-click state."""
    _, problems = object_problems(truth, user=user, context_px=options.context_px)
    threshold = run.config.threshold
    click_rng = np.random.default_rng(click_rng)
    out = []
    for p in problems:
        ry0, ry1, rx0, rx1 = p.region
        prob = first.probability[ry0:ry1, rx0:rx1].copy()
        start = _first_state(prob, first.uncertainty[ry0:ry1, rx0:rx1].copy(), threshold)
        kw = {"clicker": clicker, "user": user, "options": options, "rng": rng}
        trace, _ = object_user(run, x, p, start, click_rng=click_rng, **kw)
        out.append((p.oid, trace))
    return out
