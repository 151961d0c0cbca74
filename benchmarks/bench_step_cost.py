"""Training step cost per model and precision on this CPU, as ratios against the float32 U-Net
measured in the same process (so a busy machine shifts every row alike).

    .venv/bin/python benchmarks/bench_step_cost.py [--steps 10] [--threads 2]
    .venv/bin/python benchmarks/bench_step_cost.py --smoke      # tiny models, 1 step: a check

Each row: one model at the recipe's size (`segtrain.RECIPE`: batches of 4 patches of 256 px),
BCE+Dice, AdamW; float32, then bf16 autocast with channels_last (`amp: true`, as training runs
it); the median seconds per optimiser step after one warm-up step (`bench_segtrain.step_seconds`,
the one timer of the benchmarks). The head names the CPU (lscpu's model name), its bf16 flags
(avx512_bf16, amx_bf16: native bf16, `segtrain.native_bf16`), the threads and the load average,
for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess

import torch
from bench_segtrain import step_seconds  # benchmarks/ is the script's folder

from segtrain import RECIPE, native_bf16

MODELS = ("unet", "attention_res_unet", "efficientnet_unet", "patch_cnn")
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
SMOKE_PARAMS = {"patch_cnn": {"width": 4, "fc": 8}}


def cpu_line() -> str:
    """The CPU's model name and which of `FLAGS` it has (lscpu; /proc/cpuinfo without it)."""
    name, flags = platform.processor() or "unknown CPU", ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        out = ""
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Model name":
            name = value.strip()
        elif key.strip() == "Flags":
            flags = value
    if not flags:
        from segtrain.inference._device import _cpuinfo_flags

        flags = _cpuinfo_flags()
    have = set(flags.split())
    shown = ", ".join(f"{f} {'yes' if f in have else 'no'}" for f in FLAGS)
    return f"{name} ({shown}; native bf16: {'yes' if native_bf16(flags) else 'no'})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--steps", type=int, default=10, help="timed steps per row (median)")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default torch's)")
    ap.add_argument("--smoke", action="store_true", help="tiny models and patches, 1 step")
    ap.add_argument(
        "--layouts",
        action="store_true",
        help="also each precision with the other memory layout (channels_last on/off)",
    )
    ap.add_argument(
        "--compile",
        default="",
        help="comma-separated models to time under torch.compile too (e.g. unet)",
    )
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    batch, patch, steps = RECIPE.batch_size, RECIPE.patch_px, args.steps
    if args.smoke:
        batch, patch, steps = 2, 32, 1
    print(f"CPU: {cpu_line()}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; batches of {batch} patches of {patch} px"
    )
    print(f"{'model':20s} {'precision':>10s} {'layout':>26s} {'s/step':>8s} {'vs fp32 unet':>13s}")
    base = None
    compiled = {m for m in args.compile.split(",") if m}
    for name in ["unet", *[m for m in args.models.split(",") if m != "unet"]]:
        params = dict(RECIPE.model_params[name])
        if args.smoke:
            params = SMOKE_PARAMS.get(name, {"depth": 2, "width": 4})
        for amp, label in ((False, "float32"), (True, "bf16")):
            # as training runs it: channels_last with bf16, contiguous in float32
            rows = [(amp, False)] + ([(not amp, False)] if args.layouts else [])
            rows += [(amp, True)] if name in compiled else []
            for cl, comp in rows:
                try:
                    s = step_seconds(
                        name, params, batch, patch, steps, amp, channels_last=cl, compiled=comp
                    )
                except Exception as err:  # torch.compile needs a C++ compiler; say so
                    print(f"{name:20s} {label:>10s} compile failed: {type(err).__name__}: {err}")
                    continue
                base = base or s
                layout = ("channels_last" if cl else "contiguous") + ("+compile" if comp else "")
                print(f"{name:20s} {label:>10s} {layout:>26s} {s:8.3f} {s / base:13.2f}")


if __name__ == "__main__":
    main()
