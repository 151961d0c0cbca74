"""Where a training starts (a workflow over `segtrain.io`): the network of the config and its
optimiser, from scratch, from the weights of another run (``init_from``: fine-tuning, or an
interactive run from a plain one whose click channels start at zero) or where this run stopped
(``resume``, from ``last.pt``, with the settings that fix its data and network unchanged)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from shapelib import InputError

from .. import io
from ..inference._clicks import load_plain_weights, mark_interactive
from ..models._registry import build_model
from ..training._config import TrainConfig, model_build_params
from ..training._loop import LoopState
from ._weights import load_run, read_train_config

__all__ = ["RESUME_FIXED", "Start", "check_resume", "start_training"]

log = logging.getLogger(__name__)

# Fields a resumed run must share with the run it continues (they fix the data and network).
RESUME_FIXED = (
    "model",
    "model_params",
    "train",
    "val",
    "holdout",
    "val_fraction",
    "val_names",
    "holdout_gap_px",
    "context_slices",
    "patch_px",
    "batch_size",
    "seed",
    "loss",
    "normalize_percentiles",
    "normalize_min_range_sigmas",
    "interactive",
    "clicks",
    "unlabelled",
    "unlabelled_weight",
    "pseudo_hi",
    "pseudo_lo",
    "teacher",
    "teacher_ema",
    "unlabelled_start",
    "hard_negatives",
    "hard_negative_weight",
)


def check_resume(cfg: TrainConfig) -> None:
    """Refuse to resume a run with settings that change its data or network."""
    run_dir = Path(cfg.run_dir)
    old = read_train_config(run_dir)
    changed = [f for f in RESUME_FIXED if getattr(old, f) != getattr(cfg, f)]
    if changed:
        raise InputError(
            f"cannot resume {run_dir}: the config differs in {changed} from the run's "
            "config.json; resume with the same settings (max_steps may grow)."
        )


@dataclass(frozen=True, eq=False)
class Start:
    """Where a training starts: the network (on its device), its optimiser, the loop's
    state and its loss terms' states (a resumed run's teacher)."""

    model: torch.nn.Module
    opt: torch.optim.Optimizer
    state: LoopState
    terms: list = field(default_factory=list)


def _stored(cfg: TrainConfig, *, resume: bool):
    """What the start reads: (this run's ``last.pt``, None) to resume; (None, the network and
    config of ``init_from``) to fine-tune; (None, None) from scratch."""
    if resume:
        check_resume(cfg)
        return io.load_checkpoint(Path(cfg.run_dir) / "last.pt"), None
    if cfg.init_from:
        return None, load_run(cfg.init_from, which="last", expect_model=cfg.model)
    return None, None


def start_training(cfg: TrainConfig, device, *, resume: bool) -> Start:
    """The network of `cfg` on `device` and its optimiser, started: randomly initialised from
    the torch seed (then the weights of ``cfg.init_from`` when given), or as ``last.pt`` of the
    run folder left them with `resume` (whose settings must not have changed)."""
    ck, init = _stored(cfg, resume=resume)
    # The network and optimiser of the config, from the torch seed.
    params = model_build_params(cfg)
    model = build_model(cfg.model, params).to(device)
    mark_interactive(model, cfg.clicks if cfg.interactive else None)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    opt = opt_cls(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if ck is not None:  # where this run stopped
        model.load_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["optimizer"])
        log.info("resuming %s at step %d", cfg.run_dir, int(ck["step"]))
        state = LoopState(
            step=int(ck["step"]),
            best=float(ck["best_score"]),
            bad=int(ck["bad_evals"]),
            elapsed_s=float(ck["elapsed_s"]),
            rows=json.loads(ck["log_json"]),
            warned=bool(ck.get("warned", False)),
        )
        return Start(model, opt, state, list(ck.get("terms", [])))
    if init is None:
        return Start(model, opt, LoopState())
    # The weights of another run: the same network, or a plain one for an interactive run
    # (whose click channels then start at zero).
    net, init_cfg = init
    plain_start = cfg.interactive and not init_cfg.interactive
    want = {**params, "in_channels": cfg.image_channels} if plain_start else params
    if model_build_params(init_cfg) != want:
        raise InputError(
            f"init_from {cfg.init_from} holds a {cfg.model!r} with params "
            f"{model_build_params(init_cfg)}, this run builds {want}; give the same "
            "model_params and context_slices, or another run."
        )
    if plain_start:
        widened = ", ".join(load_plain_weights(model, net.state_dict(), cfg.image_channels))
        log.info(
            "init_from %s (not interactive): click channels of %s start at zero",
            cfg.init_from,
            widened,
        )
    else:
        model.load_state_dict(net.state_dict())
    return Start(model, opt, LoopState())
