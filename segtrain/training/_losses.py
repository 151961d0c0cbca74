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

__all__ = ["LATENT_LOSSES", "LOSSES", "LossName", "LossOutput", "compute_loss", "loss_fn"]


@dataclass(frozen=True)
class LossOutput:
    """The scalar loss to minimise and the foreground logits (B, 1, H, W) it was computed on."""

    loss: Any  # torch.Tensor, 0-d
    logits: Any  # torch.Tensor


def loss_fn(logits, target, kind: str):
    """BCE (with logits), soft Dice (1 - Dice over the batch), or their sum; in float32.

    Parameters
    ----------
    logits, target : (B, 1, H, W) tensors; target in {0, 1}
    kind : "bce", "dice" or "bce+dice"
    """
    import torch.nn.functional as F

    logits = logits.float()
    total = logits.new_zeros(())
    if "bce" in kind:
        total = total + F.binary_cross_entropy_with_logits(logits, target)
    if "dice" in kind:
        import torch

        p = torch.sigmoid(logits)
        inter = (p * target).sum()
        total = total + 1 - (2 * inter + 1) / (p.sum() + target.sum() + 1)
    return total


def _pixel_loss(kind: str) -> Callable:
    def run(model, batch) -> LossOutput:
        logits = model(batch.image)
        return LossOutput(loss=loss_fn(logits, batch.mask, kind), logits=logits)

    run.__doc__ = f"{kind} of model(batch.image) against batch.mask."
    return run


def _latent_loss(kind: str) -> Callable:
    def run(model, batch) -> LossOutput:
        from shapelib import InputError

        if not hasattr(model, "elbo"):
            raise InputError(
                f"loss {kind!r} needs a probabilistic model (prob_unet); "
                f"{type(model).__name__} has no latent."
            )
        logits, kl = model.elbo(batch.image, batch.mask)
        pixel = loss_fn(logits, batch.mask, "bce+dice" if "dice" in kind else "bce")
        # DeepPI-EM's objective is BCE summed over the batch's pixels + beta x the batch-mean
        # KL; divided by the batch's pixel count it keeps the scale of the pixel losses.
        n = logits.shape[0] * logits.shape[-2] * logits.shape[-1]
        return LossOutput(loss=pixel + model.params.kl_beta * kl.mean() / n, logits=logits)

    run.__doc__ = (
        f"BCE{' + Dice' if 'dice' in kind else ''} of a posterior sample + beta x KL(q || p) "
        "(prob_unet)."
    )
    return run


# name -> loss(model, batch) -> LossOutput
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


def compute_loss(name: str, model, batch) -> LossOutput:
    """The loss registered as `name` on one batch (the caller sets autocast and train mode)."""
    from shapelib import InputError

    if name not in LOSSES:
        raise InputError(f"unknown loss {name!r}; choose one of: {', '.join(LOSSES)}.")
    return LOSSES[name](model, batch)
