"""Is a heatmap faithful to the model? Deletion curves against random and inverse order, and
the share of the heatmap's mass inside the explained mask.

Deletion (Petsiuk et al. 2018, RISE): replace the most-attributed pixels first by a blurred copy
of the image, in steps of 5 % of the pixels, and follow the model's foreground score (its mean
probability over the explained mask). A faithful heatmap makes the score fall fast, so the area
under the curve (fraction deleted 0..1 on x, score on y) is small: smaller than for a random
order, and smaller still than for the inverse order (least attributed first). A heatmap whose
area is not below every random order's is reported as no better than random.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DeletionConfig",
    "Faithfulness",
    "blur_sigma_for",
    "blurred_copy",
    "deletion_curve",
    "deletion_order",
    "mass_in_mask",
    "measure_faithfulness",
    "random_curves",
]

ScoreFn = Callable[[np.ndarray], float]


class DeletionConfig(BaseModel):
    """How deletion curves are measured (`measure_faithfulness`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: float = Field(
        0.05, gt=0, le=0.5, description="Share of the pixels deleted per step (0.05 = 5 %)."
    )
    blur_sigma_px: float | None = Field(
        None,
        gt=0,
        description="Gaussian sigma of the blurred baseline, pixels; None: the equivalent "
        "diameter of the largest explained object (`blur_sigma_for`).",
    )
    n_random: int = Field(2, ge=1, le=100, description="Random deletion orders to compare.")


@dataclass(frozen=True, eq=False)
class Faithfulness:
    """Deletion curves and their areas for one heatmap.

    Attributes
    ----------
    fractions : (K,) ndarray, share of pixels deleted at each step (0 .. 1)
    heatmap_curve, inverse_curve : (K,) ndarray, the score along the heatmap's order (most
        attributed first) and the inverse order
    random_curves : (R, K) ndarray, the score along R random orders
    auc, auc_inverse : float, areas under the heatmap and inverse curves
    auc_random, auc_random_std : float, mean and std of the random curves' areas
    mass_in_mask : float, share of the heatmap's sum inside the explained mask (NaN if all 0)
    mask_fraction : float, share of pixels in the mask (what a uniform heatmap would score)
    better_than_random : bool, ``auc`` below every random order's area
    """

    fractions: np.ndarray = field(repr=False)
    heatmap_curve: np.ndarray = field(repr=False)
    inverse_curve: np.ndarray = field(repr=False)
    random_curves: np.ndarray = field(repr=False)
    auc: float
    auc_inverse: float
    auc_random: float
    auc_random_std: float
    mass_in_mask: float
    mask_fraction: float
    better_than_random: bool

    @property
    def verdict(self) -> str:
        """ "better than random", "no better than random", or why there is no verdict."""
        if not np.isfinite(self.auc):
            return "no verdict (empty target)"
        if not np.isfinite(self.mass_in_mask):
            return "no better than random (empty heatmap)"
        return "better than random" if self.better_than_random else "no better than random"

    def row(self) -> dict:
        """The scalar fields and the verdict, for a table."""
        return {
            "score_start": float(self.heatmap_curve[0]),
            "auc_deletion": self.auc,
            "auc_inverse": self.auc_inverse,
            "auc_random": self.auc_random,
            "auc_random_std": self.auc_random_std,
            "mass_in_mask": self.mass_in_mask,
            "mask_fraction": self.mask_fraction,
            "better_than_random": self.better_than_random,
            "verdict": self.verdict,
        }


def blurred_copy(x: np.ndarray, *, sigma_px: float = 10.0) -> np.ndarray:
    """Gaussian blur of each channel of a (C, Y, X) input (reflecting at the borders)."""
    from scipy.ndimage import gaussian_filter

    x = np.asarray(x, np.float32)
    return np.stack([gaussian_filter(ch, sigma_px, mode="reflect") for ch in x])


def blur_sigma_for(mask: np.ndarray, *, min_px: float = 2.0) -> float:
    """A blur that erases the explained objects: the equivalent diameter (sqrt(4 A / pi)) of
    the mask's largest 4-connected object, at least `min_px`.

    A smaller blur leaves a large object as a bright (or dark) blob the model still finds, so
    deletion would measure the blur instead of the heatmap.
    """
    from scipy.ndimage import label

    lab, n = label(np.asarray(mask) > 0)
    if n == 0:
        return float(min_px)
    largest = np.bincount(lab.ravel())[1:].max()
    return float(max(min_px, np.sqrt(4 * largest / np.pi)))


def deletion_order(heatmap: np.ndarray, rng=None) -> np.ndarray:
    """Flat pixel indices, most attributed first; ties in random order (seeded by `rng`)."""
    rng = np.random.default_rng(rng)
    h = np.asarray(heatmap, np.float64).ravel()
    tiebreak = rng.permutation(h.size)
    return np.lexsort((tiebreak, -h))


def deletion_curve(
    score: ScoreFn, x: np.ndarray, baseline: np.ndarray, order: np.ndarray, *, step: float = 0.05
) -> np.ndarray:
    """The score after deleting the first 0, step, 2 step, ..., 1 of the pixels in `order`.

    Parameters
    ----------
    score : callable (C, Y, X) input -> float
    x, baseline : (C, Y, X) ndarrays, the input and what deleted pixels become
    order : flat pixel indices (Y * X), first deleted first
    """
    n = x.shape[-1] * x.shape[-2]
    cuts = np.round(_fractions(step) * n).astype(int)
    flat_x = np.array(x, np.float32).reshape(x.shape[0], -1)
    flat_b = np.asarray(baseline, np.float32).reshape(x.shape[0], -1)
    out, done = [], 0
    for c in cuts:
        idx = order[done:c]
        flat_x[:, idx] = flat_b[:, idx]
        done = c
        out.append(score(flat_x.reshape(x.shape)))
    return np.asarray(out, np.float64)


def _fractions(step: float) -> np.ndarray:
    k = int(round(1 / step))
    return np.linspace(0.0, 1.0, k + 1)


def _auc(curve: np.ndarray, fractions: np.ndarray) -> float:
    # The trapezoid rule, written out (np.trapezoid needs NumPy >= 2).
    return float(np.sum((curve[1:] + curve[:-1]) / 2 * np.diff(fractions)))


def random_curves(
    score: ScoreFn,
    x: np.ndarray,
    baseline: np.ndarray,
    *,
    n: int = 2,
    step: float = 0.05,
    rng=None,
) -> np.ndarray:
    """Deletion curves (n, K) of `n` random pixel orders: the same for every heatmap of one
    image and target, so they can be shared between layers and methods."""
    rng = np.random.default_rng(rng)
    size = x.shape[-1] * x.shape[-2]
    return np.stack(
        [deletion_curve(score, x, baseline, rng.permutation(size), step=step) for _ in range(n)]
    )


def mass_in_mask(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """Share of the (non-negative) heatmap's sum inside `mask`; NaN for an all-zero heatmap."""
    h = np.clip(np.asarray(heatmap, np.float64), 0, None)
    total = h.sum()
    return float(h[np.asarray(mask) > 0].sum() / total) if total > 0 else float("nan")


def measure_faithfulness(
    score: ScoreFn,
    x: np.ndarray,
    heatmap: np.ndarray,
    mask: np.ndarray,
    *,
    baseline: np.ndarray | None = None,
    randoms: np.ndarray | None = None,
    step: float = 0.05,
    blur_sigma_px: float | None = None,
    n_random: int = 2,
    rng=None,
) -> Faithfulness:
    """Deletion curves of a heatmap, its inverse and random orders, and its mass in the mask.

    Parameters
    ----------
    score : callable (C, Y, X) input -> float, the model's foreground score (e.g. its mean
        probability over `mask`)
    x : (C, Y, X) ndarray, the network input
    heatmap : (Y, X) ndarray >= 0
    mask : (Y, X) ndarray of bool, the explained pixels
    baseline : (C, Y, X) ndarray, what deleted pixels become; default `blurred_copy`
    randoms : (R, K) ndarray, random curves already measured (`random_curves`), or None
    step : float, share of pixels deleted per step (0.05 = 5 %)
    blur_sigma_px : float or None, Gaussian sigma of the default baseline; None:
        `blur_sigma_for` the mask
    n_random : int, random orders when `randoms` is None
    rng : seed or Generator for tie-breaking and random orders

    Returns
    -------
    Faithfulness
    """
    rng = np.random.default_rng(rng)
    x = np.asarray(x, np.float32)
    mask = np.asarray(mask) > 0
    fr = _fractions(step)
    if not mask.any():
        nan = float("nan")
        empty = np.full(fr.size, nan)
        return Faithfulness(fr, empty, empty, empty[None], nan, nan, nan, nan, nan, 0.0, False)
    if baseline is None:
        sigma = blur_sigma_px if blur_sigma_px is not None else blur_sigma_for(mask)
        baseline = blurred_copy(x, sigma_px=sigma)
    if randoms is None:
        randoms = random_curves(score, x, baseline, n=n_random, step=step, rng=rng)
    order = deletion_order(heatmap, rng)
    # The inverse order: least attributed first, ties again random.
    inverse = deletion_order(-np.asarray(heatmap, np.float64), rng)
    curve = deletion_curve(score, x, baseline, order, step=step)
    inv = deletion_curve(score, x, baseline, inverse, step=step)
    aucs = np.array([_auc(r, fr) for r in randoms])
    auc = _auc(curve, fr)
    mass = mass_in_mask(heatmap, mask)
    return Faithfulness(
        fractions=fr,
        heatmap_curve=curve,
        inverse_curve=inv,
        random_curves=np.asarray(randoms),
        auc=auc,
        auc_inverse=_auc(inv, fr),
        auc_random=float(aucs.mean()),
        auc_random_std=float(aucs.std(ddof=1)) if aucs.size > 1 else 0.0,
        mass_in_mask=mass,
        mask_fraction=float(mask.mean()),
        better_than_random=bool(np.isfinite(mass) and auc < aucs.min()),
    )
