"""Reproducibility of training: the same config and seed trained twice, in float32 and in bf16
autocast, on Lucchi++ (5 training slices, held-out band); how much the two runs differ.

    .venv/bin/python benchmarks/repro_segtrain.py --steps 300 --out /tmp/repro
    .venv/bin/python benchmarks/repro_segtrain.py --smoke --out /tmp/repro_smoke   # seconds

For each precision (fp32 = ``amp: false``, the default, bf16 = ``amp: true``): two runs of the
recipe (`segtrain.RECIPE`, `--steps` steps, `--threads` threads), then the largest absolute and
the relative L2 difference of their final weights, and their held-out foreground IoU (log.csv,
last row). fp32 runs on one machine with one thread count are expected to be bit-identical;
bf16 runs may differ where the CPU kernels accumulate in another order.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _runs import default_out  # a sibling module in benchmarks/

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lucchi_pp" / "train"


def weight_difference(a, b) -> dict:
    import torch

    sa, sb = a.state_dict(), b.state_dict()
    diff = max(float((sa[k].float() - sb[k].float()).abs().max()) for k in sa)
    num = sum(float(((sa[k].float() - sb[k].float()) ** 2).sum()) for k in sa)
    den = sum(float((sa[k].float() ** 2).sum()) for k in sa)
    equal = all(torch.equal(sa[k], sb[k]) for k in sa)
    return {"identical": equal, "max_abs": diff, "relative_l2": (num / max(den, 1e-30)) ** 0.5}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=default_out("repro_segtrain"))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--smoke", action="store_true", help="tiny model, 3 steps")
    args = ap.parse_args()
    from segtrain import DataSource, TrainConfig, load_run, train
    from segtrain.io import read_log_csv

    base = {"train": [DataSource(path=str(DATA))], "max_steps": args.steps,
            "num_threads": args.threads, "seed": args.seed}  # fmt: skip
    if args.smoke:
        base |= {"max_steps": 3, "val_every": 3, "patch_px": 64, "batch_size": 2,
                 "model_params": {"depth": 2, "width": 4}}  # fmt: skip
    report = {}
    for label, amp in (("fp32", False), ("bf16", True)):
        runs = []
        for k in (1, 2):
            run_dir = args.out / f"{label}_{k}"
            runs.append(train(TrainConfig(**base, amp=amp, run_dir=str(run_dir)), overwrite=True))
        a, _ = load_run(runs[0], which="last")
        b, _ = load_run(runs[1], which="last")
        ious = [float(read_log_csv(r / "log.csv")[-1]["val_iou"]) for r in runs]
        report[label] = {**weight_difference(a, b), "val_iou": ious,
                         "val_iou_difference": abs(ious[0] - ious[1])}  # fmt: skip
    report["settings"] = {"steps": base["max_steps"], "threads": args.threads, "seed": args.seed}
    (args.out / "repro.json").write_text(json.dumps(report, indent=2))
    for label in ("fp32", "bf16"):
        r = report[label]
        print(
            f"{label}: identical weights {r['identical']}, max |dw| {r['max_abs']:.3g}, "
            f"relative L2 {r['relative_l2']:.3g}, held-out IoU {r['val_iou'][0]:.4f} vs "
            f"{r['val_iou'][1]:.4f} (difference {r['val_iou_difference']:.4f})"
        )


if __name__ == "__main__":
    main()
