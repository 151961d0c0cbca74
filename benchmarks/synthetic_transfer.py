"""Synthetic to synthetic across microscopes, as 3DMSL's Table 4 asks of a simulator: train on
an Epi1 dataset rendered from the demo library plus the released 3DMSL instances, test on
datasets of other microscopes (Epi1 held out, Conf1, Conf2), every model at equal steps over
seeds.

    .venv/bin/python benchmarks/synthetic_transfer.py --out /tmp/syn_transfer
    .venv/bin/python benchmarks/synthetic_transfer.py --smoke --out /tmp/syn_smoke \
        --data /tmp/syn_smoke_data   # seconds
    .venv/bin/python benchmarks/synthetic_transfer.py --models unet --seeds 0 --resample \
        --out /tmp/syn_resample   # also each output on test images resampled to Epi1's pixels

Data (each set rendered once into DATA, default /tmp/syn_transfer_data, and reused by a re-run
or by another sitting; OUT holds the bench alone, so sittings pool with `mitoshape bench-merge`):
- shapes: the demo's phantom library (`shapelib.phantoms.phantom_volume(24, touching_pairs=2,
  rng=SEED)` extracted with the defaults of `mitoshape extract` into DATA/library, as
  `mitoshape demo` does) plus the released instances ../shared/data/3dmsl_samples/1 and /920;
- DATA/epi1_train: `--n-train` Epi1 fields of `--size` px with 1-8 objects, in-focus masks;
- DATA/{epi1,conf1,conf2}_test: `--n-test` fields each, other seeds.
Training follows the recipe and the held-out rule of `mitoshape train` (with 10 or more
training images, whole images are held out). Writes OUT/table.md (mean +- std over seeds
[per-image std]), table.csv, table_seeds.csv, table.png, bench.yaml, timing.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _runs import default_out  # a sibling module in benchmarks/

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MODELS = ("unet", "attention_res_unet", "efficientnet_unet", "patch_cnn")
TINY = {
    "unet": {"depth": 2, "width": 4},
    "attention_res_unet": {"depth": 2, "width": 4},
    "efficientnet_unet": {"depth": 2, "width": 4, "repeats": 1},
    "patch_cnn": {"width": 2, "fc": 4},
}
# Set name -> (microscope preset, seed offset).
SETS = {"epi1_train": ("Epi1", 0), "epi1_test": ("Epi1", 1), "conf1_test": ("Conf1", 2),
        "conf2_test": ("Conf2", 3)}  # fmt: skip


def shapes(data: Path, args):
    """The demo's phantom library (extracted once into DATA/library) and the 3DMSL instances."""
    from shapelib import extract_library
    from shapelib.phantoms import phantom_volume
    from simulator.io import read_shapes

    lib = data / "library"
    if not (lib / "library.csv").is_file():
        n = 3 if args.smoke else 24
        vol = phantom_volume(n, voxel_size_nm=30.0, touching_pairs=0 if args.smoke else 2,
                             rng=args.seed)  # fmt: skip
        extract_library(vol.labels, lib, voxel_size_nm=vol.voxel_size_nm, seed=args.seed,
                        n_workers=args.workers)  # fmt: skip
    found = read_shapes(lib)
    for k in ("1", "920"):
        found += read_shapes(SHARED / "3dmsl_samples" / k)
    return found


def render(data: Path, args) -> dict[str, Path]:
    """Every dataset of SETS (skipped when its dataset.json exists)."""
    from simulator import Acquisition, SceneConfig, get_preset, write_dataset

    found = None
    paths = {}
    for name, (preset, k) in SETS.items():
        path = data / name
        paths[name] = path
        if (path / "dataset.json").is_file():
            continue
        found = found if found is not None else shapes(data, args)
        n = args.n_train if name.endswith("train") else args.n_test
        scene = SceneConfig(acquisition=Acquisition(size_px=args.size), objects=(1, 8))
        write_dataset(found, get_preset(preset), path, n=n, scene=scene,
                      seed=args.seed * 10 + k, workers=args.workers)  # fmt: skip
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=default_out("syn_transfer"), help="bench folder")
    ap.add_argument("--data", type=Path, default=default_out("syn_transfer_data"),
                    help="rendered datasets and library (kept, shared by sittings)")  # fmt: skip
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=None, help="steps per run (default: recipe)")
    ap.add_argument("--n-train", type=int, default=200)
    ap.add_argument("--n-test", type=int, default=50)
    ap.add_argument("--size", type=int, default=256, help="image side, px")
    ap.add_argument("--seed", type=int, default=0, help="data seed (library and renders)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2, help="processes for extraction/rendering")
    ap.add_argument("--resample", action="store_true",
                    help="also score test images resampled to the training pixel size "
                         "(outputs OUTPUT@train_px)")  # fmt: skip
    ap.add_argument("--smoke", action="store_true", help="3 shapes, 10+2 images, 2 steps")
    args = ap.parse_args()
    if args.smoke:
        args.n_train, args.n_test, args.size, args.workers = 10, 2, 64, 1
    import segtrain
    from segtrain import RECIPE

    t0 = time.perf_counter()
    if args.data.resolve() == args.out.resolve():
        ap.error("--data and --out must be different folders")
    paths = render(args.data, args)
    t_data = time.perf_counter() - t0
    models = {m: (TINY[m] if args.smoke else {}) for m in args.models.split(",")}
    train = {"num_threads": args.threads, "patch_px": min(RECIPE.patch_px, args.size)}
    if args.steps:  # else the recipe's for the run's precision
        train["max_steps"] = args.steps
    if args.smoke:
        train |= {"max_steps": 2, "val_every": 2, "batch_size": 2}
    cfg = segtrain.BenchConfig(
        models=models,
        synthetic=[{"path": str(paths["epi1_train"]), "name": "epi1_train"}],
        regimes=["synthetic"],
        test_sets={
            "Epi1": str(paths["epi1_test"]),
            "Conf1": str(paths["conf1_test"]),
            "Conf2": str(paths["conf2_test"]),
        },  # fmt: skip
        train=train,
        seeds=[0] if args.smoke else [int(s) for s in args.seeds.split(",")],
        tile_px=min(512, args.size),
        overlap_px=min(64, args.size // 4),
        tta=["none"] if args.smoke else ["none", "flips"],
        resample=args.resample,
    )
    t1 = time.perf_counter()
    segtrain.run_bench(cfg, args.out)
    meta = {"data_s": round(t_data, 1), "bench_s": round(time.perf_counter() - t1, 1),
            "args": {k: str(v) for k, v in vars(args).items()}}  # fmt: skip
    (args.out / "timing.json").write_text(json.dumps(meta, indent=2))
    print((args.out / "table.md").read_text())
    print(f"data {t_data / 60:.1f} min, bench {meta['bench_s'] / 60:.1f} min; tables in {args.out}")


if __name__ == "__main__":
    main()
