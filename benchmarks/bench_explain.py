"""Faithfulness of Grad-CAM and HiResCAM on trained runs (the Lucchi++ runs of lucchi.py):
deletion-curve areas of each heatmap against random and inverse order, and mass in mask.

    .venv/bin/python benchmarks/bench_explain.py --out /tmp/explain_bench \\
        --runs /tmp/lucchi20/unet/run /tmp/lucchi/attention_res_unet/run \\
               /tmp/lucchi/efficientnet_unet/run /tmp/lucchi/patch_cnn/run

For each run, `segtrain.explain_folder` with both methods at the model's default layers (decoder
stage and bottleneck) on the centre crops (--crop px, default 320 = 1.6 um at 5 nm; with 448 px
tiles and 64 px overlap one tile per prediction; 0 = whole slices) of the first N test slices
(default 4), into OUT/LABEL/IMAGE/. The deletion curves cost (2 x heatmaps + n_random) x 21
predictions per image (4 heatmaps, random orders shared): about 210 predictions of a crop.
Then OUT/faithfulness.csv (one row per run, image, layer, method), OUT/faithfulness.md (means
over images) and OUT/timings.json. Lower deletion AUC = the score falls faster when the most
attributed pixels go = more faithful; a heatmap whose AUC is not below every random order's on
an image counts as no better than random there.

A few seconds on tiny inputs (a check that the script runs, not a result):

    .venv/bin/python benchmarks/bench_explain.py --runs RUN --images DIR --n-images 1 \\
        --tile 64 --overlap 8 --out /tmp/explain_tiny
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lucchi_pp" / "test" / "image"


def _label(run: Path, seen: set[str]) -> str:
    from segtrain import read_train_config

    cfg = read_train_config(run)
    label = cfg.model
    k = 2
    while label in seen:
        label = f"{cfg.model}_{k}"
        k += 1
    seen.add(label)
    return label


def markdown(table) -> str:
    """Means over images per run, layer and method, as a Markdown table."""
    g = table.groupby(["run", "layer", "method"], sort=False)
    rows = [
        "| model (run) | layer | method | images | deletion AUC | random AUC | inverse AUC "
        "| mass in mask | mask share | better than random |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (run, layer, method), t in g:
        empty = int((~np.isfinite(t["auc_deletion"])).sum())
        note = f" ({empty} with an empty prediction)" if empty else ""
        rows.append(
            f"| {run} | {layer} | {method} | {len(t)}{note} "
            f"| {t['auc_deletion'].mean():.3f} +- {t['auc_deletion'].std(ddof=1):.3f} "
            f"| {t['auc_random'].mean():.3f} | {t['auc_inverse'].mean():.3f} "
            f"| {t['mass_in_mask'].mean():.3f} | {t['mask_fraction'].mean():.3f} "
            f"| {int(t['better_than_random'].sum())} of {len(t)} |"
        )
    return "\n".join(rows) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=Path, nargs="+", required=True, help="Run folders.")
    ap.add_argument("--images", type=Path, default=DATA, help="Folder of test images.")
    ap.add_argument("--n-images", type=int, default=4, help="First N images (by name).")
    ap.add_argument("--crop", type=int, default=320, help="Centre crop side (0 = whole).")
    ap.add_argument("--tile", type=int, default=448)
    ap.add_argument("--overlap", type=int, default=64)
    ap.add_argument("--n-random", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    import pandas as pd
    import torch

    from segtrain import DeletionConfig, InferenceConfig, Run, explain_folder
    from segtrain.io import list_images, read_scaled_image, write_tiff

    torch.set_num_threads(args.threads)
    files = list_images(args.images)[: args.n_images]
    if args.crop:
        # Centre crops, written with their pixel size, explained as images of their own.
        crops = []
        for f in files:
            img = read_scaled_image(f)
            h, w = img.data.shape[-2:]
            y0, x0 = max(0, (h - args.crop) // 2), max(0, (w - args.crop) // 2)
            crop = img.data[..., y0 : y0 + args.crop, x0 : x0 + args.crop]
            crops.append(args.out / "crops" / f"{f.stem}.tif")
            write_tiff(crops[-1], crop, pixel_size_nm=img.pixel_size_nm)
        files = crops
    tables, timings, seen = [], {}, set()
    config = InferenceConfig(tile_px=args.tile, overlap_px=args.overlap, device="cpu")
    for run in args.runs:
        label = _label(run, seen)
        opened = Run.open(run, config)
        for f in files:
            t0 = time.perf_counter()
            res = explain_folder(
                opened,
                f,
                args.out / label / f.stem,
                methods=("gradcam", "hirescam"),
                deletion=DeletionConfig(n_random=args.n_random),
                overwrite=True,
            )
            timings[f"{label}/{f.stem}"] = time.perf_counter() - t0
            tables.append(res.faithfulness.assign(run=label, run_dir=str(run)))
            print(f"{label} {f.stem}: {timings[f'{label}/{f.stem}']:.1f} s", flush=True)
    table = pd.concat(tables, ignore_index=True)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "faithfulness.csv", index=False)
    md = markdown(table)
    (args.out / "faithfulness.md").write_text(md)
    (args.out / "timings.json").write_text(json.dumps(timings, indent=2))
    print(md)


if __name__ == "__main__":
    main()
