"""Lucchi++ benchmark: train one model on the 5 training slices for a wall-clock budget, predict
the 17 test slices by tiles (with and without flip test-time augmentation), write metrics.

    .venv/bin/python benchmarks/lucchi.py --model unet --minutes 10 --out /tmp/lucchi
    .venv/bin/python benchmarks/lucchi.py --model unet --out /tmp/lucchi --eval-only

Writes OUT/MODEL/run/ (the run folder), OUT/MODEL/prob/ and prob_tta/ (plain and flip-TTA
probabilities, TTA = mean of the image and its 180-degree flip), OUT/MODEL/post/ (TTA masks without
objects or holes under 300 px) and OUT/MODEL/metrics.json (foreground IoU, Dice, Betti error:
per-image mean +- std and pooled). Model settings for ~10 minutes on 2 shared cores: PARAMS.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lucchi_pp"

# Per-model settings sized for ~10 minutes on 2 shared CPU cores.
PARAMS = {
    "unet": {"depth": 4, "width": 16},
    "attention_res_unet": {"depth": 4, "width": 16},
    "efficientnet_unet": {"depth": 4, "width": 16},
    "patch_cnn": {"width": 16, "fc": 64},
}


def run_training(model: str, minutes: float, run_dir: Path, args) -> None:
    from segtrain import DataSource, TrainConfig, train

    cfg = TrainConfig(
        train=[DataSource(path=str(DATA / "train"), name="lucchi_train")],
        run_dir=str(run_dir),
        model=model,
        model_params=PARAMS[model],
        patch_px=args.patch,
        batch_size=args.batch,
        lr=args.lr,
        max_steps=100_000,
        time_budget_min=minutes,
        val_every=25,
        val_patches=8,
        seed=args.seed,
        amp=True,
        num_threads=2,
    )
    train(cfg, overwrite=True)


def predict_test(model_dir: Path, args) -> None:
    import torch

    from segtrain import load_run, predict_image
    from segtrain.io import list_images, read_scaled_image, write_tiff

    torch.set_num_threads(2)
    net, cfg = load_run(model_dir / "run", which="last")
    net = net.to(memory_format=torch.channels_last)
    for p in list_images(DATA / "test" / "image"):
        scaled = read_scaled_image(p)
        img, px_nm = scaled.data.astype(np.float32), scaled.pixel_size_nm
        kw = dict(tile_px=args.tile, overlap_px=64, batch_size=2, amp=True)
        plain = predict_image(net, img, **kw)
        # Flip TTA assembled from passes on flipped images (the plain pass is reused).
        flips = [plain]
        if args.tta:
            flips.append(predict_image(net, img[::-1, ::-1].copy(), **kw)[::-1, ::-1])
        # Rounded to float16 as the published figures were (stored as float32 TIFFs).
        tta = np.mean(flips, 0).astype(np.float16)
        write_tiff(
            model_dir / "prob" / f"{p.stem}.tif", plain.astype(np.float16), pixel_size_nm=px_nm
        )
        write_tiff(model_dir / "prob_tta" / f"{p.stem}.tif", tta, pixel_size_nm=px_nm)


def postprocess(model_dir: Path) -> None:
    """TTA probabilities -> masks without objects or holes under 300 px (fixed a priori)."""
    from segtrain import postprocess_mask
    from segtrain.io import list_images, read_scaled_image, write_tiff

    for p in list_images(model_dir / "prob_tta"):
        prob = read_scaled_image(p)
        m = postprocess_mask(prob.data.astype(np.float32), min_size_px=300, max_hole_px=300)
        write_tiff(model_dir / "post" / f"{p.stem}.tif", m, pixel_size_nm=prob.pixel_size_nm)


KINDS = ("prob", "prob_tta", "post")


def evaluate(model_dir: Path) -> dict:
    from segtrain import evaluate_folders

    postprocess(model_dir)
    out = {}
    for kind in KINDS:
        res = evaluate_folders(model_dir / kind, DATA / "test" / "label")
        s = res.summary
        out[kind] = {k: float(v) for k, v in s.items()}
        res.per_image.to_csv(model_dir / f"per_image_{kind}.csv", index=False)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True, choices=sorted(PARAMS))
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--out", type=Path, default=Path("/tmp/lucchi"))
    ap.add_argument("--patch", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-tta", dest="tta", action="store_false")
    ap.add_argument("--eval-only", action="store_true")
    args = ap.parse_args()
    model_dir = args.out / args.model
    timings = {}
    if not args.eval_only:
        t0 = time.perf_counter()
        run_training(args.model, args.minutes, model_dir / "run", args)
        timings["train_wall_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        predict_test(model_dir, args)
        timings["predict_wall_s"] = time.perf_counter() - t0
        (model_dir / "timings.json").write_text(json.dumps(timings, indent=2))
    metrics = evaluate(model_dir)
    import pandas as pd

    log = pd.read_csv(model_dir / "run" / "log.csv")
    metrics["steps"] = int(log["step"].iloc[-1])
    metrics["train_s"] = float(log["elapsed_s"].iloc[-1])
    metrics["params"] = PARAMS[args.model]
    metrics["args"] = {k: str(v) for k, v in vars(args).items()}
    (model_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    for kind in KINDS:
        m = metrics[kind]
        print(
            f"{args.model:20s} {kind:8s} steps {metrics['steps']:5d} "
            f"IoU pooled {m['iou_pooled']:.4f} mean {m['iou_mean']:.4f}+-{m['iou_std']:.4f} "
            f"Dice pooled {m['dice_pooled']:.4f} Betti {m['betti_error_mean']:.2f}"
        )


if __name__ == "__main__":
    main()
