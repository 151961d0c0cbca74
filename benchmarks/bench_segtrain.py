"""segtrain speed: training patches per second and prediction megapixels per second, per model;
and the relative step cost of candidate training recipes.

    .venv/bin/python benchmarks/bench_segtrain.py [--steps 5] [--models unet,patch_cnn]
    .venv/bin/python benchmarks/bench_segtrain.py --recipes [--steps 5]
    .venv/bin/python benchmarks/bench_segtrain.py --augment

Models: batches of the recipe (`segtrain.RECIPE`: 4 patches of 256 px, each model at the
recipe's size), BCE+Dice, AdamW, bf16 autocast + channels_last (`amp: true`) and float32 (the
recipe's default), after one warm-up step; prediction of one 768x1024 image (Lucchi++ size) by
256 px tiles with 64 px overlap, no TTA, in the recipe's precision. `--recipes`: seconds per
step of the U-Net at widths 16/32, batches 4/8, patches 256 (and 128), in the recipe's
precision, so that steps x seconds/step = the minutes a budget buys.
`--augment`: milliseconds to build one batch of 4 Lucchi++ patches with the recipe's
augmentation (the data side of a step). CPU threads: `--threads` (default torch's).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from segtrain import (
    RECIPE,
    InferenceConfig,
    autocast_for,
    build_model,
    predict_image,
    resolve_amp,
)
from segtrain.training._losses import loss_fn

PARAMS = dict(RECIPE.model_params)
AMP = resolve_amp(RECIPE.amp, torch.device("cpu"))  # the recipe's precision on this CPU
RECIPES = [
    ("unet", {"depth": 4, "width": 16}, 4, 256),
    ("unet", {"depth": 4, "width": 32}, 4, 256),
    ("unet", {"depth": 4, "width": 16}, 8, 256),
    ("unet", {"depth": 4, "width": 32}, 8, 256),
    ("unet", {"depth": 4, "width": 16}, 8, 128),
    ("unet", {"depth": 5, "width": 16}, 4, 256),
]


def step_seconds(
    name: str,
    params: dict,
    batch: int,
    patch: int,
    steps: int,
    amp: bool,
    *,
    channels_last: bool | None = None,
    compiled: bool = False,
) -> float:
    """Median seconds per optimiser step (after one warm-up step) on random data.
    `channels_last` defaults to `amp` (as training runs it); `compiled` wraps the model in
    `torch.compile` (its compile time falls in the warm-up step, not in the median)."""
    torch.manual_seed(0)
    net = build_model(name, params)
    x = torch.randn(batch, 1, patch, patch)
    y = (torch.rand(batch, 1, patch, patch) > 0.8).float()
    if amp if channels_last is None else channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    model = torch.compile(net) if compiled else net
    dev = torch.device("cpu")
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        with autocast_for(dev, amp):
            out = model(x)
        loss = loss_fn(out, y, "bce+dice")
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:  # the first step is warm-up
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def predict_speed(name: str) -> float:
    net = build_model(name, PARAMS[name]).eval()
    if AMP:  # channels_last goes with autocast, as in training and prediction
        net = net.to(memory_format=torch.channels_last)
    img = np.random.default_rng(0).random((768, 1024)).astype(np.float32)
    config = InferenceConfig(tile_px=256, overlap_px=64, amp=AMP)
    predict_image(net, img[:256, :256], config)  # warm-up
    t0 = time.perf_counter()
    predict_image(net, img, config)
    return img.size / 1e6 / (time.perf_counter() - t0)


def models_table(args) -> None:
    b, p = RECIPE.batch_size, RECIPE.patch_px
    print(f"batches of {b} patches of {p} px")
    print(
        f"{'model':20s} {'params':>8s} {'train bf16 (patch/s)':>21s} {'train fp32':>11s} "
        f"{'ratio':>6s} {'predict (Mpx/s)':>16s}"
    )
    for name in args.models.split(","):
        n = sum(q.numel() for q in build_model(name, PARAMS[name]).parameters())
        a = b / step_seconds(name, PARAMS[name], b, p, args.steps, True)
        f = b / step_seconds(name, PARAMS[name], b, p, args.steps, False)
        mpx = predict_speed(name)
        print(f"{name:20s} {n / 1e6:7.2f}M {a:21.2f} {f:11.2f} {a / f:6.2f} {mpx:16.3f}")


def recipes_table(args) -> None:
    print(f"precision: {'bf16 autocast' if AMP else 'float32'} (the recipe's)")
    print(
        f"{'recipe':34s} {'params':>8s} {'s/step':>7s} {'vs recipe':>9s} {'steps in 20 min':>16s}"
    )
    base = None
    for name, params, batch, patch in RECIPES:
        s = step_seconds(name, params, batch, patch, args.steps, AMP)
        base = base or s
        n = sum(q.numel() for q in build_model(name, params).parameters())
        label = f"{name} d{params['depth']} w{params['width']} b{batch} p{patch}"
        print(f"{label:34s} {n / 1e6:7.2f}M {s:7.3f} {s / base:9.2f} {1200 / s:16.0f}")


def augment_table(args) -> None:
    from segtrain import AugmentConfig, PatchDataset, prepare_images
    from segtrain.io import read_pairs_folder

    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "lucchi_pp" / "train"
    ims, ms, _ = prepare_images(read_pairs_folder(data))
    cases = [
        ("none", None),
        ("flips, turns, intensity (no warp, no blur)", AugmentConfig(warp_p=0, blur_p=0)),
        ("recipe (AugmentConfig())", AugmentConfig()),
        ("warp on every patch", AugmentConfig(warp_p=1.0)),
    ]
    b, p = RECIPE.batch_size, RECIPE.patch_px
    for label, aug in cases:
        ds = PatchDataset(ims, ms, patch_px=p, augment=aug, seed=0)
        ds.batch(0, b)
        t0 = time.perf_counter()
        n = max(args.steps, 10)
        for k in range(n):
            ds.batch(b * (k + 1), b)
        print(f"{label:45s} {(time.perf_counter() - t0) / n * 1000:8.1f} ms per batch of {b}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--models", default=",".join(PARAMS))
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--recipes", action="store_true", help="relative step cost of recipes")
    ap.add_argument("--augment", action="store_true", help="time to build one batch")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    if args.recipes:
        recipes_table(args)
    elif args.augment:
        augment_table(args)
    else:
        models_table(args)


if __name__ == "__main__":
    main()
