"""Train, then evaluate (workflows): a short round on one data set (`train_and_evaluate`) and
the benchmark grid, models x training data (real, synthetic, synthetic then real, real +
synthetic) x test sets, with one table of mean +- std per test set (3DMSL's Table 4 shape)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shapelib import FileName, InputError
from shapelib.io import OutputFolder, check_output_folder, open_output_folder

from . import io
from ._config import DataSource, TrainConfig
from ._figures import plot_bench_table, plot_predictions
from ._metrics import Connectivity, EvaluationResult
from ._registry import ModelName
from ._workflow import predict_and_evaluate

__all__ = ["BenchConfig", "REGIMES", "format_table", "run_bench", "train_and_evaluate"]

log = logging.getLogger(__name__)

Regime = Literal["real", "synthetic", "synthetic_then_real", "real_plus_synthetic"]
REGIMES = ("real", "synthetic", "synthetic_then_real", "real_plus_synthetic")


class BenchConfig(BaseModel):
    """A benchmark grid. `train` holds the shared training settings (a partial TrainConfig)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    models: dict[ModelName, dict[str, Any]] = Field(
        description="Model name -> model_params, e.g. {'unet': {'depth': 3, 'width': 16}}."
    )
    real: list[DataSource] = Field(default_factory=list, description="Real training data.")
    synthetic: list[DataSource] = Field(default_factory=list, description="Synthetic data.")
    regimes: list[Regime] = Field(default_factory=lambda: ["real"], description="Training data.")
    synthetic_share: float = Field(
        0.5, gt=0, lt=1, description="Share of synthetic patches in real_plus_synthetic."
    )
    finetune_steps: int = Field(100, ge=1, description="Steps on real data after synthetic.")
    test_sets: dict[FileName, str] = Field(
        min_length=1,
        description="Name (a plain file name: it names folders) -> folder with images/ and "
        "masks/ (or image/, label/).",
    )
    train: dict[str, Any] = Field(
        default_factory=dict,
        description="TrainConfig fields shared by every run (not train/run_dir).",
    )
    tile_px: int = Field(256, ge=16, description="Prediction tile side.")
    overlap_px: int = Field(64, ge=0, description="Prediction tile overlap.")
    tta: bool = Field(False, description="Flip test-time augmentation.")
    connectivity: Connectivity = Field(
        4, description="Foreground connectivity of the Betti error (4 or 8)."
    )


def _sources(cfg: BenchConfig, regime: str) -> list[DataSource]:
    need = {
        "real": ["real"],
        "synthetic": ["synthetic"],
        "synthetic_then_real": ["real", "synthetic"],
        "real_plus_synthetic": ["real", "synthetic"],
    }[regime]
    for n in need:
        if not getattr(cfg, n):
            raise InputError(f"regime {regime!r} needs `{n}` training data in the bench config.")
    if regime == "real":
        return cfg.real
    if regime == "synthetic":
        return cfg.synthetic
    if regime == "synthetic_then_real":
        return cfg.real
    # Mixture: weights so the synthetic sources together get `synthetic_share` of the patches.
    s = cfg.synthetic_share
    real = [
        d.model_copy(update={"weight": (1 - s) / len(cfg.real), "name": d.name or f"real{i}"})
        for i, d in enumerate(cfg.real)
    ]
    syn = [
        d.model_copy(update={"weight": s / len(cfg.synthetic), "name": d.name or f"syn{i}"})
        for i, d in enumerate(cfg.synthetic)
    ]
    return real + syn


def _all_sources(cfg: BenchConfig, regime: str) -> list[DataSource]:
    if regime == "synthetic_then_real":
        return cfg.synthetic + cfg.real
    return _sources(cfg, regime)


def _train_regime(
    cfg: BenchConfig, model: str, params: dict, regime: str, bench: OutputFolder, progress
):
    """Train one (model, regime) in ``bench``'s ``runs/`` (each run folder claimed by the
    bench, so the bench's ``overwrite`` replaces it; a run is never trained over otherwise)."""
    from ._train import train

    base = {k: v for k, v in cfg.train.items() if k not in ("train", "run_dir", "model")}
    base["model_params"] = params
    run_dir = bench.subfolder(f"runs/{model}__{regime}")
    if regime == "synthetic_then_real":
        pre_dir = bench.subfolder(f"runs/{model}__synthetic_pre")
        pre = TrainConfig(**base, model=model, train=cfg.synthetic, run_dir=str(pre_dir))
        train(pre, progress=progress)
        ft = {**base, "max_steps": cfg.finetune_steps, "init_from": pre.run_dir}
        tc = TrainConfig(**ft, model=model, train=cfg.real, run_dir=str(run_dir))
    else:
        tc = TrainConfig(**base, model=model, train=_sources(cfg, regime), run_dir=str(run_dir))
    return train(tc, progress=progress)


def format_table(table) -> str:
    """Markdown table: model, training data, test set, then mean +- std of Betti error, Dice and
    foreground IoU per image, and pooled foreground IoU."""
    lines = [
        "| model | training data | test set | Betti error (lower) | Dice | IoU (fg) | IoU pooled |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.model} | {r.training} ({r.train_data}) | {r.test_set} | "
            f"{r.betti_error_mean:.3f} +- "
            f"{r.betti_error_std:.3f} | {r.dice_mean:.3f} +- {r.dice_std:.3f} | "
            f"{r.iou_mean:.3f} +- {r.iou_std:.3f} | {r.iou_pooled:.3f} |"
        )
    return "\n".join(lines) + "\n"


def run_bench(
    config: BenchConfig | dict,
    out: str | Path,
    *,
    overwrite: bool = False,
    inputs=(),
    progress: Callable[[int, int], None] | None = None,
):
    """Run the grid; write ``table.csv``, ``table.md``, ``table.png``, ``bench.yaml`` and the runs.

    Every run folder (``out/runs/MODEL__REGIME``) keeps its exact ``config.yaml``; predictions
    go to ``out/pred/MODEL__REGIME/TEST``. Each test set is read once, before any training.

    Parameters
    ----------
    config : BenchConfig or its fields
    out : output folder, through the output guard: new or empty, or an earlier bench replaced
        with `overwrite` (its runs included; nothing else); an existing bench is never trained
        over otherwise
    overwrite : bool
    inputs : more paths the bench reads (its config file); the data folders are added
    progress : callable or None, passed to every training: ``progress(steps done, max_steps)``

    Returns
    -------
    pandas.DataFrame, one row per (model, training data, test set) with the evaluation summary.
    """
    import pandas as pd

    cfg = config if isinstance(config, BenchConfig) else BenchConfig(**config)
    out = Path(out)
    for regime in cfg.regimes:  # fail early on a regime without data
        _sources(cfg, regime)
    data = [Path(d.path) for d in (*cfg.real, *cfg.synthetic)]
    data += [Path(p) for p in cfg.test_sets.values()]
    ins = [*map(Path, inputs), *data]
    check_output_folder(out, command="bench", inputs=ins, overwrite=overwrite)
    tests = {}
    for name, path in cfg.test_sets.items():
        if not Path(path).is_dir():
            raise FileNotFoundError(f"test set {name!r}: folder {path} does not exist.")
        tests[name] = io.read_pairs_folder(path, source=name)
    bench = open_output_folder(out, command="bench", inputs=ins, overwrite=overwrite)
    io.write_yaml(bench.path("bench.yaml"), cfg)
    rows = []
    for model, params in cfg.models.items():
        for regime in cfg.regimes:
            log.info("bench: training %s on %s", model, regime)
            run_dir = _train_regime(cfg, model, params, regime, bench, progress)
            for test_name, test in tests.items():
                pred = open_output_folder(
                    bench.subfolder(f"pred/{model}__{regime}/{test_name}"), command="predict",
                    inputs=[run_dir],
                )  # fmt: skip
                res, _ = predict_and_evaluate(
                    run_dir,
                    test,
                    pred,
                    tile_px=cfg.tile_px,
                    overlap_px=cfg.overlap_px,
                    tta=cfg.tta,
                    connectivity=cfg.connectivity,
                )
                io.write_csv(pred.path("per_image.csv"), res.per_image)
                names = "+".join(d.name or Path(d.path).name for d in _all_sources(cfg, regime))
                row = {"model": model, "training": regime, "train_data": names}
                rows.append({**row, "test_set": test_name, **res.summary})
    table = pd.DataFrame(rows)
    bench.claim("table.csv", "table.md", "table.png")
    io.write_bench_outputs(out, table, format_table(table), plot_bench_table(table))
    return table


def train_and_evaluate(
    train_data: str | Path,
    test_data: str | Path,
    out: str | Path,
    *,
    model: ModelName = "unet",
    model_params: dict | None = None,
    minutes: float = 2.0,
    max_steps: int = 400,
    patch_px: int = 128,
    batch_size: int = 4,
    seed: int = 0,
    n_figure: int = 3,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> EvaluationResult:
    """Train briefly on `train_data`, predict `test_data`, evaluate, and draw a figure.

    Writes ``out/run/`` (the run folder), ``out/pred/`` (probabilities and masks),
    ``out/metrics.csv`` (per image), ``out/summary.csv`` (mean, std and pooled, named) and
    ``out/predictions.png`` (image, prediction, overlay with the truth for `n_figure` images).
    The test folder is read once.

    Parameters
    ----------
    train_data, test_data : folders with images/ and masks/ (or image/ and label/)
    out : output folder (through the output guard: new or empty, or an earlier round replaced
        with `overwrite`)
    minutes : wall-clock training budget (training also stops at `max_steps`)
    progress : callable or None, ``progress(done, total)`` of the training (steps), then of the
        prediction (images)

    Returns
    -------
    EvaluationResult (per-image table and summary dict)

    Examples
    --------
    >>> res = train_and_evaluate("lucchi_pp/train", "lucchi_pp/test", "out/seg",
    ...                          minutes=2)                                  # doctest: +SKIP
    >>> res.summary["iou_pooled"]                                           # doctest: +SKIP
    """
    from ._train import train

    out = Path(out)
    ins = [Path(train_data), Path(test_data)]
    check_output_folder(out, command="train_and_evaluate", inputs=ins, overwrite=overwrite)
    test = io.read_pairs_folder(test_data)  # before training: a bad test folder fails early
    guard = open_output_folder(out, command="train_and_evaluate", inputs=ins, overwrite=overwrite)
    cfg = TrainConfig(
        train=[DataSource(path=str(train_data))],
        run_dir=str(guard.subfolder("run")),
        model=model,
        model_params=model_params if model_params is not None else {"depth": 4, "width": 16},
        patch_px=patch_px,
        batch_size=batch_size,
        max_steps=max_steps,
        time_budget_min=minutes,
        val_every=max(1, min(50, max_steps)),
        val_patches=8,
        seed=seed,
    )
    run = train(cfg, progress=progress)
    pred = open_output_folder(guard.subfolder("pred"), command="predict", inputs=[run])
    res, masks = predict_and_evaluate(run, test, pred, which="last", progress=progress)
    io.write_csv(guard.path("metrics.csv"), res.per_image)
    io.write_csv(guard.path("summary.csv"), res.summary_table().reset_index(names="metric"))
    # Figure: the first n_figure test images with prediction and truth.
    shown = test[:n_figure]
    fig = plot_predictions(
        [it.image for it in shown],
        [masks[it.name] for it in shown],
        [it.mask for it in shown],
        titles=[it.name for it in shown],
    )
    io.write_figure(guard.path("predictions.png"), fig, dpi=80)
    return res
