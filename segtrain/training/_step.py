"""The step stage of training: one optimiser step on a batch at a given learning rate, in the
run's precision, refusing a loss that is not finite."""

from __future__ import annotations

import torch

from shapelib import InputError

from ..inference._device import autocast_for
from ._data import Batch
from ._losses import compute_loss

__all__ = ["optimise"]


def optimise(model, opt, batch: Batch, *, loss: str, lr: float, amp: bool, step: int = 0) -> float:
    """One step of `opt` on `batch` (on the network's device) with the loss `loss` (a name of
    `segtrain.LOSSES`) at learning rate `lr`, bf16/fp16 autocast with `amp`; the loss value.

    A loss that is not finite raises before the weights change (`step`: the steps made
    before, for the message)."""
    for g in opt.param_groups:
        g["lr"] = lr
    with autocast_for(batch.image.device, amp):
        out = compute_loss(loss, model, batch)
    if not torch.isfinite(out.loss):
        raise InputError(
            f"training diverged: the loss is {float(out.loss)} at step {step + 1}; nothing of "
            "this step is saved. Lower the learning rate (--lr) or check the data."
        )
    opt.zero_grad(set_to_none=True)
    out.loss.backward()
    opt.step()
    return float(out.loss.detach())
