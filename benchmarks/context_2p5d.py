"""2.5D input measured: the same recipe with 0, 1 and 2 neighbour slices per side as channels,
at equal steps over seeds, on simulated z-stacks (the shipped data hold no real EM image stack:
Lucchi++ ships 5 training and 17 test slices that are 10-40 slices apart, and labels without
images for the rest).

    .venv/bin/python benchmarks/context_2p5d.py --out /tmp/ctx2p5d
    .venv/bin/python benchmarks/context_2p5d.py --smoke --out /tmp/ctx_smoke   # seconds
    # one table from sittings (e.g. --seeds 0, then --seeds 1,2 in another --out)
    .venv/bin/python benchmarks/context_2p5d.py --merge /tmp/ctx_a /tmp/ctx_b --out OUT

Data: Conf1 z-stacks (`--planes` planes 250 nm apart, `--size` px, 2-6 objects) rendered from
the shapes of `synthetic_transfer.py` (demo phantom library + 3DMSL instances 1 and 920); the
target of each slice is the 3D label volume's cross-section at that plane (`labels/`). Each
stack is a `kind: stack` source; validation uses separate stacks (`--train` / 8 of them), so
every context trains on the same slices (a hold-out cut from the training stacks would leave a
context-dependent gap). Test: every slice of `--test` other stacks, predicted slice by slice
with the run's context. Writes OUT/context.md (per context: mean over seeds +- std over seeds of
the pooled fg IoU and the per-slice IoU, Dice, Betti error) and OUT/context_seeds.csv.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _runs import default_out  # sibling modules in benchmarks/
from synthetic_transfer import TINY, shapes  # a sibling script in benchmarks/


def render(out: Path, args) -> dict[str, Path]:
    from simulator import Acquisition, SceneConfig, get_preset, write_dataset

    paths, found = {}, None
    n_val = max(1, args.train // 8)
    for name, n, k in (("train", args.train, 0), ("val", n_val, 2), ("test", args.test, 1)):
        path = out / "data" / f"stacks_{name}"
        paths[name] = path
        if (path / "dataset.json").is_file():
            continue
        found = found if found is not None else shapes(out, args)
        acq = Acquisition(size_px=args.size, z_planes=args.planes, z_step_nm=250.0)
        write_dataset(found, get_preset("Conf1"), path, n=n,
                      scene=SceneConfig(acquisition=acq, objects=(2, 6)),
                      seed=args.seed * 10 + k, workers=args.workers)  # fmt: skip
    return paths


def sources(folder: Path) -> list[dict]:
    """One stack source per rendered z-stack (image stack + its 3D label volume)."""
    return [
        {
            "path": str(p),
            "label_path": str(folder / "labels" / p.name),
            "kind": "stack",
            "name": p.stem,
        }  # fmt: skip
        for p in sorted((folder / "images").glob("*.tif"))
    ]


def evaluate(run: Path, folder: Path, tile_px: int):
    """Per-slice evaluation of every test stack (the label volume's slices as truth), each slice
    with the run's context."""
    from segtrain import InferenceConfig, Run, evaluate_images
    from segtrain.io import read_scaled_image

    opened = Run.open(run, InferenceConfig(tile_px=tile_px, overlap_px=tile_px // 8, amp=False))
    rows = []
    for src in sources(folder):
        stack = read_scaled_image(src["path"]).data
        labels = read_scaled_image(src["label_path"]).data
        prob = opened.predict(stack, where=src["name"])
        for z in range(stack.shape[0]):
            rows.append((f"{src['name']}_z{z:03d}", prob[z], None, labels[z] > 0, labels[z]))
    return evaluate_images(rows).summary


def write_table(per_seed, out: Path) -> str:
    """Write OUT/context_seeds.csv and OUT/context.md (mean over seeds +- std over seeds)."""
    per_seed.to_csv(out / "context_seeds.csv", index=False)
    lines = [
        "| context slices | seeds | IoU pooled | IoU per slice | Dice per slice | Betti error |",
        "|---|---|---|---|---|---|",
    ]
    for c, g in per_seed.groupby("context_slices"):

        def cell(col, g=g):
            sd = g[col].std(ddof=1) if len(g) > 1 else 0.0
            return f"{g[col].mean():.3f} +- {sd:.3f}"

        lines.append(f"| {c} | {len(g)} | {cell('iou_pooled')} | {cell('iou_mean')} | "
                     f"{cell('dice_mean')} | {cell('betti_error_mean')} |")  # fmt: skip
    text = "mean over seeds +- std over seeds\n\n" + "\n".join(lines) + "\n"
    (out / "context.md").write_text(text)
    return text


# Arguments that fix the data and the recipe: sittings pooled by --merge must agree on them.
SAME_DATA = ("model", "steps", "train", "test", "planes", "size", "seed", "smoke")


def merge(folders: list[Path], out: Path) -> str:
    """Pool sittings (each a finished --out folder) into one table; refuse a (context, seed)
    run present twice or sittings made with different data or steps."""
    import pandas as pd

    if len({f.resolve() for f in folders}) < len(folders):
        raise SystemExit(f"a folder is given twice in --merge {' '.join(map(str, folders))}")
    frames, ref = [], None
    for f in folders:
        csv, meta = f / "context_seeds.csv", f / "timing.json"
        if not (csv.is_file() and meta.is_file()):
            raise SystemExit(f"{f} is not a finished context_2p5d.py run (no {csv.name}).")
        fixed = {k: json.loads(meta.read_text())["args"].get(k) for k in SAME_DATA}
        if ref is not None and fixed != ref[1]:
            diff = sorted(k for k in SAME_DATA if fixed[k] != ref[1][k])
            raise SystemExit(f"{f} and {ref[0]} differ in {diff}: they cannot be pooled.")
        ref = ref or (f, fixed)
        frames.append(pd.read_csv(csv).assign(sitting=str(f)))
    per_seed = pd.concat(frames, ignore_index=True)
    dup = per_seed[per_seed.duplicated(["context_slices", "seed"], keep=False)]
    if len(dup):
        c, s = dup.iloc[0][["context_slices", "seed"]]
        where = sorted(set(dup.sitting))
        raise SystemExit(f"context {c} seed {s} is in more than one sitting: {where}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "merged_from.txt").write_text("".join(f"{f}\n" for f in folders))
    return write_table(per_seed.drop(columns="sitting"), out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=default_out("ctx2p5d"))
    ap.add_argument("--contexts", default="0,1,2")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--model", default="unet")
    ap.add_argument("--steps", type=int, default=None, help="steps per run (default: recipe)")
    ap.add_argument("--train", type=int, default=16, help="training stacks")
    ap.add_argument("--test", type=int, default=4, help="test stacks")
    ap.add_argument("--planes", type=int, default=16)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0, help="data seed")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--smoke", action="store_true", help="2+1 small stacks, 2 steps, 1 seed")
    ap.add_argument("--merge", nargs="+", type=Path, metavar="DIR", help="pool these sittings")
    args = ap.parse_args()
    if args.merge:
        print(merge(args.merge, args.out))
        return
    if args.smoke:
        args.train, args.test, args.planes, args.size, args.workers = 2, 1, 6, 48, 1
        args.seeds = "0"
    import pandas as pd

    from segtrain import RECIPE, TrainConfig, train

    t0 = time.perf_counter()
    paths = render(args.out, args)
    rows = []
    for context in (int(c) for c in args.contexts.split(",")):
        for seed in (int(s) for s in args.seeds.split(",")):
            fields = {"train": sources(paths["train"]), "val": sources(paths["val"]),
                      "model": args.model, "seed": seed,
                      "context_slices": context, "num_threads": args.threads,
                      "patch_px": min(RECIPE.patch_px, args.size),
                      "run_dir": str(args.out / "runs" / f"ctx{context}__seed{seed}")}  # fmt: skip
            if args.steps:  # else the recipe's for the run's precision
                fields["max_steps"] = args.steps
            if args.smoke:
                fields |= {"max_steps": 2, "val_every": 2, "batch_size": 2,
                           "model_params": TINY[args.model]}  # fmt: skip
            run = train(TrainConfig(**fields), overwrite=True)
            s = evaluate(run, paths["test"], tile_px=min(512, args.size))
            rows.append({"context_slices": context, "seed": seed, **s})
    per_seed = pd.DataFrame(rows)
    text = write_table(per_seed, args.out)
    wall = round(time.perf_counter() - t0, 1)
    meta = {"wall_s": wall, "args": {k: str(v) for k, v in vars(args).items()}}
    (args.out / "timing.json").write_text(json.dumps(meta, indent=2))
    print(text)
    print(f"wall clock {meta['wall_s'] / 60:.1f} min; tables in {args.out}")


if __name__ == "__main__":
    main()
