"""The step stage of training: one optimiser step on a batch at a given learning rate, in the
run's precision, refusing a loss that is not finite. Extra loss terms (`LossTerm`: the
unlabelled images' pseudo-labels) join the batch's loss in the same backward pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch

from shapelib import InputError

from ..inference._device import autocast_for
from ._data import Batch
from ._losses import HardNegatives, compute_loss

__all__ = ["LossTerm", "optimise"]


class LossTerm(Protocol):
    """A loss beside the batch's (a hook of the step stage).

    ``term(model, step)`` is called in the step's precision and train mode and gives a 0-d
    tensor to add to the loss, or None (nothing this step); ``after_step(model, step)`` follows
    the optimiser's step; ``report()`` gives the columns of the next validation row of the log
    (and starts counting afresh); ``state_dict()`` and ``load_state_dict(d, model=network)``
    keep what a resumed run needs; ``close()`` ends what it runs beside the loop.
    """

    def __call__(self, model, step: int) -> torch.Tensor | None: ...

    def after_step(self, model, step: int) -> None: ...

    def report(self) -> dict: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict, *, model) -> None: ...

    def close(self) -> None: ...


def optimise(
    model,
    opt,
    batch: Batch,
    *,
    loss: str,
    lr: float,
    amp: bool,
    step: int = 0,
    hard: HardNegatives | None = None,
    terms: Sequence[LossTerm] = (),
) -> float:
    """One step of `opt` on `batch` (on the network's device) with the loss `loss` (a name of
    `segtrain.LOSSES`, with the hard background pixels of `hard` weighted up) plus the `terms`
    at learning rate `lr`, bf16/fp16 autocast with `amp`; the loss value.

    A loss that is not finite raises before the weights change (`step`: the steps made
    before, for the message)."""
    for g in opt.param_groups:
        g["lr"] = lr
    with autocast_for(batch.image.device, amp):
        total = compute_loss(loss, model, batch, hard).loss
        for term in terms:
            extra = term(model, step)
            if extra is not None:
                total = total + extra
    if not torch.isfinite(total):
        raise InputError(
            f"training diverged: the loss is {float(total)} at step {step + 1}; nothing of "
            "this step is saved. Lower the learning rate (--lr) or check the data."
        )
    opt.zero_grad(set_to_none=True)
    total.backward()
    opt.step()
    for term in terms:
        term.after_step(model, step)
    return float(total.detach())
