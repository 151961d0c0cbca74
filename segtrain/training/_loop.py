"""The training loop as stages (compute: it reads and writes no file).

Each step takes batch ``step`` of the deterministic patch stream through the batch hooks (the
data stage, `_batches`; interactive training's simulated clicks are a hook,
`_feedback.ClickFeedback`) and makes one optimiser step at the learning rate of the schedule
(the step stage, `_step`). Every ``val_every`` steps, at the last step and when the time budget
ends, it scores the network (the validate stage, `_validate`), records the scores in its state
and hands the state to the checkpoint stage: a callable of the workflow that writes it
(`segtrain.workflows._run_folder`). Early stopping and the time budget end the loop.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ._batches import TrainData
from ._config import TrainConfig
from ._data import Batch
from ._prefetch import Prefetcher
from ._schedule import budget
from ._step import LossTerm, optimise
from ._validate import validate

__all__ = ["BatchHook", "LoopState", "TrainLoop"]

log = logging.getLogger(__name__)

# A batch hook: (network, batch on the device, step) -> the batch the step trains on.
BatchHook = Callable[[torch.nn.Module, Batch, int], Batch]


@dataclass
class LoopState:
    """What the loop has done: a checkpoint keeps it and a resumed run starts from it.

    Attributes
    ----------
    step : int, optimiser steps made
    best : float, the best held-out IoU so far (-1 before the first validation)
    bad : int, validations since the best one
    elapsed_s : float, training seconds (validation excluded)
    rows : list of dict, the log: one row per validation
    warned : bool, the overfitting warning was given
    """

    step: int = 0
    best: float = -1.0
    bad: int = 0
    elapsed_s: float = 0.0
    rows: list[dict] = field(default_factory=list)
    warned: bool = False

    def record(self, row: dict, cfg: TrainConfig, held_out: bool) -> bool:
        """Log a validation `row`; update the best IoU, the validations without gain and the
        overfitting warning; whether the held-out IoU improved on the best."""
        self.rows.append(row)
        improved = row["val_iou"] > self.best
        if improved:
            self.best, self.bad = row["val_iou"], 0
        else:
            self.bad += 1
        self.warned = warn_if_diverging(row, cfg, held_out, self.warned)
        log.info("step %d %s", self.step, row)
        return improved


def warn_if_diverging(row: dict, cfg: TrainConfig, held_out: bool, warned: bool) -> bool:
    """Warn (once per run) when the training IoU runs ahead of the held-out IoU."""
    gap = row["train_iou"] - row["val_iou"]
    if warned or not held_out or gap <= cfg.overfit_gap:
        return warned
    log.warning(
        "training IoU %.3f vs held-out IoU %.3f at step %d (gap %.3f > overfit_gap %.2f): the "
        "model fits its training images better than unseen ones. More augmentation, more or more "
        "varied data, or fewer steps may help; best.pt keeps the weights of the best held-out "
        "IoU.",
        row["train_iou"],
        row["val_iou"],
        row["step"],
        gap,
        cfg.overfit_gap,
    )
    return True


class TrainLoop:
    """The loop over steps (module docstring).

    Parameters
    ----------
    model : the network, on `device`
    opt : its optimiser
    cfg : TrainConfig
    data : TrainData, the data stage
    hooks : batch hooks, applied in order to every batch
    terms : `LossTerm` s added to every step's loss (the unlabelled images' pseudo-labels);
        their ``report()`` joins each validation row
    checkpoint : callable ``checkpoint(state, improved)``, called after every validation with
        the loop's state and whether the held-out IoU improved on the best
    """

    def __init__(
        self,
        model,
        opt,
        cfg: TrainConfig,
        data: TrainData,
        *,
        hooks: Sequence[BatchHook] = (),
        terms: Sequence[LossTerm] = (),
        checkpoint: Callable[[LoopState, bool], None],
    ):
        self.model, self.opt, self.cfg = model, opt, cfg
        self.data, self.hooks, self.checkpoint = data, tuple(hooks), checkpoint
        self.terms = tuple(terms)

    def run(
        self, state: LoopState, device, progress: Callable[[int, int], None] | None = None
    ) -> LoopState:
        """Train from `state` on `device` until max_steps, early stopping or the time budget.

        `progress`, when given, is called as ``progress(steps done, steps in all)`` after each
        step; with a time budget "in all" is projected from the speed so far, and equals "done"
        at the end. The patches of the next ``prefetch_batches`` steps are cut on a thread
        beside this one (`Prefetcher`: the same patches either way)."""
        with contextlib.ExitStack() as stack:
            for term in self.terms:  # the terms' own threads end with the loop
                stack.callback(term.close)
            if self.cfg.prefetch_batches == 0:
                return self._run(state, device, progress, None)
            ahead, stop = self.cfg.prefetch_batches, self.cfg.max_steps
            pre = stack.enter_context(Prefetcher(self.data.cpu_batch, ahead=ahead, stop=stop))
            return self._run(state, device, progress, pre)

    def _run(self, state: LoopState, device, progress, ahead: Prefetcher | None) -> LoopState:
        cfg, model = self.cfg, self.model
        now = budget(cfg, state.step, state.elapsed_s)
        if progress is not None:
            progress(state.step, now.total)
        model.train()
        t_last, losses, n_seen, stop = time.perf_counter(), [], 0, False
        while state.step < cfg.max_steps and not stop:
            # One optimiser step on batch `step` of the patch stream, through the hooks.
            batch = self.data.batch(state.step, device, model=model, hooks=self.hooks, ahead=ahead)
            kw = {"loss": cfg.loss, "lr": now.lr, "amp": cfg.mixed_precision, "step": state.step}
            losses.append(optimise(model, self.opt, batch, hard=cfg.hard, terms=self.terms, **kw))
            state.step += 1
            n_seen += cfg.batch_size
            t = time.perf_counter()
            state.elapsed_s += t - t_last
            t_last = t
            limit = cfg.time_budget_min
            out_of_time = limit is not None and state.elapsed_s >= 60 * limit
            now = budget(cfg, state.step, state.elapsed_s)
            if progress is not None:
                progress(state.step, now.total)
            if state.step % cfg.val_every and state.step < cfg.max_steps and not out_of_time:
                continue
            # Validate, record and checkpoint (validation time is not training time).
            metrics = validate(model, self.data.val, cfg, device)
            since = state.elapsed_s - (state.rows[-1]["elapsed_s"] if state.rows else 0.0)
            row = {"step": state.step, "train_loss": float(np.mean(losses)), **metrics}
            row["lr"] = self.opt.param_groups[0]["lr"]
            row["elapsed_s"] = round(state.elapsed_s, 2)
            row["samples_per_s"] = round(n_seen / max(since, 1e-9), 3)
            for term in self.terms:
                row.update(term.report())
            improved = state.record(row, cfg, self.data.val.held_out)
            self.checkpoint(state, improved)
            losses, n_seen = [], 0
            if cfg.patience and state.bad >= cfg.patience:
                log.info("early stop at step %d (patience %d)", state.step, cfg.patience)
                stop = True
            if out_of_time:
                log.info("time budget of %s min reached at step %d", limit, state.step)
                stop = True
            t_last = time.perf_counter()
        if progress is not None and now.total != state.step:  # stopped early: the bar ends full
            progress(state.step, state.step)
        return state
