"""Realism as a classifier two-sample test: can a small CNN tell real crops from synthetic ones?

Crops (64x64 by default) of the real image are cut inside regions (squares of ``region_px``,
less a guard band of ``crop_px / 4`` on every side, so crops of two regions are never closer
than ``crop_px / 2``); each synthetic image is a region of its own. Regions, never crops, are
dealt to ``folds`` folds: the classifier is trained on the other folds and scored on the held-out
one, so neighbouring crops never sit on both sides of a split. The score is the held-out ROC AUC
(0.5: the sets cannot be told apart; 1: always). Each crop is normalised by its own 1st and 99th
percentiles, as the segmenters normalise their inputs, so the test sees texture, noise and
shape rather than the absolute brightness. Plain torch on the CPU; torch is seeded from ``seed``
(plus the fold) before each training, so a run is repeatable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from shapelib import InputError

__all__ = [
    "Crops",
    "RealismScore",
    "RealismResult",
    "region_crops",
    "roc_auc",
    "two_sample_auc",
    "realism_test",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Crops:
    """Crops and the region each comes from.

    Attributes
    ----------
    images : (N, c, c) ndarray of float32
        Each crop normalised by its own 1st and 99th percentiles.
    groups : (N,) ndarray of int
        Region (or image) of each crop; regions are never split between folds.
    corners : (N, 2) ndarray of int, optional
        (y, x) of each crop's first pixel in its image.
    """

    images: np.ndarray
    groups: np.ndarray
    corners: np.ndarray | None = None


@dataclass(frozen=True)
class RealismScore:
    """Held-out ROC AUC of one real-vs-synthetic test, per fold and their mean and std."""

    auc: float
    auc_std: float
    fold_aucs: tuple[float, ...]
    n_real: int
    n_synthetic: int


@dataclass(frozen=True)
class RealismResult:
    """:func:`realism_test`'s scores by synthetic set, with the settings used."""

    scores: dict[str, RealismScore]
    settings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Plain numbers for a JSON report."""
        return {
            "settings": self.settings,
            "auc": {
                k: {
                    "mean": s.auc,
                    "std": s.auc_std,
                    "folds": list(s.fold_aucs),
                    "n_real_crops": s.n_real,
                    "n_synthetic_crops": s.n_synthetic,
                }
                for k, s in self.scores.items()
            },
        }


def _normalise(crops: np.ndarray) -> np.ndarray:
    lo = np.percentile(crops, 1, axis=(1, 2), keepdims=True)
    hi = np.percentile(crops, 99, axis=(1, 2), keepdims=True)
    return ((crops - lo) / np.maximum(hi - lo, 1e-6)).astype(np.float32)


def region_crops(
    image: np.ndarray,
    *,
    crop_px: int = 64,
    region_px: int | None = None,
    stride_px: int | None = None,
    first_group: int = 0,
) -> Crops:
    """Crops of one 2D image, inside square regions separated by a guard band.

    Parameters
    ----------
    image : (Y, X) ndarray
    crop_px : int
        Crop side.
    region_px : int, optional
        Region side (default: the whole image is one region, no guard band).
    stride_px : int, optional
        Step between crops inside a region (default ``crop_px / 2``).
    first_group : int
        Number of the first region (to keep groups of several images apart).

    Returns
    -------
    Crops
    """
    x = np.asarray(image, float)
    if x.ndim == 3 and x.shape[0] > 1:
        x = x[x.shape[0] // 2]  # a stack: its middle plane
    x = x.reshape(x.shape[-2:])
    stride = int(stride_px or max(1, crop_px // 2))
    whole = region_px is None
    region = min(x.shape) if whole else int(region_px)
    guard = 0 if whole else crop_px // 4
    if region - 2 * guard < crop_px:
        raise InputError(
            f"regions of {region} px (guard band {guard} px) cannot hold a {crop_px} px crop; "
            "use larger regions or smaller crops."
        )
    out, groups, corners = [], [], []
    g = first_group
    for y0 in range(0, x.shape[0] - region + 1, region):
        for x0 in range(0, x.shape[1] - region + 1, region):
            span = range(guard, region - guard - crop_px + 1, stride)
            for dy in span:
                for dx in span:
                    y, xx = y0 + dy, x0 + dx
                    out.append(x[y : y + crop_px, xx : xx + crop_px])
                    groups.append(g)
                    corners.append((y, xx))
            g += 1
    if not out:
        raise InputError(f"image {x.shape} is smaller than one {region} px region.")
    return Crops(_normalise(np.stack(out)), np.asarray(groups), np.asarray(corners))


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U / n_pos n_neg, ties counted half)."""
    from scipy.stats import rankdata

    scores, labels = np.asarray(scores, float), np.asarray(labels, bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        raise InputError("ROC AUC needs both classes among the held-out crops.")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _net():
    import torch.nn as nn

    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]

    return nn.Sequential(
        *block(1, 8),
        *block(8, 16),
        *block(16, 32),
        *block(32, 32),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 1),
    )


def _augment(batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random flips and quarter turns (the same for both classes: no label leaks)."""
    k = rng.integers(0, 4, len(batch))
    flip = rng.random(len(batch)) < 0.5
    out = np.empty_like(batch)
    for i, (b, kk, f) in enumerate(zip(batch, k, flip, strict=True)):
        b = np.rot90(b, kk)
        out[i] = b[:, ::-1] if f else b
    return out


def _train_and_score(train_x, train_y, test_x, *, epochs, batch, lr, seed, threads):
    import torch

    if threads:
        torch.set_num_threads(int(threads))
    torch.manual_seed(seed)
    net = _net()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(train_y == 1), np.flatnonzero(train_y == 0)
    n = min(len(pos), len(neg))
    net.train()
    for _ in range(epochs):
        # balanced: every epoch takes n crops of each class, in a fresh order
        idx = np.r_[rng.choice(pos, n, replace=False), rng.choice(neg, n, replace=False)]
        idx = idx[rng.permutation(len(idx))]
        for s in range(0, len(idx), batch):
            b = idx[s : s + batch]
            xb = torch.from_numpy(_augment(train_x[b], rng)[:, None].copy())
            yb = torch.from_numpy(train_y[b].astype(np.float32))
            opt.zero_grad()
            loss = loss_fn(net(xb).squeeze(1), yb)
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        scores = [
            net(torch.from_numpy(test_x[s : s + 256][:, None].copy())).squeeze(1).numpy()
            for s in range(0, len(test_x), 256)
        ]
    return np.concatenate(scores)


def _folds(groups: np.ndarray, k: int, rng: np.random.Generator) -> dict[int, int]:
    uniq = np.unique(groups)
    if len(uniq) < k:
        raise InputError(
            f"{len(uniq)} regions cannot be dealt to {k} folds; give more images or lower folds."
        )
    return {int(g): i % k for i, g in enumerate(uniq[rng.permutation(len(uniq))])}


def two_sample_auc(
    a: Crops,
    b: Crops,
    *,
    folds: int = 4,
    epochs: int = 15,
    batch: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RealismScore:
    """Held-out ROC AUC of a CNN telling crops ``b`` (label 1) from crops ``a`` (label 0).

    Regions of each set are dealt to ``folds`` folds at random (seeded); fold ``k`` is scored
    by a network trained on the other folds of both sets, with the classes balanced.
    ``threads`` sets torch's CPU threads (one is fastest on a busy machine).
    """
    rng = np.random.default_rng(seed)
    fa, fb = _folds(a.groups, folds, rng), _folds(b.groups, folds, rng)
    ka = np.array([fa[int(g)] for g in a.groups])
    kb = np.array([fb[int(g)] for g in b.groups])
    aucs = []
    for k in range(folds):
        train_x = np.concatenate([a.images[ka != k], b.images[kb != k]])
        train_y = np.r_[np.zeros((ka != k).sum()), np.ones((kb != k).sum())]
        test_x = np.concatenate([a.images[ka == k], b.images[kb == k]])
        test_y = np.r_[np.zeros((ka == k).sum()), np.ones((kb == k).sum())]
        scores = _train_and_score(
            train_x,
            train_y,
            test_x,
            epochs=epochs,
            batch=batch,
            lr=lr,
            seed=seed + 1000 * (k + 1),
            threads=threads,
        )
        aucs.append(roc_auc(scores, test_y))
        logger.info("fold %d: AUC %.3f", k, aucs[-1])
        if progress is not None:
            progress(k + 1, folds)
    return RealismScore(
        float(np.mean(aucs)),
        float(np.std(aucs, ddof=1) if folds > 1 else 0.0),
        tuple(float(x) for x in aucs),
        len(a.groups),
        len(b.groups),
    )


def realism_test(
    real: np.ndarray | Sequence[np.ndarray],
    synthetic: Mapping[str, Sequence[np.ndarray]],
    *,
    crop_px: int = 64,
    region_px: int = 256,
    folds: int = 4,
    epochs: int = 15,
    seed: int = 0,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RealismResult:
    """ROC AUC of real-vs-synthetic crop classifiers, one per synthetic set.

    Parameters
    ----------
    real : (Y, X) ndarray, or a sequence of them
        The real image (raw counts), or several (tiles of one microscope: each is cut into its
        own regions, so a region never spans two images).
    synthetic : mapping of name -> sequence of (Y, X) (or (Z, Y, X): the middle plane) arrays
        Synthetic images at the real image's pixel size; each image is one region.
    crop_px, region_px, folds, epochs, seed, threads
        Crop side, real-image region side, folds, training epochs, seed, torch CPU threads.
    progress : callable(done, total), optional
        Counts finished folds over all sets.

    Returns
    -------
    RealismResult
    """
    if not synthetic:
        raise InputError("give at least one set of synthetic images.")
    if int(folds) < 2 or int(epochs) < 1 or int(crop_px) < 8:  # 1 fold: nothing held out
        raise InputError(
            f"need folds >= 2, epochs >= 1 and crop_px >= 8; got folds={folds}, "
            f"epochs={epochs}, crop_px={crop_px}."
        )
    reals = [real] if isinstance(real, np.ndarray) else list(real)
    if not reals:
        raise InputError("give at least one real image.")
    parts, first = [], 0
    for img in reals:  # each real image in its own regions
        part = region_crops(img, crop_px=crop_px, region_px=region_px, first_group=first)
        parts.append(part)
        first = int(part.groups.max()) + 1 if len(part.groups) else first
    real_crops = Crops(
        np.concatenate([p.images for p in parts]), np.concatenate([p.groups for p in parts])
    )
    scores, done, total = {}, 0, folds * len(synthetic)
    for name, images in synthetic.items():
        if len(images) == 0:
            raise InputError(f"synthetic set {name!r} holds no image.")
        parts = [region_crops(img, crop_px=crop_px, first_group=i) for i, img in enumerate(images)]
        syn = Crops(
            np.concatenate([p.images for p in parts]), np.concatenate([p.groups for p in parts])
        )

        def step(k, _n, base=done):
            if progress is not None:
                progress(base + k, total)

        scores[name] = two_sample_auc(
            real_crops, syn, folds=folds, epochs=epochs, seed=seed, threads=threads, progress=step
        )
        done += folds
    settings = {
        "crop_px": crop_px,
        "region_px": region_px,
        "folds": folds,
        "epochs": epochs,
        "seed": seed,
        "normalisation": "per crop, 1st-99th percentile",
        "split": "by region (real) and by image (synthetic)",
    }
    return RealismResult(scores, settings)
