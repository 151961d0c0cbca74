"""Probabilistic interactive segmentation on Lucchi++ (issue 10): four trainings, the simulated
user, the uncertainty quality and the time of one click.

    # everything (trains 4 runs of at most 20 minutes each, then evaluates; about 3 hours alone)
    .venv/bin/python benchmarks/interactive.py --out /tmp/interactive
    # reuse a recipe U-Net trained before (e.g. by benchmarks/lucchi.py, seed 0) as the baseline
    .venv/bin/python benchmarks/interactive.py --out /tmp/interactive \
        --baseline /tmp/lucchi_fwd/runs/unet__real__seed0
    # evaluate runs trained before (OUT/runs/RUN for each of --runs)
    .venv/bin/python benchmarks/interactive.py --out /tmp/interactive --no-train
    # only the time per click on a 768 x 1024 slice (OUT/runs/RUN: the probabilistic run, else
    # the first interactive one of --runs; writes OUT/timing.json)
    .venv/bin/python benchmarks/interactive.py --timing-only --out /tmp/interactive
    # the tables again from the evaluation folders of earlier runs (OUT/eval/*, OUT/timing.json)
    .venv/bin/python benchmarks/interactive.py --collect --out /tmp/interactive
    # a few seconds to a minute: tiny models, 3 steps, 2 test slices, 2 clicks (a check only)
    .venv/bin/python benchmarks/interactive.py --smoke --out /tmp/interactive_smoke

Runs (train on the 5 Lucchi++ training slices, held-out validation band of the recipe):

- ``unet``: the recipe (`segtrain.RECIPE`: 1,200 steps in float32, 3,000 in bf16), not
  interactive: the baseline;
- ``unet_interactive``: the same U-Net with click and previous-mask channels (``interactive:
  true``, the default `ClickConfig`), fewer steps because each step also runs the network for
  the simulated clicks (1.4x the recipe's step cost, measured alone with validation);
- ``prob_unet_interactive``: the probabilistic U-Net (latent 6, beta 10), interactive, with
  ``elbo+dice`` so its pixel loss is the baseline's BCE + Dice (only the latent differs), about
  2.2x the recipe's step cost (measured alone with validation); trained in bf16 (``amp:
  true``), in which ``prob_unet`` steps 1.5x faster than in float32 on this CPU
  (`bench_segtrain.py --steps 20`, measured alone);
- ``unet_interactive_ft``: ``unet_interactive`` started from the baseline's weights (``init_from``;
  its click channels start at zero weight, so it begins at the baseline's IoU@0), 500 steps at
  a learning rate of 5e-4.

Every training also stops at 20 minutes of wall clock (``--minutes``; whichever ends first).
Evaluation on the 17 test slices with `segtrain.clicks_folder` (the code behind `mitoshape
clicks`): ``image`` scope, 20 clicks, uncertainty and error clickers (mIoU@k); ``object`` scope
(RITM's per-object protocol), 20 clicks at most, stopping at IoU 0.95 (NoC@85/90/95); the
baseline without clicks (IoU@0; uncertainty = its flip spread). Then the time of one click
(`segtrain.refine` on a 768 x 1024 test slice, 10 error-clicker clicks) with 1 and 2 torch
threads, and the load average. Writes OUT/results.md, OUT/results.json, OUT/eval/RUN_SCOPE/
(the clicks output folders) and OUT/runs/.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from _runs import default_out  # sibling modules in benchmarks/
from lucchi import DATA, smoke_test_set

RUNS = {
    "unet": {"model": "unet", "interactive": False},  # the recipe's steps for its precision
    "unet_interactive": {"model": "unet", "interactive": True, "max_steps": 700},
    "prob_unet_interactive": {
        "model": "prob_unet",
        "interactive": True,
        "loss": "elbo+dice",
        "amp": True,
        "max_steps": 650,
    },
    # The same interactive U-Net started from the baseline's weights (click channels at zero):
    # it begins at the baseline's IoU@0 and learns the clicks; fewer steps and a lower rate.
    "unet_interactive_ft": {
        "model": "unet",
        "interactive": True,
        "init_from": "unet",
        "max_steps": 500,
        "lr": 5e-4,
    },
}
TINY = {"model_params": {"depth": 2, "width": 4}, "max_steps": 3, "val_every": 3,
        "patch_px": 64, "batch_size": 2, "val_patches": 2}  # fmt: skip


def train_runs(args, root: Path) -> dict[str, Path]:
    import segtrain

    runs = {}
    for name, spec in RUNS.items():
        run = root / name
        runs[name] = run
        if name == "unet" and args.baseline is not None:
            runs[name] = _checked_baseline(args.baseline)
            continue
        if not args.train or name not in args.runs:
            continue
        fields = {**spec, "train": [{"path": str(DATA / "train")}], "run_dir": str(run),
                  "num_threads": args.threads, "time_budget_min": args.minutes}  # fmt: skip
        if "init_from" in spec:
            fields["init_from"] = str(runs[spec["init_from"]])
        if args.steps_scale != 1.0:
            fields["max_steps"] = max(
                1, round(spec.get("max_steps", segtrain.RECIPE.max_steps) * args.steps_scale)
            )
        if args.smoke:
            fields |= TINY
        t0 = time.perf_counter()
        segtrain.train(segtrain.TrainConfig(**fields), overwrite=True)
        print(f"trained {name} in {(time.perf_counter() - t0) / 60:.1f} min", flush=True)
    return runs


def _checked_baseline(run: Path) -> Path:
    """An existing run used as the baseline: it must be the recipe's non-interactive U-Net."""
    import segtrain

    cfg = segtrain.read_train_config(run)
    want = segtrain.TrainConfig(train=cfg.train)
    # amp auto as this machine resolves it (a run's config records the result)
    amp = segtrain.resolve_amp(want.amp, segtrain.pick_device(want.device))
    want = want.model_copy(update={"amp": amp})
    fields = ("model", "model_params", "interactive", "patch_px", "batch_size", "max_steps",
              "loss", "amp")  # fmt: skip
    diff = {f: (getattr(cfg, f), getattr(want, f)) for f in fields}
    diff = {f: v for f, v in diff.items() if v[0] != v[1]}
    if diff:
        raise SystemExit(f"--baseline {run} is not the recipe's U-Net: {diff}")
    print(f"baseline: {run} (seed {cfg.seed}, {cfg.max_steps} steps)", flush=True)
    return run


def evaluate(args, runs: dict[str, Path], test: Path, out: Path) -> dict:
    import segtrain

    res = {}
    clicks = 2 if args.smoke else 20
    # The code behind `mitoshape clicks`: 512 px tiles, float32 (bf16-trained runs too).
    config = segtrain.InferenceConfig(tile_px=512, amp=False, threads=args.eval_threads)
    options = segtrain.RefineConfig(samples=2 if args.smoke else 16)
    users = {
        "none": segtrain.SimulatedUser(max_clicks=0, scopes=("image", "object")),
        "image": segtrain.SimulatedUser(max_clicks=clicks, clickers=("uncertainty", "error")),
        "object": segtrain.SimulatedUser(
            max_clicks=clicks, clickers=("uncertainty", "error"), scopes=("object",), stop_iou=0.95
        ),
    }
    for name, run_dir in runs.items():
        if name not in args.runs:
            continue
        t0 = time.perf_counter()
        run = segtrain.Run.open(run_dir, config)
        kinds = ("image", "object") if RUNS[name]["interactive"] else ("none",)
        res[name] = {
            kind: segtrain.clicks_folder(
                run,
                test,
                out / f"{name}_{kind}",
                user=users[kind],
                options=options,
                overwrite=True,
            )
            for kind in kinds
        }
        print(f"evaluated {name} in {(time.perf_counter() - t0) / 60:.1f} min", flush=True)
    return res


def collect(args, out: Path) -> dict:
    """The evaluation tables of earlier runs, read back from OUT/eval/RUN_SCOPE/."""
    import pandas as pd

    from segtrain import ClicksResult

    res = {}
    for name in args.runs:
        for kind in ("none", "image", "object"):
            folder = out / f"{name}_{kind}"
            if (folder / "summary.csv").is_file():
                res.setdefault(name, {})[kind] = ClicksResult(
                    folder, pd.read_csv(folder / "summary.csv"), None,
                    pd.read_csv(folder / "uncertainty.csv"),
                )  # fmt: skip
    if not res:
        raise SystemExit(f"--collect: no evaluation folders under {out}")
    return res


def timing(run: Path, test: Path, *, n_clicks: int = 10) -> list[dict]:
    """Seconds per click (segtrain.refine_input, one window each) with 1 and 2 threads."""
    import numpy as np
    import torch

    import segtrain
    from segtrain import io

    opened = segtrain.Run.open(run, segtrain.InferenceConfig(tile_px=512, amp=False))
    item = io.read_pairs_folder(test)[0]
    x = opened.prepare(item.image)
    rows = []
    for threads in (1, 2):
        here = opened.with_config(opened.config.replace(threads=threads))
        with torch.inference_mode(), segtrain.torch_threads(threads):
            load0 = os.getloadavg()[0]
            state = here.refine(x, (), prepared=True)
            first_s = state.seconds
            secs = []
            for _ in range(n_clicks):
                c = segtrain.next_click(state.mask, item.mask, clicks=state.clicks)
                if c is None:
                    break
                state = here.refine(x, (*state.clicks, c), state, prepared=True)
                secs.append(state.seconds)
        rows.append({"threads": threads, "image": f"{item.name} {item.image.shape}",
                     "first_prediction_s": round(first_s, 2),
                     "click_median_s": round(float(np.median(secs)), 3),
                     "click_min_s": round(min(secs), 3), "click_max_s": round(max(secs), 3),
                     "clicks": len(secs), "load_before": load0,
                     "load_after": os.getloadavg()[0]})  # fmt: skip
    return rows


def _row(summary, k_list, *, noc: bool) -> str:
    cells = [f"{summary['pooled_iou@0']:.3f}"]
    cells += [f"{summary.get(f'miou@{k}', float('nan')):.3f}" for k in k_list]
    if noc:
        cells += [f"{summary[f'noc@{t}']:.2f} ({summary[f'nof@{t}']})" for t in (85, 90, 95)]
    return " | ".join(cells)


def markdown(res: dict, times: list[dict], clicks: int) -> str:
    ks = [k for k in (1, 3, 5, 10, 20) if k <= clicks]
    out = ["### Image scope (the whole slice as one object), 17 test slices", "",
           "| run | clicker | IoU@0 pooled | " + " | ".join(f"mIoU@{k}" for k in ks)
           + " | NoC@85 (NoF) | NoC@90 (NoF) | NoC@95 (NoF) |",
           "|---|---|---|" + "---|" * len(ks) + "---|---|---|"]  # fmt: skip
    for name, r in res.items():
        for scope_res in r.values():
            for s in scope_res.summary.to_dict(orient="records"):
                if s["scope"] != "image":
                    continue
                noc = s["clicker"] != "none"
                line = _row(s, ks, noc=noc) if noc else _row(s, [], noc=False)
                if not noc:
                    line += " | " + " | ".join(["-"] * (len(ks) + 3))
                out.append(f"| {name} | {s['clicker']} | {line} |")
    out += ["", "### Object scope (RITM: per true mitochondrion in its crop; stops at IoU 0.95)",
            "", "| run | clicker | objects | IoU@0 pooled | mIoU@0 | "
            + " | ".join(f"mIoU@{k}" for k in ks) + " | NoC@85 (NoF) | NoC@90 (NoF) "
            "| NoC@95 (NoF) |",
            "|---|---|---|---|---|" + "---|" * len(ks) + "---|---|---|"]  # fmt: skip
    for name, r in res.items():
        for scope_res in r.values():
            for s in scope_res.summary.to_dict(orient="records"):
                if s["scope"] != "object":
                    continue
                none = s["clicker"] == "none"
                mious = ["-"] * len(ks) if none else [f"{s.get(f'miou@{k}', float('nan')):.3f}"
                                                      for k in ks]  # fmt: skip
                nocs = ["-"] * 3 if none else [f"{s[f'noc@{t}']:.2f} ({s[f'nof@{t}']})"
                                               for t in (85, 90, 95)]  # fmt: skip
                out.append(f"| {name} | {s['clicker']} | {s['n']} | {s['pooled_iou@0']:.3f} | "
                           f"{s['miou@0']:.3f} | " + " | ".join(mious + nocs) + " |")  # fmt: skip
    out += ["", "### Uncertainty at 0 clicks (pooled over the pixels of the 17 slices)", "",
            "| run | uncertainty | AUROC (std vs wrong pixels) | wrong in top 1 % | wrong in "
            "top 5 % | wrong pixels |", "|---|---|---|---|---|---|"]  # fmt: skip
    for name, r in res.items():
        first = next(iter(r.values()))
        u = first.uncertainty.iloc[-1]
        kind = "16 latent samples" if "prob" in name else "4 flips"
        out.append(f"| {name} | {kind} | {u['auroc']:.3f} | {u['wrong_in_top1pct']:.3f} | "
                   f"{u['wrong_in_top5pct']:.3f} | {u['wrong_fraction']:.4f} |")  # fmt: skip
    out += ["", "### Time per click (segtrain.refine, one window)", "",
            "| threads | image | first prediction (s) | click median (s) | min | max | clicks "
            "| load before / after |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for t in times:
        out.append(f"| {t['threads']} | {t['image']} | {t['first_prediction_s']} | "
                   f"{t['click_median_s']} | {t['click_min_s']} | {t['click_max_s']} | "
                   f"{t['clicks']} | {t['load_before']:.2f} / {t['load_after']:.2f} |")  # fmt: skip
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=default_out("interactive"))
    ap.add_argument("--train", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--minutes", type=float, default=20.0, help="wall-clock cap per training")
    ap.add_argument("--steps-scale", type=float, default=1.0, help="scale every run's steps")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for training")
    ap.add_argument("--eval-threads", type=int, default=2, help="torch threads for evaluation")
    ap.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="an existing recipe U-Net run to use instead of training the baseline",
    )
    ap.add_argument(
        "--runs",
        default=",".join(RUNS),
        help="the runs to train and evaluate (comma-separated; the baseline is "
        "still read when a run starts from it)",
    )
    ap.add_argument("--timing-only", action="store_true")
    ap.add_argument("--collect", action="store_true", help="tables from OUT/eval only")
    ap.add_argument("--smoke", action="store_true", help="tiny models, 3 steps, 2 slices")
    args = ap.parse_args()
    args.runs = args.runs.split(",")
    if unknown := set(args.runs) - set(RUNS):
        ap.error(f"--runs: unknown {sorted(unknown)}; choose from {', '.join(RUNS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    test = smoke_test_set("forward", args.out) if args.smoke else DATA / "test"
    root = args.out / "runs"
    # timed: the probabilistic run (16 samples per click, the slowest) when there is one
    inter = sorted((r for r in args.runs if RUNS[r]["interactive"]), key=lambda r: "prob" not in r)
    timed = inter[0] if inter else None
    if args.timing_only:
        times = timing(root / timed, test)
        (args.out / "timing.json").write_text(json.dumps(times, indent=2))
        print(json.dumps(times, indent=2))
        return
    t0 = time.perf_counter()
    if args.collect:
        res = collect(args, args.out / "eval")
        tj = args.out / "timing.json"
        times, runs = (json.loads(tj.read_text()) if tj.is_file() else []), {}
    else:
        runs = train_runs(args, root)
        res = evaluate(args, runs, test, args.out / "eval")
        times = timing(runs[timed], test, n_clicks=3 if args.smoke else 10) if timed else []
    text = markdown(res, times, 2 if args.smoke else 20)
    (args.out / "results.md").write_text(text)
    meta = {"wall_min": round((time.perf_counter() - t0) / 60, 1), "smoke": args.smoke,
            "runs": {k: str(v) for k, v in runs.items()}, "timing": times}  # fmt: skip
    (args.out / "results.json").write_text(json.dumps(meta, indent=2))
    print(text)
    print(f"wall clock {meta['wall_min']} min; results in {args.out}")


if __name__ == "__main__":
    main()
