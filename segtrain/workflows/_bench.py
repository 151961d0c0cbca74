"""The benchmark grid (a workflow): models x training data (real, synthetic, synthetic then
real, real + synthetic) x seeds x test sets x test-time outputs, at equal steps by default,
and the merge of benches run in sittings. A short round on one data set
(`train_and_evaluate`): `_round.py`.

Fair by construction: every model gets the same number of optimiser steps (the training
recipe's, or ``train.max_steps``), the same data, held-out rule and seeds; the table reports
mean +- std over seeds beside the per-image spread, the time per step and the parameter count
(`segtrain.bench._table`). A wall-clock comparison (every model gets the same minutes) is an
explicit option, ``budget: minutes``: it measures the machine's load as well.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from shapelib import InputError
from shapelib.io import atomic_write, check_output_folder, open_output_folder

from .. import io
from ..bench._config import BenchConfig, all_sources, base_train, regime_sources
from ..bench._table import GROUP, aggregate_seeds, format_table
from ..figures import plot_bench_table
from ..inference._config import InferenceConfig
from ..training._config import DataSource, TrainConfig
from ._round import evaluate_items, predict_items
from ._run import Run
from ._train_data import read_source_2p5d

__all__ = ["BenchConfig", "format_table", "merge_bench", "run_bench"]

log = logging.getLogger(__name__)


def _train_regime(
    cfg: BenchConfig, model: str, params: dict, regime: str, seed: int, bench, progress
) -> Path:
    """Train one (model, regime, seed) in ``bench``'s ``runs/`` (each run folder claimed by the
    bench, so the bench's ``overwrite`` replaces it; a run is never trained over otherwise)."""
    from ._train import train

    base = {**base_train(cfg), "model_params": params, "seed": seed}
    run_dir = bench.subfolder(f"runs/{model}__{regime}__seed{seed}")
    if regime == "synthetic_then_real":
        pre_dir = bench.subfolder(f"runs/{model}__synthetic_pre__seed{seed}")
        pre = TrainConfig(**base, model=model, train=cfg.synthetic, run_dir=str(pre_dir))
        train(pre, progress=progress)
        ft = {**base, "max_steps": cfg.finetune_steps, "init_from": pre.run_dir}
        tc = TrainConfig(**ft, model=model, train=cfg.real, run_dir=str(run_dir))
    else:
        tc = TrainConfig(
            **base, model=model, train=regime_sources(cfg, regime), run_dir=str(run_dir)
        )
    if tc.interactive and tc.init_from is None and tc.plain_share > 0:
        bench.subfolder(f"runs/{run_dir.name}_plain")  # its plain stage's run (`plain_stage`)
    return train(tc, progress=progress)


def _run_facts(run: Run) -> dict:
    """steps, s_per_step (training time, validation excluded) and params of a finished run."""
    rows = io.read_log_csv(run.source / "log.csv")
    steps = int(rows[-1]["step"])
    return {
        "steps": steps,
        "s_per_step": float(rows[-1]["elapsed_s"]) / max(steps, 1),
        "params": int(sum(p.numel() for p in run.model.parameters())),
    }


def _outputs(cfg: BenchConfig, run: Run) -> list[tuple[str, str, tuple[int, int], bool]]:
    """(output name, tta mode, (min_size_px, max_hole_px), resample) of every output to
    evaluate; with `cfg.resample`, each TTA mode once more on images resampled to the training
    pixel size ("plain@train_px", ..., without clean-up: its sizes are training pixels)."""
    sizes = None
    if cfg.clean and run.postprocess is None:
        log.warning("bench: %s chose no post-processing; no clean output", run.source)
    elif cfg.clean:
        sizes = (int(run.postprocess["min_size_px"]), int(run.postprocess["max_hole_px"]))
    out = []
    for mode in cfg.tta:
        name = "plain" if mode == "none" else mode
        out.append((name, mode, (0, 0), False))
        if sizes is not None:
            out.append((f"{name}+clean", mode, sizes, False))
    if cfg.resample:
        out += [(f"{n}@train_px", m, (0, 0), True) for n, m, _, _ in list(out) if "+" not in n]
    return out


def run_bench(
    config: BenchConfig | dict,
    out: str | Path,
    *,
    inputs=(),
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
):
    """Run the grid; write ``table.csv``, ``table.md``, ``table.png`` (over seeds),
    ``table_seeds.csv`` (one row per seed), ``bench.yaml`` and the runs.

    Every run folder (``out/runs/MODEL__REGIME__seedS``) keeps its exact ``config.yaml``;
    per-image metrics go to ``out/pred/MODEL__REGIME__seedS/TEST/OUTPUT/per_image.csv`` (with the
    TIFFs when `save_predictions` asks). Each test set is read once, before any training.

    Parameters
    ----------
    config : BenchConfig or its fields
    out : output folder, through the output guard (new or empty, or an earlier bench replaced
        with `overwrite`: its runs and predictions only)
    inputs : paths the bench reads besides its data (e.g. the bench.yaml); never written over
    progress : callable or None, passed to every training: ``progress(steps done, steps)``

    Returns
    -------
    pandas.DataFrame, one row per (model, training data, test set, output), over seeds.
    """
    import pandas as pd

    cfg = config if isinstance(config, BenchConfig) else BenchConfig(**config)
    out = Path(out)
    for regime in cfg.regimes:  # fail early on a regime without data
        regime_sources(cfg, regime)
    data = [Path(d.path) for d in (*cfg.real, *cfg.synthetic)]
    data += [Path(p) for p in cfg.test_sets.values()]
    ins = [*map(Path, inputs), *data]
    check_output_folder(out, command="bench", inputs=ins, overwrite=overwrite)
    context = int(cfg.train.get("context_slices", 0))
    tests = {}
    for name, path in cfg.test_sets.items():
        if not Path(path).exists():
            raise FileNotFoundError(f"test set {name!r}: {path} does not exist.")
        tests[name] = read_source_2p5d(DataSource(path=str(path), name=name), context)
    _warn_test_on_training(cfg)
    bench = open_output_folder(out, command="bench", inputs=ins, overwrite=overwrite)
    io.write_yaml(bench.path("bench.yaml"), cfg)
    inference = InferenceConfig(
        tile_px=cfg.tile_px, overlap_px=cfg.overlap_px, threads=cfg.train.get("num_threads")
    )
    rows = []
    for model, params in cfg.models.items():
        for regime in cfg.regimes:
            for k, seed in enumerate(cfg.seeds):
                log.info("bench: training %s on %s, seed %d", model, regime, seed)
                run_dir = _train_regime(cfg, model, params, regime, seed, bench, progress)
                run = Run.open(run_dir, inference)
                facts = _run_facts(run)
                names = "+".join(d.name or Path(d.path).name for d in all_sources(cfg, regime))
                head = {"model": model, "training": regime, "train_data": names, "seed": seed}
                save = cfg.save_predictions == "all" or (
                    cfg.save_predictions == "first_seed" and k == 0
                )
                for test_name, test in tests.items():
                    rows += _evaluate_run(cfg, run, test_name, test, bench, head, facts, save)
    per_seed = pd.DataFrame(rows)
    table = aggregate_seeds(per_seed)
    bench.claim("table.csv", "table.md", "table.png")
    io.write_csv(bench.path("table_seeds.csv"), per_seed)
    io.write_bench_outputs(out, table, format_table(table), plot_bench_table(table))
    return table


def merge_bench(folders, out: str | Path, *, overwrite: bool = False):
    """Pool the per-seed rows of several finished benches (e.g. one seed per sitting) into one
    table: ``table.csv``, ``table.md``, ``table.png`` and ``table_seeds.csv`` in ``out``, as
    `run_bench` writes them for all the seeds at once; ``merged_from.txt`` lists the folders.

    The runs stay where they are. A (model, training data, test set, output, seed) found in two
    folders is an error: the same run counted twice would shrink the std over seeds.

    Returns
    -------
    pandas.DataFrame, one row per (model, training data, test set, output), over seeds.
    """
    import pandas as pd

    folders = [Path(f) for f in folders]
    if not folders:
        raise InputError("merge_bench needs at least one bench folder.")
    per_seed = pd.concat([io.read_bench_seeds(f) for f in folders], ignore_index=True)
    key = [*GROUP, "seed"]
    dup = per_seed[per_seed.duplicated(key, keep=False)]
    if len(dup):
        raise InputError(
            "the same run is in more than one folder: "
            + "; ".join(
                sorted(
                    {
                        f"{r.model} ({r.training}: {r.train_data}) on {r.test_set}, "
                        f"{r.output}, seed {r.seed}"
                        for r in dup.itertuples()
                    }
                )
            )
        )
    # every model's seeds together, models in the order they first appear
    order = {m: i for i, m in enumerate(dict.fromkeys(per_seed["model"]))}
    per_seed = per_seed.sort_values(
        ["model", "seed"], key=lambda c: c.map(order) if c.name == "model" else c, kind="stable"
    ).reset_index(drop=True)
    table = aggregate_seeds(per_seed)
    merged = open_output_folder(out, command="bench-merge", inputs=folders, overwrite=overwrite)
    merged.claim("table.csv", "table.md", "table.png")
    io.write_csv(merged.path("table_seeds.csv"), per_seed)
    io.write_bench_outputs(out, table, format_table(table), plot_bench_table(table))
    lines = "".join(f"{f.resolve()}\n" for f in folders)
    atomic_write(merged.path("merged_from.txt"), lines)
    return table


def _warn_test_on_training(cfg: BenchConfig) -> None:
    """One line for each test set that is also training data (it passed without a word): its
    scores measure memorising, not how the models do on new images."""
    train = {}
    for regime in cfg.regimes:
        train |= {Path(d.path).resolve(): regime for d in all_sources(cfg, regime)}
    for name, path in cfg.test_sets.items():
        regime = train.get(Path(path).resolve())
        if regime is not None:
            log.warning(
                "bench: test set %r (%s) is training data of the %r runs: its scores measure "
                "memorising, not new images; test on images no run trains on",
                name,
                path,
                regime,
            )


def _evaluate_run(cfg, run: Run, test_name, test, bench, head, facts, save) -> list[dict]:
    """Rows (one per output) of one run on one test set; prediction once per TTA mode (and
    resampling)."""
    rows = []
    probs_by_mode = {}
    for output, mode, sizes, resample in _outputs(cfg, run):
        if (mode, resample) not in probs_by_mode:
            here = run.with_config(run.config.replace(tta=mode))
            probs_by_mode[mode, resample] = predict_items(here, test, resample=resample)
        pred = open_output_folder(
            bench.subfolder(f"pred/{run.name}/{test_name}/{output}"),
            command="predict",
            inputs=[run.source],
        )
        res, _ = evaluate_items(
            probs_by_mode[mode, resample],
            test,
            pred if save else None,
            sizes=sizes,
            connectivity=cfg.connectivity,
        )
        io.write_csv(pred.path("per_image.csv"), res.per_image)
        rows.append({**head, "test_set": test_name, "output": output, **facts, **res.summary})
    return rows
