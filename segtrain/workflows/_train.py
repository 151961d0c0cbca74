"""Training (a workflow): the stages of a run, in order. The config is read and the run folder
checked (nothing written yet); the data is read and held out (`_train_data.py`); the network is
built and started from scratch, from another run or where it stopped (`_resume.py`); the run
folder is opened (`_run_folder.py`, the checkpoint stage); the loop runs (`_loop.py`: data ->
hooks -> step, validate -> checkpoint); the run folder gets its curves and post-processing.
Reading a run folder back: `_weights.py` and `Run.open`.

What a run is made of comes from its config: the network from the model registry with
``1 + 2 x context_slices`` input channels (`model_build_params`), the loss from the loss
registry (`training._losses`), the data as `Batch` objects from a seeded `PatchDataset`, and
for an interactive run the simulated clicks as a batch hook (`training._feedback`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch

from shapelib import InputError

from .. import io
from ..inference._device import pick_device, resolve_amp, torch_threads
from ..training._config import TrainConfig
from ..training._feedback import ClickFeedback
from ..training._loop import TrainLoop
from ..training._unlabelled import self_training
from ._resume import start_training
from ._run_folder import RunFolder, check_run_folder
from ._train_data import read_training_data
from ._weights import as_train_config

__all__ = ["plain_stage", "train"]

log = logging.getLogger(__name__)


def train(
    config: TrainConfig | dict | str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Train a segmenter and write a run folder; returns the run folder.

    Validation is on held-out data by default (`TrainConfig.holdout`; `segtrain.training._holdout`):
    whole images or a band of every image that training never sees. The run folder holds
    ``config.yaml``/``config.json`` (the exact config, with the hold-out mode and images used),
    ``split.json`` (what was held out), ``last.pt`` and ``best.pt`` (best held-out foreground
    IoU; ``state_dict`` + config, read with ``weights_only=True``), ``log.csv`` (one row per
    validation: step, training loss, training IoU, validation loss, Dice and IoU, lr, time),
    ``curves.png`` and ``postprocess.json`` (small-object and hole sizes chosen on the held-out
    images with the best weights). A warning is logged when the training IoU exceeds the
    held-out IoU by more than ``overfit_gap``.

    An interactive run without ``init_from`` starts from a plain one (`plain_stage`): the
    plain network trains first for ``plain_share`` of the steps as a run of its own,
    ``<run_dir>_plain``, and the interactive run in ``run_dir`` (whose config.yaml then names
    it as ``init_from``) makes the other steps; ``plain_share: 0`` trains it from scratch.

    Reproducibility: torch is seeded once here from ``config.seed``; patches and augmentations
    are a pure function of (seed, patch index); the schedule follows steps unless a time budget
    is given. Precision: ``amp="auto"`` (the recipe's) is resolved for the device here
    (`segtrain.resolve_amp`: bf16 on CUDA and CPUs with native bf16, float32 elsewhere) and
    config.yaml records the result. In float32 (``amp=False``) the same config gives the same
    weights on the same machine and thread count; bf16 autocast may differ
    (``benchmarks/repro_segtrain.py``).

    Parameters
    ----------
    config : TrainConfig, dict, or path to a YAML/JSON config
    resume : bool, continue from ``run_dir/last.pt`` (same config required)
    overwrite : bool, start afresh even if ``run_dir`` holds a run
    progress : callable or None, called as ``progress(steps done, steps in all)`` after each
        step; with a time budget "in all" is projected from the speed so far (whichever budget
        ends first), and equals "done" at the end

    Returns
    -------
    run_dir : Path

    Examples
    --------
    >>> cfg = TrainConfig(train=[DataSource(path="data/lucchi/train")], run_dir="runs/unet")
    >>> run_dir = train(cfg)  # doctest: +SKIP
    """
    cfg = as_train_config(config)
    if cfg.interactive and cfg.init_from is None and cfg.plain_share > 0:
        return _train_from_plain(cfg, resume=resume, overwrite=overwrite, progress=progress)
    return _train_one(cfg, resume=resume, overwrite=overwrite, progress=progress)


def plain_stage(cfg: TrainConfig) -> tuple[TrainConfig, TrainConfig]:
    """The two runs of an interactive `cfg` without ``init_from`` (`TrainConfig.plain_share`):
    the plain network in ``<run_dir>_plain`` for that share of the steps (and of the time
    budget), then the interactive run in ``run_dir`` from it for the other steps."""
    if cfg.max_steps < 2:
        raise InputError(
            f"an interactive run from a plain one needs max_steps >= 2 (one per stage); got "
            f"{cfg.max_steps}. Give more steps, an init_from, or plain_share 0."
        )
    n_plain = min(cfg.max_steps - 1, max(1, round(cfg.plain_share * cfg.max_steps)))
    run_dir = Path(cfg.run_dir)
    plain_dir = run_dir.with_name(run_dir.name + "_plain")
    budget = cfg.time_budget_min
    fields = cfg.model_dump()
    plain = TrainConfig(
        **{
            **fields,
            "interactive": False,
            "run_dir": str(plain_dir),
            "max_steps": n_plain,
            "val_every": min(cfg.val_every, n_plain),
            "time_budget_min": None if budget is None else budget * cfg.plain_share,
        }
    )
    rest = cfg.max_steps - n_plain
    interactive = TrainConfig(
        **{
            **fields,
            "init_from": str(plain_dir),
            "max_steps": rest,
            "val_every": min(cfg.val_every, rest),
            "time_budget_min": None if budget is None else budget * (1 - cfg.plain_share),
        }
    )
    return plain, interactive


def _stage_done(cfg: TrainConfig) -> bool:
    """Whether the run folder of `cfg` holds a finished run of its steps."""
    last = Path(cfg.run_dir) / "last.pt"
    return last.is_file() and int(io.load_checkpoint(last)["step"]) >= cfg.max_steps


def _train_from_plain(cfg: TrainConfig, *, resume: bool, overwrite: bool, progress) -> Path:
    """The plain stage, then the interactive run from it (`plain_stage`); with `resume`, a
    finished plain stage is kept and an unfinished one continued."""
    plain, interactive = plain_stage(cfg)
    # Both run folders checked before anything is written.
    plain_resume = resume and (Path(plain.run_dir) / "last.pt").is_file()
    inter_resume = resume and (Path(cfg.run_dir) / "last.pt").is_file()
    check_run_folder(plain, resume=plain_resume, overwrite=overwrite)
    check_run_folder(interactive, resume=inter_resume, overwrite=overwrite)
    n_plain, n_rest = plain.max_steps, interactive.max_steps
    if not (plain_resume and _stage_done(plain)):
        log.info(
            "interactive run without init_from: the plain network first, %d of %d steps, in %s",
            n_plain,
            cfg.max_steps,
            plain.run_dir,
        )
        bar = None if progress is None else (lambda d, t: progress(d, t + n_rest))
        _train_one(plain, resume=plain_resume, overwrite=overwrite, progress=bar)
    bar = None if progress is None else (lambda d, t: progress(n_plain + d, n_plain + t))
    return _train_one(interactive, resume=inter_resume, overwrite=overwrite, progress=bar)


def _train_one(cfg: TrainConfig, *, resume: bool, overwrite: bool, progress) -> Path:
    """One run folder's training (`train`'s stages)."""
    check_run_folder(cfg, resume=resume, overwrite=overwrite)
    device = pick_device(cfg.device)
    # The precision, resolved for this device (amp "auto"): config.yaml records what ran.
    amp = resolve_amp(cfg.amp, device)
    if cfg.amp == "auto":
        why = "native bf16" if device.type == "cpu" and amp else device.type
        log.info("precision (amp auto): %s (%s)", "mixed" if amp else "float32", why)
    cfg = cfg.model_copy(update={"amp": amp})
    with torch_threads(cfg.num_threads):
        # One seed for everything torch draws (initial weights); data draws use (seed, index).
        torch.manual_seed(cfg.seed)
        cfg, data = read_training_data(cfg)
        start = start_training(cfg, device, resume=resume)
        # Self-training on the unlabelled images: a loss term (with a resumed run's teacher).
        terms = self_training(cfg, data.unlabelled)
        for term, saved in zip(terms, start.terms, strict=False):
            term.load_state_dict(saved, model=start.model)
        kw = {"resume": resume, "overwrite": overwrite, "terms": terms}
        folder = RunFolder(cfg, data, start.model, start.opt, **kw)
        clicks = ClickFeedback(cfg.clicks, seed=cfg.seed, device=device, amp=cfg.mixed_precision)
        hooks = [clicks] if cfg.interactive else []
        loop = TrainLoop(
            start.model, start.opt, cfg, data, hooks=hooks, terms=terms, checkpoint=folder.save
        )
        state = loop.run(start.state, device, progress)
        return folder.finish(state)
