"""The training loop (a workflow): patches -> network -> BCE/Dice -> Adam(W), writing a run
folder with checkpoints, resume and early stopping; and reading a run folder back."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from shapelib import InputError
from shapelib.io import OutputExistsError, check_output_folder, open_output_folder

from . import io
from ._config import CONFIG_VERSION, DataSource, TrainConfig
from ._data import PatchDataset, prepare_images
from ._device import autocast_for, pick_device
from ._figures import plot_training_curves
from ._registry import build_model

__all__ = ["train", "load_run", "loss_fn", "read_train_config"]

log = logging.getLogger(__name__)


def read_train_config(path: str | Path) -> TrainConfig:
    """Read a `TrainConfig` from YAML or JSON, naming the file in any error.

    A run folder may be given: its ``config.json`` is read. A config of another format version
    is refused.
    """
    from pydantic import ValidationError

    from shapelib._errors import format_validation_error

    data = io.read_run_config(path)
    version = data.get("version", CONFIG_VERSION)
    if version != CONFIG_VERSION:
        raise InputError(
            f"config {path} has format version {version}; this segtrain reads version "
            f"{CONFIG_VERSION}. Re-train, or write the config again with the current fields."
        )
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as err:
        raise InputError(
            f"config {path} does not fit this segtrain version ({format_validation_error(err)}). "
            "Fix the fields, or re-train if the run folder comes from an older version."
        ) from None


def loss_fn(logits: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """BCE (with logits), soft Dice (1 - Dice over the batch), or their sum; in float32."""
    logits = logits.float()
    total = logits.new_zeros(())
    if "bce" in kind:
        total = total + F.binary_cross_entropy_with_logits(logits, target)
    if "dice" in kind:
        p = torch.sigmoid(logits)
        inter = (p * target).sum()
        total = total + 1 - (2 * inter + 1) / (p.sum() + target.sum() + 1)
    return total


def _config_from(config) -> TrainConfig:
    if isinstance(config, TrainConfig):
        return config
    if isinstance(config, dict):
        return TrainConfig(**config)
    return read_train_config(config)


def _read_sources(sources: list[DataSource]):
    items = []
    for s in sources:
        items += io.read_source(s)
    return items


def _split(cfg: TrainConfig):
    """Training and validation images, and whether validation is held out."""
    train_items = _read_sources(cfg.train)
    if cfg.val:
        return train_items, _read_sources(cfg.val), True
    if cfg.val_fraction > 0 and len(train_items) >= 2:
        rng = np.random.default_rng(cfg.seed)
        order = rng.permutation(len(train_items))
        n_val = max(1, int(round(cfg.val_fraction * len(train_items))))
        val = [train_items[i] for i in sorted(order[:n_val])]
        tr = [train_items[i] for i in sorted(order[n_val:])]
        return tr, val, True
    return train_items, train_items, False


def _lr_at(cfg: TrainConfig, step: int, elapsed_s: float) -> float:
    """Peak lr with a short warm-up, then constant or cosine to 1% over steps or the budget."""
    frac = step / cfg.max_steps
    if cfg.time_budget_min:
        frac = max(frac, elapsed_s / (60 * cfg.time_budget_min))
    warm = min(1.0, (step + 1) / 20)
    if cfg.schedule == "constant":
        return cfg.lr * warm
    return cfg.lr * warm * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


@torch.no_grad()
def _validate(model, val_x, val_y, cfg, device) -> dict:
    model.eval()
    losses, inter, psum, tsum = [], 0.0, 0.0, 0.0
    for k in range(0, len(val_x), cfg.batch_size):
        x = val_x[k : k + cfg.batch_size].to(device)
        y = val_y[k : k + cfg.batch_size].to(device)
        if cfg.amp:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast_for(device, cfg.amp):
            logits = model(x)
        losses.append(float(loss_fn(logits, y, cfg.loss)))
        pred = (logits.float() > 0).float()
        inter += float((pred * y).sum())
        psum += float(pred.sum())
        tsum += float(y.sum())
    model.train()
    union = psum + tsum - inter
    # Pooled over the fixed validation patches; both empty counts as perfect.
    dice = 1.0 if psum + tsum == 0 else 2 * inter / (psum + tsum)
    iou = 1.0 if union == 0 else inter / union
    return {"val_loss": float(np.mean(losses)), "val_dice": dice, "val_iou": iou}


def _input_paths(cfg: TrainConfig) -> list[Path]:
    """What a training reads (never written over, never holding the run folder)."""
    paths = [Path(s.path) for s in (*cfg.train, *cfg.val)]
    paths += [Path(s.label_path) for s in (*cfg.train, *cfg.val) if s.label_path]
    return paths + ([Path(cfg.init_from)] if cfg.init_from else [])


def _check_run_dir(cfg: TrainConfig, *, resume: bool, overwrite: bool) -> None:
    """Refuse to overwrite a run by accident (the output guard), or to resume one with other
    settings; writes nothing."""
    run_dir = Path(cfg.run_dir)
    try:
        check_output_folder(
            run_dir, command="train", inputs=_input_paths(cfg), overwrite=overwrite, resume=resume
        )
    except OutputExistsError as err:
        raise OutputExistsError(f"{err} (--resume continues an earlier run.)") from None
    if not resume:
        return
    if not (run_dir / "last.pt").is_file():
        raise FileNotFoundError(f"cannot resume: {run_dir / 'last.pt'} does not exist.")
    old = read_train_config(run_dir)
    fixed = ("model", "model_params", "train", "patch_px", "batch_size", "seed", "loss")
    changed = [f for f in fixed if getattr(old, f) != getattr(cfg, f)]
    if changed:
        raise InputError(
            f"cannot resume {run_dir}: the config differs in {changed} from the run's "
            "config.json; resume with the same settings (max_steps may grow)."
        )


def _patches(cfg: TrainConfig):
    """The training patch stream and the fixed validation patches (x, y) of a config."""
    tr_items, val_items, held_out = _split(cfg)
    images, masks, sources = prepare_images(tr_items, percentiles=cfg.normalize_percentiles)
    weights = {s.name or Path(s.path).stem: s.weight for s in cfg.train}
    ds = PatchDataset(
        images,
        masks,
        patch_px=cfg.patch_px,
        length=cfg.max_steps * cfg.batch_size,
        sources=sources,
        source_weights=weights,
        fg_fraction=cfg.fg_fraction,
        augment=cfg.augment,
        seed=cfg.seed,
    )
    v_images, v_masks, _ = prepare_images(val_items, percentiles=cfg.normalize_percentiles)
    val_ds = PatchDataset(
        v_images, v_masks, patch_px=cfg.patch_px, length=cfg.val_patches, seed=cfg.seed + 1
    )
    val_x, val_y = val_ds.batch(0, cfg.val_patches)
    if not held_out:
        log.warning("no held-out validation data: validating on fixed training-image patches")

    return ds, val_x, val_y


def train(
    config: TrainConfig | dict | str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Train a segmenter and write a run folder; returns the run folder.

    The run folder holds ``config.yaml``/``config.json`` (the exact config), ``last.pt`` and
    ``best.pt`` (``state_dict`` + config, read with ``weights_only=True``), ``log.csv`` (one row
    per validation: step, losses, pooled validation Dice and foreground IoU, lr, time) and
    ``curves.png``. torch is seeded once here from ``config.seed``; patches and augmentations
    are a pure function of (seed, patch index), so a resumed run sees the same data.

    Parameters
    ----------
    config : TrainConfig, dict, or path to a YAML/JSON config
    resume : bool, continue from ``run_dir/last.pt`` (same config required)
    overwrite : bool, start afresh even if ``run_dir`` holds a run
    progress : callable or None, called as ``progress(steps done, max_steps)`` after each step

    Returns
    -------
    run_dir : Path

    Examples
    --------
    >>> cfg = TrainConfig(train=[DataSource(path="data/lucchi/train")], run_dir="runs/unet",
    ...                   model="unet", max_steps=2000, time_budget_min=10)
    >>> run_dir = train(cfg)  # doctest: +SKIP
    """
    cfg = _config_from(config)
    run_dir = Path(cfg.run_dir)
    last_path = run_dir / "last.pt"
    _check_run_dir(cfg, resume=resume, overwrite=overwrite)
    # One seed for everything torch draws (initial weights); data draws use (seed, index).
    torch.manual_seed(cfg.seed)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    device = pick_device(cfg.device)

    # Data: training patches and fixed validation patches.
    ds, val_x, val_y = _patches(cfg)

    # Model and optimiser.
    model = build_model(cfg.model, cfg.model_params).to(device)
    if cfg.amp:
        model = model.to(memory_format=torch.channels_last)
    opt_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    opt = opt_cls(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, best, bad, elapsed, rows = 0, -1.0, 0, 0.0, []
    if cfg.init_from and not resume:
        init, _ = load_run(cfg.init_from, which="last", expect_model=cfg.model)
        model.load_state_dict(init.state_dict())
    if resume:
        ck = io.load_checkpoint(last_path)
        model.load_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["optimizer"])
        step, best, bad = int(ck["step"]), float(ck["best_score"]), int(ck["bad_evals"])
        elapsed, rows = float(ck["elapsed_s"]), json.loads(ck["log_json"])
        log.info("resuming %s at step %d", run_dir, step)
    out = open_output_folder(
        run_dir, command="train", inputs=_input_paths(cfg), overwrite=overwrite, resume=resume,
        details={"model": cfg.model},
    )  # fmt: skip
    out.claim("config.json", "config.yaml", "best.pt", "last.pt", "log.csv", "curves.png")
    io.write_run_config(run_dir, cfg)

    def payload() -> dict:
        return {
            "model_name": cfg.model,
            "model_params_json": json.dumps(cfg.model_params, sort_keys=True),
            "config_json": cfg.model_dump_json(),
            "state_dict": model.state_dict(),
            "optimizer": opt.state_dict(),
            "step": step,
            "best_score": best,
            "bad_evals": bad,
            "elapsed_s": elapsed,
            "log_json": json.dumps(rows),
        }

    if progress is not None:
        progress(step, cfg.max_steps)
    model.train()
    t_last, running, n_seen = time.perf_counter(), [], 0
    stop = False
    while step < cfg.max_steps and not stop:
        # One optimiser step on batch `step` of the deterministic patch stream.
        for g in opt.param_groups:
            g["lr"] = _lr_at(cfg, step, elapsed)
        x, y = ds.batch(step * cfg.batch_size, cfg.batch_size)
        x, y = x.to(device), y.to(device)
        if cfg.amp:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast_for(device, cfg.amp):
            logits = model(x)
        loss = loss_fn(logits, y, cfg.loss)
        if not torch.isfinite(loss):
            raise InputError(
                f"training diverged: the loss is {float(loss)} at step {step + 1}; nothing of "
                "this step is saved. Lower the learning rate (--lr) or check the data."
            )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        running.append(float(loss.detach()))
        n_seen += cfg.batch_size
        now = time.perf_counter()
        elapsed += now - t_last
        t_last = now
        out_of_time = cfg.time_budget_min is not None and elapsed >= 60 * cfg.time_budget_min
        if progress is not None:
            progress(step, cfg.max_steps)
        # Validate, log and checkpoint every val_every steps and at the end.
        if step % cfg.val_every == 0 or step == cfg.max_steps or out_of_time:
            t0 = time.perf_counter()
            metrics = _validate(model, val_x, val_y, cfg, device)
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
    if rows:
        io.write_figure(run_dir / "curves.png", plot_training_curves(rows))
    return run_dir


def _since_last(rows: list[dict], elapsed: float) -> float:
    """Training seconds since the previous log row."""
    return elapsed - (rows[-1]["elapsed_s"] if rows else 0.0)


def load_run(run_dir: str | Path, *, which: str = "best", expect_model: str | None = None):
    """Load a trained network and its config from a run folder (or a checkpoint file).

    Parameters
    ----------
    run_dir : path to a run folder, or to a ``.pt`` file written by `train`
    which : "best" or "last"
    expect_model : str or None, error if the checkpoint holds another model

    Returns
    -------
    model : torch.nn.Module in eval mode, on CPU
    config : TrainConfig
    """
    if which not in ("best", "last"):
        raise InputError(f"which checkpoint must be 'best' or 'last'; got {which!r}.")
    path = Path(run_dir)
    if path.is_dir():
        cand = path / f"{which}.pt"
        path = cand if cand.is_file() else path / "last.pt"
    ck = io.load_checkpoint(path)
    missing = {"model_name", "config_json", "state_dict"} - set(ck)
    if missing:
        raise InputError(f"checkpoint {path} lacks {sorted(missing)}; it is cut or foreign.")
    cfg = read_train_config(path.parent) if (path.parent / "config.json").is_file() else None
    if cfg is None:
        try:
            cfg = TrainConfig(**json.loads(ck["config_json"]))
        except (TypeError, ValueError) as err:
            raise InputError(f"checkpoint {path} holds no valid config ({err}).") from None
    name = ck["model_name"]
    if expect_model is not None and name != expect_model:
        raise InputError(
            f"checkpoint {path} holds a {name!r} model, not {expect_model!r}; pass a run of "
            f"{expect_model!r} or ask for {name!r}."
        )
    if name != cfg.model:
        raise InputError(
            f"checkpoint {path} holds a {name!r} model but the run's config.json says "
            f"{cfg.model!r}; the folder mixes two runs. Re-train or fix config.json."
        )
    model = build_model(name, cfg.model_params)
    try:
        model.load_state_dict(ck["state_dict"])
    except RuntimeError as err:
        first = str(err).splitlines()[1:2]
        raise InputError(
            f"checkpoint {path} does not fit a {name!r} model with params {cfg.model_params} "
            f"({first[0].strip() if first else err}); it comes from another model or settings."
        ) from None
    model.eval()
    return model, cfg
