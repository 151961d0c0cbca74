"""Training losses by name: each maps (network, batch) to the loss and the logits.

A loss takes the whole network and the `Batch`, not only logits, so a loss that needs more
than ``model(batch.image)`` (a probabilistic U-Net's BCE + beta x KL, which also feeds the true
mask to a posterior net) registers here beside the pixel losses without touching the training
loop. Importing this module does not import torch (the names are needed by the config).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "LATENT_LOSSES",
    "LOSSES",
    "HardNegatives",
    "LossName",
    "LossOutput",
    "compute_loss",
    "hard_negative_bce",
    "loss_fn",
]


@dataclass(frozen=True)
class HardNegatives:
    """Background pixels the network gets most wrong, weighted up in the BCE (OHEM-style).

    Of each batch's background pixels (target 0), the ``ceil(share x count)`` with the highest
    BCE get the weight ``1 + weight``, the other pixels 1; the BCE is the weighted mean. Dark
    membranes and myelin, which look like mitochondria to the network, are such pixels.
    ``share`` 0 is off (the plain mean).
    """

    share: float = 0.0
    weight: float = 2.0


@dataclass(frozen=True)
class LossOutput:
    """The scalar loss to minimise and the foreground logits (B, 1, H, W) it was computed on."""

    loss: Any  # torch.Tensor, 0-d
    logits: Any  # torch.Tensor


def hard_negative_bce(logits, target, hard: HardNegatives):
    """The BCE (with logits) of `logits` against `target` with the hard background pixels
    weighted up (`HardNegatives`): ``sum(w x bce) / sum(w)``, in float32."""
    import math

    import torch
    import torch.nn.functional as F

    per = F.binary_cross_entropy_with_logits(logits.float(), target, reduction="none").flatten()
    background = torch.nonzero(target.flatten() < 0.5).flatten()
    w = torch.ones_like(per)
    k = math.ceil(hard.share * background.numel())
    if k > 0:
        # The k background pixels of highest loss (ties: the first in pixel order).
        order = torch.sort(per[background].detach(), descending=True, stable=True).indices
        w[background[order[:k]]] = 1.0 + hard.weight
    return (w * per).sum() / w.sum()


def loss_fn(logits, target, kind: str, hard: HardNegatives | None = None):
    """BCE (with logits), soft Dice (1 - Dice over the batch), or their sum; in float32.

    Parameters
    ----------
    logits, target : (B, 1, H, W) tensors; target in {0, 1}
    kind : "bce", "dice" or "bce+dice"
    hard : HardNegatives or None, the BCE's hard background pixels weighted up (None or share
        0: the plain mean)
    """
    import torch.nn.functional as F

    logits = logits.float()
    total = logits.new_zeros(())
    if "bce" in kind and hard is not None and hard.share > 0:
        total = total + hard_negative_bce(logits, target, hard)
    elif "bce" in kind:
        total = total + F.binary_cross_entropy_with_logits(logits, target)
    if "dice" in kind:
        import torch

        p = torch.sigmoid(logits)
        inter = (p * target).sum()
        total = total + 1 - (2 * inter + 1) / (p.sum() + target.sum() + 1)
    return total


def _pixel_loss(kind: str) -> Callable:
    def run(model, batch, hard: HardNegatives | None = None) -> LossOutput:
        logits = model(batch.image)
        return LossOutput(loss=loss_fn(logits, batch.mask, kind, hard), logits=logits)

    run.__doc__ = f"{kind} of model(batch.image) against batch.mask."
    return run


def _latent_loss(kind: str) -> Callable:
    def run(model, batch, hard: HardNegatives | None = None) -> LossOutput:
        from shapelib import InputError

        if not hasattr(model, "elbo"):
            raise InputError(
                f"loss {kind!r} needs a probabilistic model (prob_unet); "
                f"{type(model).__name__} has no latent."
            )
        logits, kl = model.elbo(batch.image, batch.mask)
        pixel = loss_fn(logits, batch.mask, "bce+dice" if "dice" in kind else "bce", hard)
        # DeepPI-EM's objective is BCE summed over the batch's pixels + beta x the batch-mean
        # KL; divided by the batch's pixel count it keeps the scale of the pixel losses.
        n = logits.shape[0] * logits.shape[-2] * logits.shape[-1]
        return LossOutput(loss=pixel + model.params.kl_beta * kl.mean() / n, logits=logits)

    run.__doc__ = (
        f"BCE{' + Dice' if 'dice' in kind else ''} of a posterior sample + beta x KL(q || p) "
        "(prob_unet)."
    )
    return run


# name -> loss(model, batch, hard=None) -> LossOutput
LOSSES: dict[str, Callable] = {
    "bce": _pixel_loss("bce"),
    "dice": _pixel_loss("dice"),
    "bce+dice": _pixel_loss("bce+dice"),
    "elbo": _latent_loss("elbo"),
    "elbo+dice": _latent_loss("elbo+dice"),
}

# The losses of probabilistic models (they need the model's posterior net).
LATENT_LOSSES: tuple[str, ...] = ("elbo", "elbo+dice")

LossName = Literal[tuple(LOSSES)]


def compute_loss(name: str, model, batch, hard: HardNegatives | None = None) -> LossOutput:
    """The loss registered as `name` on one batch (the caller sets autocast and train mode),
    with the hard background pixels weighted up when `hard` says so."""
    from shapelib import InputError

    if name not in LOSSES:
        raise InputError(f"unknown loss {name!r}; choose one of: {', '.join(LOSSES)}.")
    return LOSSES[name](model, batch, hard)
