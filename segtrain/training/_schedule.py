"""The training budget: the learning rate at a step and the number of steps a run will make,
by steps or by a wall-clock budget, whichever ends first."""

from __future__ import annotations

import math
from typing import NamedTuple

from ._config import TrainConfig

__all__ = ["Budget", "budget", "lr_at", "projected_total"]

# Steps of linear warm-up at the start of every run.
WARMUP_STEPS = 20


def lr_at(cfg: TrainConfig, step: int, elapsed_s: float) -> float:
    """Peak lr with a short warm-up, then constant or cosine to 1% over the steps or the time
    budget, whichever ends first."""
    frac = step / cfg.max_steps
    if cfg.time_budget_min:
        frac = max(frac, elapsed_s / (60 * cfg.time_budget_min))
    warm = min(1.0, (step + 1) / WARMUP_STEPS)
    if cfg.schedule == "constant":
        return cfg.lr * warm
    return cfg.lr * warm * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


def projected_total(cfg: TrainConfig, step: int, elapsed_s: float) -> int:
    """Steps the run will make: max_steps, or fewer when the time budget ends first (projected
    from the speed so far)."""
    if not cfg.time_budget_min or step == 0 or elapsed_s <= 0:
        return cfg.max_steps
    left_s = max(0.0, 60 * cfg.time_budget_min - elapsed_s)
    return int(min(cfg.max_steps, step + math.ceil(left_s * step / elapsed_s)))


class Budget(NamedTuple):
    """Where a run stands in its budget: the learning rate of its next step and the steps it
    will make in all."""

    lr: float
    total: int


def budget(cfg: TrainConfig, step: int, elapsed_s: float) -> Budget:
    """`lr_at` and `projected_total` after `step` steps and `elapsed_s` training seconds."""
    return Budget(lr_at(cfg, step, elapsed_s), projected_total(cfg, step, elapsed_s))
