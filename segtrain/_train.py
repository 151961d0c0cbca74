"""The training loop (a workflow): patches -> network -> loss -> Adam(W), validated on held-out
images, writing a run folder with checkpoints, resume, early stopping and the post-processing
chosen on validation data. Reading a run folder back (`load_run`, `read_train_config`):
`_run.py`.

What a run is made of comes from its config: the network from the model registry with
``1 + 2 x context_slices`` input channels (`model_build_params`), the loss from the loss
registry (`segtrain._losses`), the data as `Batch` objects from a seeded `PatchDataset`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from shapelib import InputError
from shapelib.io import OutputExistsError, check_output_folder, open_output_folder

from . import io
from ._clicks import load_plain_weights, mark_interactive
from ._config import DataSource, TrainConfig, model_build_params
from ._data import PatchDataset, prepare_images
from ._device import autocast_for, pick_device, torch_threads
from ._feedback import add_feedback, with_zero_click_channels
from ._figures import plot_training_curves
from ._holdout import Holdout, split_holdout
from ._losses import compute_loss, loss_fn
from ._registry import build_model
from ._schedule import lr_at, projected_total
from ._validate import (
    ValData,
    choose_postprocess,
    predict_normalised,
    validate,
    validation_config,
    warn_if_diverging,
)
from ._weights import load_run, read_train_config

__all__ = ["train", "loss_fn"]

log = logging.getLogger(__name__)


# Fields a resumed run must share with the run it continues (they fix the data and network).
_RESUME_FIXED = (
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
    "interactive",
    "clicks",
)


def _config_from(config) -> TrainConfig:
    if isinstance(config, TrainConfig):
        return config
    if isinstance(config, dict):
        return TrainConfig(**config)
    return read_train_config(config)


def _read_sources(sources: list[DataSource], context: int):
    items = []
    for s in sources:
        items += io.read_source(s, context=context)
    return items


def _split(cfg: TrainConfig) -> Holdout:
    """Training and validation images: the given val set, or held out of the training data."""
    train_items = _read_sources(cfg.train, cfg.context_slices)
    if cfg.val:
        val = _read_sources(cfg.val, cfg.context_slices)
        text = f"validation on the given set ({len(val)} images)"
        return Holdout(train_items, val, "given", (), text)
    return split_holdout(
        train_items,
        mode=cfg.holdout,
        fraction=cfg.val_fraction,
        seed=cfg.seed,
        context=cfg.context_slices,
        gap_px=cfg.holdout_gap_px,
        names=cfg.val_names,
    )


def _input_paths(cfg: TrainConfig) -> list[Path]:
    """What a training reads (never written over, never holding the run folder)."""
    paths = [Path(s.path) for s in (*cfg.train, *cfg.val)]
    paths += [Path(s.label_path) for s in (*cfg.train, *cfg.val) if s.label_path]
    return paths + ([Path(cfg.init_from)] if cfg.init_from else [])


def _check_run_dir(cfg: TrainConfig, *, resume: bool, overwrite: bool) -> None:
    """Refuse to overwrite a run by accident (the output guard), or to resume one that is not
    there; writes nothing."""
    run_dir = Path(cfg.run_dir)
    try:
        check_output_folder(
            run_dir, command="train", inputs=_input_paths(cfg), overwrite=overwrite, resume=resume
        )
    except OutputExistsError as err:
        raise OutputExistsError(f"{err} (--resume continues an earlier run.)") from None
    if resume and not (run_dir / "last.pt").is_file():
        raise FileNotFoundError(f"cannot resume: {run_dir / 'last.pt'} does not exist.")


def _check_resume(cfg: TrainConfig) -> None:
    """Refuse to resume a run with settings that change its data or network."""
    run_dir = Path(cfg.run_dir)
    old = read_train_config(run_dir)
    changed = [f for f in _RESUME_FIXED if getattr(old, f) != getattr(cfg, f)]
    if changed:
        raise InputError(
            f"cannot resume {run_dir}: the config differs in {changed} from the run's "
            "config.json; resume with the same settings (max_steps may grow)."
        )


def _data(cfg: TrainConfig, split: Holdout):
    """The training patch stream and what each validation scores."""
    images, masks, sources = prepare_images(split.train, percentiles=cfg.normalize_percentiles)
    weights = {s.name or Path(s.path).stem: s.weight for s in cfg.train}
    kw = dict(patch_px=cfg.patch_px, sources=sources, source_weights=weights)
    n = cfg.max_steps * cfg.batch_size
    ds = PatchDataset(
        images,
        masks,
        length=n,
        fg_fraction=cfg.fg_fraction,
        augment=cfg.augment,
        seed=cfg.seed,
        **kw,
    )
    # Training IoU: fixed, un-augmented, uniformly placed patches (like crops of whole images).
    fixed = PatchDataset(
        images, masks, length=cfg.val_patches, fg_fraction=0.0, seed=cfg.seed + 1, **kw
    )
    train_patches = fixed.batch(0, cfg.val_patches)
    if cfg.interactive:  # scored without clicks (the held-out images too: predict_image)
        train_patches = with_zero_click_channels(train_patches)
    v_images, v_masks, _ = prepare_images(split.val, percentiles=cfg.normalize_percentiles)
    if not split.held_out:
        log.warning("%s; the validation IoU cannot show overfitting.", split.description)
    else:
        log.info("validation: %s", split.description)
    return ds, ValData(v_images, v_masks, train_patches, split.held_out)


def train(
    config: TrainConfig | dict | str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Train a segmenter and write a run folder; returns the run folder.

    Validation is on held-out data by default (`TrainConfig.holdout`; `segtrain._holdout`):
    whole images or a band of every image that training never sees. The run folder holds
    ``config.yaml``/``config.json`` (the exact config, with the hold-out mode and images used),
    ``split.json`` (what was held out), ``last.pt`` and ``best.pt`` (best held-out foreground
    IoU; ``state_dict`` + config, read with ``weights_only=True``), ``log.csv`` (one row per
    validation: step, training loss, training IoU, validation loss, Dice and IoU, lr, time),
    ``curves.png`` and ``postprocess.json`` (small-object and hole sizes chosen on the held-out
    images with the best weights). A warning is logged when the training IoU exceeds the
    held-out IoU by more than ``overfit_gap``.

    Reproducibility: torch is seeded once here from ``config.seed``; patches and augmentations
    are a pure function of (seed, patch index); the schedule follows steps unless a time budget
    is given. In float32 (``amp=False``) the same config gives the same weights on the same
    machine and thread count; bf16 autocast may differ (``benchmarks/repro_segtrain.py``).

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
    cfg = _config_from(config)
    _check_run_dir(cfg, resume=resume, overwrite=overwrite)
    with torch_threads(cfg.num_threads):
        return _train(cfg, resume=resume, overwrite=overwrite, progress=progress)


def _train(cfg: TrainConfig, *, resume: bool, overwrite: bool, progress) -> Path:
    run_dir = Path(cfg.run_dir)
    last_path = run_dir / "last.pt"
    # One seed for everything torch draws (initial weights); data draws use (seed, index).
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)

    # Data: read, hold out validation images, record the split in the config.
    split = _split(cfg)
    if not cfg.val:
        cfg = cfg.model_copy(update={"holdout": split.mode, "val_names": list(split.names)})
    if resume:
        _check_resume(cfg)
    ds, val_data = _data(cfg, split)

    # Model (input channels from the config) and optimiser.
    params = model_build_params(cfg)
    model = build_model(cfg.model, params).to(device)
    mark_interactive(model, cfg.clicks if cfg.interactive else None)
    if cfg.amp:
        model = model.to(memory_format=torch.channels_last)
    opt_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    opt = opt_cls(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, best, bad, elapsed, rows, warned = 0, -1.0, 0, 0.0, [], False
    if cfg.init_from and not resume:
        init, init_cfg = load_run(cfg.init_from, which="last", expect_model=cfg.model)
        plain_start = cfg.interactive and not init_cfg.interactive
        want = {**params, "in_channels": cfg.image_channels} if plain_start else params
        if model_build_params(init_cfg) != want:
            raise InputError(
                f"init_from {cfg.init_from} holds a {cfg.model!r} with params "
                f"{model_build_params(init_cfg)}, this run builds {want}; give the same "
                "model_params and context_slices, or another run."
            )
        if plain_start:  # a plain run starts an interactive one: click channels start at zero
            widened = load_plain_weights(model, init.state_dict(), cfg.image_channels)
            log.info(
                "init_from %s (not interactive): click channels of %s start at zero",
                cfg.init_from,
                ", ".join(widened),
            )
        else:
            model.load_state_dict(init.state_dict())
    if resume:
        ck = io.load_checkpoint(last_path)
        model.load_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["optimizer"])
        step, best, bad = int(ck["step"]), float(ck["best_score"]), int(ck["bad_evals"])
        elapsed, rows = float(ck["elapsed_s"]), json.loads(ck["log_json"])
        warned = bool(ck.get("warned", False))
        log.info("resuming %s at step %d", run_dir, step)
    # The run folder through the output guard (overwrite removes only an earlier run's files).
    out_dir = open_output_folder(
        run_dir,
        command="train",
        inputs=_input_paths(cfg),
        overwrite=overwrite,
        resume=resume,
        details={"model": cfg.model},
    )
    out_dir.claim(
        "config.json",
        "config.yaml",
        "best.pt",
        "last.pt",
        "log.csv",
        "curves.png",
        io.SPLIT_FILE,
        io.POSTPROCESS_FILE,
    )
    if not resume:  # a choice of an earlier run in this folder must not outlive it
        (run_dir / io.POSTPROCESS_FILE).unlink(missing_ok=True)
    io.write_run_config(run_dir, cfg)
    io.write_config(run_dir / io.SPLIT_FILE, split.as_dict())

    def payload() -> dict:
        return {
            "model_name": cfg.model,
            "model_params_json": json.dumps(params, sort_keys=True),
            "interactive": cfg.interactive,
            "clicks_json": cfg.clicks.model_dump_json() if cfg.interactive else "",
            "config_json": cfg.model_dump_json(),
            "state_dict": model.state_dict(),
            "optimizer": opt.state_dict(),
            "step": step,
            "best_score": best,
            "bad_evals": bad,
            "elapsed_s": elapsed,
            "log_json": json.dumps(rows),
            "warned": warned,
        }

    total = projected_total(cfg, step, elapsed)
    if progress is not None:
        progress(step, total)
    model.train()
    t_last, running, n_seen = time.perf_counter(), [], 0
    stop = False
    while step < cfg.max_steps and not stop:
        # One optimiser step on batch `step` of the deterministic patch stream.
        for g in opt.param_groups:
            g["lr"] = lr_at(cfg, step, elapsed)
        batch = ds.batch(step * cfg.batch_size, cfg.batch_size).to(device, channels_last=cfg.amp)
        if cfg.interactive:  # clicks from a simulated user (segtrain._feedback)
            feedback_rng = np.random.default_rng((cfg.seed, 10, step))
            batch = add_feedback(
                model, batch, cfg.clicks, rng=feedback_rng, device=device, amp=cfg.amp
            ).to(device, channels_last=cfg.amp)
        with autocast_for(device, cfg.amp):
            out = compute_loss(cfg.loss, model, batch)
        if not torch.isfinite(out.loss):
            raise InputError(
                f"training diverged: the loss is {float(out.loss)} at step {step + 1}; nothing "
                "of this step is saved. Lower the learning rate (--lr) or check the data."
            )
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        opt.step()
        step += 1
        running.append(float(out.loss.detach()))
        n_seen += cfg.batch_size
        now = time.perf_counter()
        elapsed += now - t_last
        t_last = now
        out_of_time = cfg.time_budget_min is not None and elapsed >= 60 * cfg.time_budget_min
        total = projected_total(cfg, step, elapsed)
        if progress is not None:
            progress(step, total)
        # Validate, log and checkpoint every val_every steps and at the end.
        if step % cfg.val_every == 0 or step == cfg.max_steps or out_of_time:
            t0 = time.perf_counter()
            metrics = validate(model, val_data, cfg, device)
            row = {
                "step": step,
                "train_loss": float(np.mean(running)),
                **metrics,
                "lr": opt.param_groups[0]["lr"],
                "elapsed_s": round(elapsed, 2),
                "samples_per_s": round(n_seen / max(_since_last(rows, elapsed), 1e-9), 3),
            }
            rows.append(row)
            running, n_seen = [], 0
            if metrics["val_iou"] > best:
                best, bad = metrics["val_iou"], 0
                io.save_checkpoint(run_dir / "best.pt", payload())
            else:
                bad += 1
            warned = warn_if_diverging(row, cfg, val_data.held_out, warned)
            io.save_checkpoint(last_path, payload())
            io.write_log_csv(run_dir / "log.csv", rows)
            log.info("step %d %s", step, row)
            if cfg.patience and bad >= cfg.patience:
                log.info("early stop at step %d (patience %d)", step, cfg.patience)
                stop = True
            if out_of_time:
                log.info("time budget of %s min reached at step %d", cfg.time_budget_min, step)
                stop = True
            t_last += time.perf_counter() - t0  # validation time is not training time
    if progress is not None and total != step:  # stopped early: the bar ends full
        progress(step, step)
    if rows:
        io.write_figure(run_dir / "curves.png", plot_training_curves(rows, note=split.description))
    if val_data.held_out and (run_dir / "best.pt").is_file():
        _write_postprocess(model, val_data, cfg, device, run_dir)
    return run_dir


def _since_last(rows: list[dict], elapsed: float) -> float:
    """Training seconds since the previous log row."""
    return elapsed - (rows[-1]["elapsed_s"] if rows else 0.0)


def _write_postprocess(model, val_data: ValData, cfg: TrainConfig, device, run_dir: Path):
    """Choose small-object and hole sizes on the held-out images with the best weights."""
    ck = io.load_checkpoint(run_dir / "best.pt")
    model.load_state_dict(ck["state_dict"])
    probs = predict_normalised(model, val_data.images, validation_config(cfg))
    choice = choose_postprocess(probs, val_data.masks)
    io.write_config(run_dir / io.POSTPROCESS_FILE, {**choice.as_dict(), "chosen_on": "validation"})
    log.info(
        "post-processing chosen on validation: min_size_px %d, max_hole_px %d",
        choice.min_size_px,
        choice.max_hole_px,
    )
