"""segtrain speed: training samples per second and prediction megapixels per second, per model.

    .venv/bin/python benchmarks/bench_segtrain.py [--steps 5] [--models unet,patch_cnn]

Training: batches of 4 random 256x256 patches, BCE+Dice, AdamW, bf16 autocast + channels_last
(the `amp` default) and float32, after one warm-up step. Prediction: one 768x1024 image
(Lucchi++ size) by 256 px tiles with 64 px overlap, no TTA. CPU threads: torch's default.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from segtrain import autocast_for, build_model, predict_image
from segtrain._train import loss_fn

PARAMS = {
    "unet": {"depth": 4, "width": 16},
    "attention_res_unet": {"depth": 4, "width": 16},
    "efficientnet_unet": {"depth": 4, "width": 16},
    "patch_cnn": {"width": 16, "fc": 64},
}


def train_speed(name: str, steps: int, amp: bool) -> float:
    torch.manual_seed(0)
    net = build_model(name, PARAMS[name])
    x = torch.randn(4, 1, 256, 256)
    y = (torch.rand(4, 1, 256, 256) > 0.8).float()
    if amp:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    dev = torch.device("cpu")
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        with autocast_for(dev, amp):
            out = net(x)
        loss = loss_fn(out, y, "bce+dice")
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:  # the first step is warm-up
            times.append(time.perf_counter() - t0)
    return 4 / float(np.median(times))


def predict_speed(name: str) -> float:
    net = build_model(name, PARAMS[name]).eval().to(memory_format=torch.channels_last)
    img = np.random.default_rng(0).random((768, 1024)).astype(np.float32)
    predict_image(net, img[:256, :256], tile_px=256, overlap_px=64, amp=True)  # warm-up
    t0 = time.perf_counter()
    predict_image(net, img, tile_px=256, overlap_px=64, amp=True)
    return img.size / 1e6 / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--models", default=",".join(PARAMS))
    args = ap.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(
        f"{'model':20s} {'train bf16 (patch/s)':>21s} {'train fp32':>11s} {'ratio':>6s} "
        f"{'predict (Mpx/s)':>16s}"
    )
    for name in args.models.split(","):
        a = train_speed(name, args.steps, True)
        b = train_speed(name, args.steps, False)
        p = predict_speed(name)
        print(f"{name:20s} {a:21.2f} {b:11.2f} {a / b:6.2f} {p:16.3f}")


if __name__ == "__main__":
    main()
