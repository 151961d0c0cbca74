"""Build the shipped fluorescence model from synthetic data only, and measure it on real images.

Every step is a mitoshape command (the record of how the model that ships was made), run in
order; a step whose output exists is skipped, so the script resumes:

1. scenes fitted to the real images shipped beside the project (``../shared/data``): the 64
   distinct H9c2 tiles (8-bit PNG, 80 nm; field m026 is a byte copy of m025 and is left out)
   and the MCC13 image (16-bit TIFF, 80 nm), with the camera calibrated on MCC13;
2. training sets from those fits and from two generic microscopes (a widefield at 520 nm and a
   confocal at 600 nm, raw and 8-bit exports), every one with the phantom library mixed in
   (procedural shapes: no licence attaches to what is learned from them);
3. one U-Net trained on all four (``--amp`` where the CPU has native bf16);
4. the run installed as ``segtrain/shipped/<name>`` with its card and SHA-256 index
   (``--install``);
5. measured: predictions on all 80 H9c2 tiles (contact sheets, foreground per tile and per
   field, background-only tiles), and the realism test of fitted scenes against the H9c2
   tiles and MCC13 (sets rendered without pixel-size variation, as the real images have one).

Usage (run alone; about an hour on 2 cores)::

    python benchmarks/shipped_model.py --out benchmarks/runs/shipped [--install]
    python benchmarks/shipped_model.py --smoke --out /tmp/shipped_smoke   # tiny, for tests

The real images are research data under their own licences (PROVENANCE.md): they are used to
fit scene statistics and to measure, never as training images.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
H9C2 = DATA / "fluorescence" / "h9c2_unlabelled"
MCC13 = DATA / "fluorescence" / "mcc13_human_mito_80nm.tif"
NAME = "mito-fluo-2d"
# The shipped example: a dense field of tubules next to empty background.
EXAMPLE = "normOx-3_m028_z5_06"

# H9c2 tiles that hold only camera noise (judged by eye on the contact sheet; the scene fit's
# classical detector finds no mitochondria in them either): the background-only check.
BACKGROUND_TILES = (
    "hypOx-ADM-7_m015_z5_04", "hypOx-ADM-7_m015_z5_09", "hypOx-ADM-7_m015_z5_13",
    "hypOx-ADM-7_m015_z5_14", "hypOx-ADM-7_m015_z5_16", "normOx-3_m025_z7_01",
    "normOx-3_m025_z7_05", "normOx-3_m025_z7_15", "normOx-3_m025_z7_16",
    "normOx-3_m027_z6_08", "normOx-3_m027_z6_16", "normOx-3_m028_z5_13",
    "normOx-3_m028_z5_14", "normOx-3_m028_z5_15", "normOx-3_m028_z5_16",
)  # fmt: skip

GFP = """name: widefield520
optics: {modality: widefield, emission_wavelength_nm: 520, NA: 1.3, pixel_size_nm: 80,
         magnification: 60}
camera: {mode: physical, gain_adu_per_e: 1.5, read_noise_e: 2.0, offset_adu: 100,
         offset_field_std_adu: 1.5, row_offset_std_adu: 0.8}
"""
CONFOCAL = """name: confocal600
optics: {modality: confocal, emission_wavelength_nm: 600, excitation_wavelength_nm: 561,
         NA: 1.4, pixel_size_nm: 80, pinhole_au: 1.0, magnification: 63}
camera: {mode: physical, gain_adu_per_e: 1.0, read_noise_e: 1.0, offset_adu: 50}
"""
GENERIC_SCENE = "kind: cell\nexport: {mode: stretch8, raw_fraction: 0.5}\n"
NO_PIXEL_VARIATION = "randomize: {pixel_size_scale: [1.0, 1.0]}\n"


def mito(*args, log: Path) -> None:
    """Run one mitoshape command; its output goes to the log; a failure stops the script."""
    cmd = [str(Path(sys.executable).with_name("mitoshape")), *map(str, args)]
    t = time.perf_counter()
    with open(log, "a") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n")
        fh.flush()
        done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=False)
        fh.write(f"# {time.perf_counter() - t:.1f} s, exit {done.returncode}\n")
    if done.returncode:
        raise SystemExit(f"failed: {' '.join(cmd)} (see {log})")


def _merged_scene(fitted: Path, extra: str, out: Path) -> Path:
    """A fitted scene YAML with fields replaced (e.g. no pixel-size variation)."""
    import yaml

    scene = yaml.safe_load(fitted.read_text())
    for key, value in yaml.safe_load(extra).items():
        scene[key] = {**scene.get(key, {}), **value} if isinstance(value, dict) else value
    out.write_text(yaml.safe_dump(scene))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "runs" / "shipped")
    ap.add_argument("--smoke", action="store_true", help="tiny sets and steps (a test)")
    ap.add_argument("--install", action="store_true", help="install the run as shipped model")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--amp", action="store_true", help="bf16 (CPUs with AVX512-BF16/AMX)")
    a = ap.parse_args()
    if not H9C2.is_dir():
        raise SystemExit(f"needs the real images in {H9C2} (../shared/data)")
    out = a.out
    out.mkdir(parents=True, exist_ok=True)
    log = out / "log.txt"
    n = {"h9c2": 700, "mcc13": 350, "gfp": 250, "conf": 150, "realism": 200, "rounds": 4}
    if a.smoke:
        n = {k: 8 for k in n} | {"rounds": 1}
    steps = 6 if a.smoke else a.steps
    fit_opts = ["--rounds", n["rounds"], "--images-per-round", 4 if a.smoke else 16]

    # 1. the real folders, the camera, the phantom library, the fits
    real = out / "h9c2"
    if not real.is_dir():
        real.mkdir()
        for f in sorted(H9C2.glob("*.png")):
            if "_m026_" not in f.name:  # a byte copy of m025
                shutil.copy(f, real / f.name)
    mcc = out / "mcc13"
    if not mcc.is_dir():
        mcc.mkdir()
        shutil.copy(MCC13, mcc / MCC13.name)
    camera = out / "camera.yaml"
    if not camera.is_file():
        mito("calibrate", MCC13, "-o", camera, log=log)
    lib = out / "phantom_lib"
    if not lib.is_dir():
        mito("phantom", "-o", out / "phantom" / "vol.tif", "--objects", 24, "--seed", 3, log=log)
        mito("extract", out / "phantom" / "vol.tif", "-o", lib, "--seed", 0, log=log)
    optics = ["--camera", camera, "--emission-nm", 610, "--na", 1.4]
    for name, folder, px in (("h9c2", real, ["--pixel-size-nm", 80]), ("mcc13", mcc, [])):
        if not (out / f"fit_{name}" / "scene.yaml").is_file():
            mito("fit-scenes", folder, "-o", out / f"fit_{name}" / "scene.yaml", *px, *optics,
                 *fit_opts, "--seed", 0, log=log)  # fmt: skip
    (out / "gfp.yaml").write_text(GFP)
    (out / "confocal.yaml").write_text(CONFOCAL)
    (out / "generic_scene.yaml").write_text(GENERIC_SCENE)

    # 2. training sets (and realism sets without pixel-size variation)
    sets = {
        "ds_h9c2": (["--scene-config", out / "fit_h9c2" / "scene.yaml"], n["h9c2"], 11),
        "ds_mcc13": (["--scene-config", out / "fit_mcc13" / "scene.yaml"], n["mcc13"], 12),
        "ds_gfp": (["--scene-config", out / "generic_scene.yaml", "--config", out / "gfp.yaml"],
                   n["gfp"], 13),
        "ds_conf": (["--scene-config", out / "generic_scene.yaml", "--config",
                     out / "confocal.yaml"], n["conf"], 14),
    }  # fmt: skip
    for which in ("h9c2", "mcc13"):
        scene = _merged_scene(out / f"fit_{which}" / "scene.yaml", NO_PIXEL_VARIATION,
                              out / f"realism_scene_{which}.yaml")  # fmt: skip
        sets[f"realism_{which}"] = (["--scene-config", scene], n["realism"], 21)
    for name, (opts, count, seed) in sets.items():
        if not (out / name / "dataset.json").is_file():
            mito("dataset", lib, "-o", out / name, "--scene", "cell", *opts, "--n", count,
                 "--seed", seed, "--overwrite", log=log)  # fmt: skip

    # 3. the model
    run = out / "run"
    train_yaml = out / "train.yaml"
    train_yaml.write_text(
        "train:\n"
        + "".join(f"  - {{path: {out / d}, weight: {w}}}\n"
                  for d, w in (("ds_h9c2", 2), ("ds_mcc13", 1), ("ds_gfp", 1), ("ds_conf", 1)))
        + f"run_dir: {run}\nmodel: unet\nnormalize_percentiles: [1.0, 99.8]\n"
        "normalize_min_range_sigmas: 20.0\nfg_fraction: 0.5\n"
        f"max_steps: {steps}\nseed: 0\n"
    )  # fmt: skip
    if not (run / "best.pt").is_file():
        mito("train", "-c", train_yaml, *(["--amp"] if a.amp else []), log=log)

    # 4. install
    if a.install:
        mito_install(run, out, lib)

    # 5. measured: the run on every H9c2 tile (all 80, m026 included), realism
    pred = out / "pred_h9c2"
    if not (pred / "masks").is_dir():
        mito("predict", run, H9C2, "-o", pred, "--tta", "flips", "--pixel-size-nm", 80, log=log)
    measure_h9c2(pred, out)
    for which, real_set in (("h9c2", real), ("mcc13", MCC13)):
        dest = out / f"realism_vs_{which}"
        if not (dest / "realism.json").is_file():
            mito("realism", real_set, out / f"realism_{which}", "-o", dest, "--seed", 0,
                 "--overwrite", log=log)  # fmt: skip
        auc = json.loads((dest / "realism.json").read_text())["auc"]
        for k, v in auc.items():
            print(f"realism vs {which}: {k} held-out ROC AUC {v['mean']:.3f} +- {v['std']:.3f}")
    synthetic_held_out(run, out, lib, n=8 if a.smoke else 40, log=log)


def synthetic_held_out(run: Path, out: Path, lib: Path, *, n: int, log: Path) -> None:
    """Fresh cell scenes through each microscope preset (its own pixel size: predict
    --resample), scored against their visible masks: pooled fg IoU and Betti error."""
    import pandas as pd

    from segtrain import evaluate_folders

    rows = []
    for k, preset in enumerate(("Epi1", "Conf1", "Conf2")):
        ds, pred = out / f"test_{preset}", out / f"pred_test_{preset}"
        if not (ds / "dataset.json").is_file():
            mito("dataset", lib, "-o", ds, "--scene", "cell", "--preset", preset,
                 "--scene-config", out / "generic_scene.yaml", "--n", n, "--seed", 41 + k,
                 "--overwrite", log=log)  # fmt: skip
        if not (pred / "masks").is_dir():
            mito("predict", run, ds / "images", "-o", pred, "--tta", "flips", "--resample",
                 log=log)  # fmt: skip
        per = evaluate_folders(pred / "masks", ds / "masks").per_image
        tp, fp, fn = (per[c].sum() for c in ("tp", "fp", "fn"))
        pixels = per[["tp", "fp", "fn", "tn"]].to_numpy().sum()
        rows.append({"preset": preset, "images": len(per),
                     "pooled_fg_iou": tp / max(tp + fp + fn, 1),
                     "betti_error_mean": per["betti_error"].mean(),
                     "true_fg": (tp + fn) / pixels,
                     "predicted_fg": (tp + fp) / pixels})  # fmt: skip
    table = pd.DataFrame(rows)
    table.to_csv(out / "synthetic_held_out.csv", index=False)
    print("synthetic held-out cell scenes per preset (visible masks):")
    print(table.round(4).to_string(index=False))


def measure_h9c2(pred: Path, out: Path) -> None:
    """Foreground per tile and per field, background-only tiles, contact sheets."""
    from PIL import Image

    import segtrain
    from segtrain.io import read_mask, write_figure

    rows = []
    images, masks, names = [], [], []
    for f in sorted(H9C2.glob("*.png")):
        m = read_mask(pred / "masks" / (f.stem + ".tif"))[0]
        rows.append({"tile": f.stem, "field": f.stem.rsplit("_", 1)[0],
                     "foreground": float(np.mean(m > 0)),
                     "background_only": f.stem in BACKGROUND_TILES})  # fmt: skip
        images.append(np.asarray(Image.open(f))[..., 0])
        masks.append(m)
        names.append(f.stem)
    import pandas as pd

    df = pd.DataFrame(rows)
    df.to_csv(out / "h9c2_foreground.csv", index=False)
    for k in range(0, len(images), 16):
        fig = segtrain.plot_prediction_sheet(
            images[k : k + 16], masks[k : k + 16], names[k : k + 16], pixel_size_nm=80.0,
            title=f"{NAME} on real H9c2 tiles (PhySeg's data; no masks exist for them)",
        )  # fmt: skip
        write_figure(out / f"h9c2_sheet_{k // 16}.png", fig)
    per_field = df.groupby("field")["foreground"].agg(["mean", "min", "max"])
    print("predicted foreground per field (share of pixels):")
    print(per_field.round(4).to_string())
    bg = df[df.background_only]
    print(
        f"background-only tiles ({len(bg)}): predicted foreground mean "
        f"{bg.foreground.mean():.5f}, max {bg.foreground.max():.5f} (target < 0.01)"
    )


def mito_install(run: Path, out: Path, lib: Path) -> None:
    """Copy the run into segtrain/shipped/<NAME> with its card, and index its files' hashes."""
    import hashlib

    dest = ROOT / "segtrain" / "shipped" / NAME
    dest.mkdir(parents=True, exist_ok=True)
    for f in ("config.yaml", "config.json", "split.json", "postprocess.json"):
        if (run / f).is_file():
            shutil.copy(run / f, dest / f)
    # The weights without the optimizer's state (two thirds of the file; not needed to predict).
    import torch

    ck = torch.load(run / "best.pt", map_location="cpu", weights_only=True)
    ck.pop("optimizer", None)
    torch.save(ck, dest / "best.pt")
    card = ROOT / "benchmarks" / "shipped_model_card.md"
    shutil.copy(card, dest / "card.md")
    # The example a user (and tests/segtrain/test_shipped.py) segments: one real H9c2 tile (MIT
    # licence, PhySeg's data; PROVENANCE.md) and the model's recorded mask of it.
    shutil.copyfile(H9C2 / f"{EXAMPLE}.png", dest / "example.png")
    mito("predict", run, dest / "example.png", "-o", out / "example_pred", "--tta", "flips",
         "--pixel-size-nm", 80, "--overwrite", log=out / "log.txt")  # fmt: skip
    from PIL import Image

    from segtrain.io import read_mask

    mask = read_mask(out / "example_pred" / "masks" / "example.tif")[0]
    Image.fromarray(((mask > 0) * 255).astype(np.uint8)).save(dest / "example_mask.png")
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(dest.iterdir())}
    index_file = ROOT / "segtrain" / "shipped" / "MODELS.json"
    index = json.loads(index_file.read_text()) if index_file.is_file() else {}
    index[NAME] = {
        "folder": NAME,
        "summary": "2D mitochondria in widefield/confocal fluorescence, trained on synthetic "
        "cells only",
        "pixel_size_nm": 80.0,
        "pixel_size_range_nm": [40.0, 160.0],
        "card": "card.md",
        "sha256": files,
    }
    index_file.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    print(f"installed {NAME} in {dest}")


if __name__ == "__main__":
    main()
