"""Scoring during and after training: pooled Dice/IoU of whole held-out images, the training
IoU on fixed training patches, and the post-processing sizes chosen on validation data.

All scores here are pooled over pixels (summed confusion counts), foreground IoU and Dice, the
prediction thresholded at 0.5; both empty counts as perfect.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..evaluate._metrics import betti_error
from ..inference._config import InferenceConfig
from ..inference._device import autocast_for
from ..inference._predict import postprocess_mask, predict_image
from ._batches import ValData
from ._config import TrainConfig

__all__ = [
    "POSTPROCESS_SIZES_PX",
    "PostprocessChoice",
    "choose_postprocess",
    "pooled_scores",
    "predict_normalised",
    "probability_loss",
    "score_patches",
    "validate",
    "validation_config",
    "validation_tile_px",
]

log = logging.getLogger(__name__)

# Candidate sizes (pixels) for small-object and hole removal, searched on validation data.
POSTPROCESS_SIZES_PX = (0, 16, 32, 64, 128, 256, 512, 1024)


def pooled_scores(preds: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> dict:
    """Pooled foreground ``dice`` and ``iou`` of binary predictions (or probabilities >= 0.5)."""
    inter = psum = tsum = 0
    for p, t in zip(preds, truths, strict=True):
        pb = np.asarray(p) >= 0.5 if np.asarray(p).dtype.kind == "f" else np.asarray(p) > 0
        tb = np.asarray(t) > 0
        inter += int(np.count_nonzero(pb & tb))
        psum += int(np.count_nonzero(pb))
        tsum += int(np.count_nonzero(tb))
    union = psum + tsum - inter
    dice = 1.0 if psum + tsum == 0 else 2 * inter / (psum + tsum)
    iou = 1.0 if union == 0 else inter / union
    return {"dice": float(dice), "iou": float(iou)}


def probability_loss(probs: Sequence[np.ndarray], truths: Sequence[np.ndarray], kind: str) -> float:
    """The training loss kind ("bce", "dice", "bce+dice") from probabilities, over all pixels."""
    eps = 1e-6
    p = np.concatenate([np.ravel(a) for a in probs]).astype(np.float64)
    t = np.concatenate([np.ravel(a) > 0 for a in truths]).astype(np.float64)
    total = 0.0
    if "bce" in kind:
        pc = np.clip(p, eps, 1 - eps)
        total += float(-np.mean(t * np.log(pc) + (1 - t) * np.log(1 - pc)))
    if "dice" in kind:
        total += float(1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1))
    return total


def validation_tile_px(patch_px: int) -> int:
    """Tile side for predicting validation images: twice the patch, at least 256 px."""
    return max(256, 2 * patch_px)


def validation_config(cfg: TrainConfig) -> InferenceConfig:
    """How validation images are predicted: tiles of `validation_tile_px` overlapping by an
    eighth, in the training's precision, no TTA."""
    tile = validation_tile_px(cfg.patch_px)
    return InferenceConfig(tile_px=tile, overlap_px=tile // 8, amp=cfg.mixed_precision)


@torch.no_grad()
def predict_normalised(
    model, images: Sequence[np.ndarray], config: InferenceConfig
) -> list[np.ndarray]:
    """Probabilities of already normalised (C, Y, X) images by the tiles of `config`."""
    was_training = model.training
    model.eval()
    out = [predict_image(model, im, config, normalize=None) for im in images]
    model.train(was_training)
    return out


@torch.no_grad()
def score_patches(
    model, batch, *, device, amp: bool, batch_size: int, channels_last: bool = False
) -> dict:
    """Pooled ``dice``/``iou`` and the probabilities of fixed patches (a `Batch`), eval mode."""
    was_training = model.training
    model.eval()
    probs = []
    for k in range(0, batch.image.shape[0], batch_size):
        x = batch.image[k : k + batch_size].to(device)
        if amp or channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast_for(device, amp):
            logits = model(x)
        probs.append(torch.sigmoid(logits.float())[:, 0].cpu().numpy())
    model.train(was_training)
    p = np.concatenate(probs)
    t = batch.mask[:, 0].numpy()
    return {**pooled_scores(list(p), list(t)), "probs": p}


def validate(model, data: ValData, cfg: TrainConfig, device) -> dict:
    """Training IoU on fixed training patches; validation loss, Dice and IoU on the held-out
    images (on the training patches when nothing is held out)."""
    images = validation_config(cfg)
    tr = score_patches(
        model,
        data.train_patches,
        device=device,
        amp=cfg.mixed_precision,
        batch_size=cfg.batch_size,
        channels_last=cfg.channels_last,
    )
    if data.held_out:
        probs = predict_normalised(model, data.images, images)
        scores = pooled_scores(probs, data.masks)
        loss = probability_loss(probs, data.masks, cfg.loss)
    else:  # the training patches stand in
        scores = tr
        truths = list(data.train_patches.mask[:, 0].numpy())
        loss = probability_loss(list(tr["probs"]), truths, cfg.loss)
    val = {"val_loss": loss, "val_dice": scores["dice"], "val_iou": scores["iou"]}
    return {"train_iou": tr["iou"], **val}


@dataclass(frozen=True, eq=False)
class PostprocessChoice:
    """Small-object and hole removal sizes chosen on validation data.

    Attributes
    ----------
    min_size_px, max_hole_px : int, the chosen sizes (0 = off)
    table : list of dicts, per candidate: min_size_px, max_hole_px, iou (pooled), betti_error
        (mean over images)
    rule : str, how the choice was made
    """

    min_size_px: int
    max_hole_px: int
    table: list
    rule: str

    def as_dict(self) -> dict:
        return {
            "min_size_px": self.min_size_px,
            "max_hole_px": self.max_hole_px,
            "rule": self.rule,
            "candidates": self.table,
        }


def choose_postprocess(
    probs: Sequence[np.ndarray],
    truths: Sequence[np.ndarray],
    *,
    sizes_px: Sequence[int] = POSTPROCESS_SIZES_PX,
    max_iou_loss: float = 0.005,
    connectivity: int = 4,
) -> PostprocessChoice:
    """Choose `postprocess_mask` sizes on validation images (never on test images).

    Search one size at a time: first ``min_size_px`` over `sizes_px` (no hole filling), then
    ``max_hole_px`` over `sizes_px` with that object size. At each stage the choice is the size
    with the lowest mean Betti error among those whose pooled foreground IoU is at most
    `max_iou_loss` below that without post-processing (ties: the smaller size).

    Parameters
    ----------
    probs : (Y, X) float arrays, validation probabilities; truths : (Y, X) masks

    Returns
    -------
    PostprocessChoice
    """
    cache: dict[tuple[int, int], dict] = {}

    def score(lo: int, hole: int) -> dict:
        if (lo, hole) not in cache:
            masks = [postprocess_mask(p, min_size_px=lo, max_hole_px=hole) for p in probs]
            errors = [
                betti_error(m, t, connectivity=connectivity)["betti_error"]
                for m, t in zip(masks, truths, strict=True)
            ]
            iou = pooled_scores(masks, truths)["iou"]
            row = {"min_size_px": int(lo), "max_hole_px": int(hole), "iou": iou}
            cache[(lo, hole)] = {**row, "betti_error": float(np.mean(errors))}
        return cache[(lo, hole)]

    floor = score(0, 0)["iou"] - max_iou_loss

    def best(rows: list[dict], key: str) -> int:
        ok = [r for r in rows if r["iou"] >= floor]
        return min(ok, key=lambda r: (r["betti_error"], r[key]))[key]

    lo = best([score(s, 0) for s in sizes_px], "min_size_px")
    hole = best([score(lo, s) for s in sizes_px], "max_hole_px")
    rule = (
        f"lowest mean Betti error on the validation images, min_size_px then max_hole_px over "
        f"{list(sizes_px)}, among sizes whose pooled IoU is within {max_iou_loss} of no "
        "post-processing"
    )
    return PostprocessChoice(lo, hole, list(cache.values()), rule)
