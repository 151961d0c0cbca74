"""Lucchi++ benchmark: every model at the same number of steps, several seeds, both directions.

    # forward: train on the 5 training slices, test on the 17 test slices
    .venv/bin/python benchmarks/lucchi.py --direction forward --out /tmp/lucchi_fwd
    # reverse: train on the 17 test slices, test on the 5 training slices (the other volume)
    .venv/bin/python benchmarks/lucchi.py --direction reverse --out /tmp/lucchi_rev
    # the drop from one direction to the other, per model and output
    .venv/bin/python benchmarks/lucchi.py --compare /tmp/lucchi_fwd /tmp/lucchi_rev
    # one table from benches run in several sittings (`mitoshape bench-merge`)
    .venv/bin/python benchmarks/lucchi.py --merge /tmp/lucchi_fwd_a /tmp/lucchi_fwd_b --out OUT
    # rotation TTA too (the 8 flips and quarter turns; twice the prediction time of flips)
    .venv/bin/python benchmarks/lucchi.py --models efficientnet_unet --seeds 0 --tta none,flips,d4
    # a few seconds, to check the script works (tiny models, 2 steps, 2 test slices)
    .venv/bin/python benchmarks/lucchi.py --smoke --out /tmp/lucchi_smoke

Each run is `segtrain.run_bench` (the code behind `mitoshape bench`) with the training recipe
(`segtrain.RECIPE`: the defaults of `mitoshape train`) and the bench defaults: equal steps
(`--steps`, default the recipe's), seeds 0, 1, 2, held-out validation cut from the training
slices (a band of each image for 5 slices, whole slices for 17), outputs plain, flip TTA (and
the 8 flips and quarter turns with ``--tta none,flips,d4``), and each with small objects and
holes removed at the sizes the run chose on its validation data.
Writes OUT/table.md (mean +- std over seeds [per-image std]), table.csv, table_seeds.csv,
table.png, bench.yaml, timing.json, and the runs under OUT/runs/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from _runs import default_out  # a sibling module in benchmarks/

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lucchi_pp"
MODELS = ("unet", "attention_res_unet", "efficientnet_unet", "patch_cnn")
# --smoke: tiny versions of every model, to check the script in seconds.
TINY = {
    "unet": {"depth": 2, "width": 4},
    "attention_res_unet": {"depth": 2, "width": 4},
    "efficientnet_unet": {"depth": 2, "width": 4, "repeats": 1},
    "patch_cnn": {"width": 2, "fc": 4},
}


def smoke_test_set(direction: str, out: Path) -> Path:
    """Two test slices of the direction's test set, copied beside OUT (OUT_smoke_test): the
    bench refuses an output folder holding files it did not write."""
    src = DATA / ("test" if direction == "forward" else "train")
    dst = out.with_name(out.name + "_smoke_test")
    for sub in ("image", "label"):
        (dst / sub).mkdir(parents=True, exist_ok=True)
        for p in sorted((src / sub).iterdir())[:2]:
            shutil.copy(p, dst / sub / p.name)
    return dst


def bench_config(args) -> dict:
    """The `mitoshape bench` config of this benchmark (also written to OUT/bench.yaml)."""
    train_dir, test_dir = DATA / "train", DATA / "test"
    if args.direction == "reverse":
        train_dir, test_dir = test_dir, train_dir
    # Not given: the recipe's steps for the run's precision (segtrain.RECIPE).
    train = {"num_threads": args.threads} | ({"max_steps": args.steps} if args.steps else {})
    models = {m: {} for m in args.models.split(",")}
    if args.smoke:
        test_dir = smoke_test_set(args.direction, args.out)
        models = {m: TINY[m] for m in models}
        train |= {"max_steps": 2, "val_every": 2, "patch_px": 64, "batch_size": 2}
    name = "lucchi_" + ("train" if args.direction == "forward" else "test")
    return {
        "models": models,
        "real": [{"path": str(train_dir), "name": name}],
        "regimes": ["real"],
        "test_sets": {
            "lucchi_" + ("test" if args.direction == "forward" else "train"): str(test_dir)
        },
        "train": train,
        "seeds": [0] if args.smoke else [int(s) for s in args.seeds.split(",")],
        "tile_px": 128 if args.smoke else 512,
        "overlap_px": 32 if args.smoke else 64,
        "tta": ["none"] if args.smoke else args.tta.split(","),
        "clean": True,
    }


def compare(fwd: Path, rev: Path) -> str:
    """Markdown: pooled IoU per model and output in both directions, and the drop."""
    import pandas as pd

    a = pd.read_csv(fwd / "table.csv")
    b = pd.read_csv(rev / "table.csv")
    keys = ["model", "output"]
    m = a.merge(b, on=keys, suffixes=("_fwd", "_rev"))
    lines = [
        "| model | output | IoU pooled, train 5 -> test 17 | IoU pooled, train 17 -> test 5 "
        "| reverse - forward |",
        "|---|---|---|---|---|",
    ]
    for r in m.itertuples():
        f, s = r.iou_pooled_mean_fwd, r.iou_pooled_mean_rev
        lines.append(
            f"| {r.model} | {r.output} | {f:.3f} +- {r.iou_pooled_seed_std_fwd:.3f} | "
            f"{s:.3f} +- {r.iou_pooled_seed_std_rev:.3f} | {s - f:+.3f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--direction", choices=("forward", "reverse"), default="forward")
    ap.add_argument("--out", type=Path, default=default_out("lucchi_bench"))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=None, help="steps per run (default: recipe)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tta", default="none,flips", help="outputs: none, flips, d4 (+quarter turns)")
    ap.add_argument("--smoke", action="store_true", help="tiny models, 2 steps, 2 test slices")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("FORWARD", "REVERSE"))
    ap.add_argument("--merge", nargs="+", type=Path, metavar="DIR", help="pool these benches")
    args = ap.parse_args()
    if args.merge:
        import segtrain

        segtrain.merge_bench(args.merge, args.out)
        print((args.out / "table.md").read_text())
        return
    if args.compare:
        text = compare(*args.compare)
        (args.compare[1] / "drop.md").write_text(text)
        print(text)
        return
    import segtrain

    cfg = segtrain.BenchConfig(**bench_config(args))
    t0 = time.perf_counter()
    segtrain.run_bench(cfg, args.out)
    wall = time.perf_counter() - t0
    import torch

    meta = {"wall_s": round(wall, 1), "torch": torch.__version__, "threads": args.threads,
            "direction": args.direction, "smoke": args.smoke}  # fmt: skip
    (args.out / "timing.json").write_text(json.dumps(meta, indent=2))
    print((args.out / "table.md").read_text())
    print(f"wall clock {wall / 60:.1f} min; tables in {args.out}")


if __name__ == "__main__":
    main()
