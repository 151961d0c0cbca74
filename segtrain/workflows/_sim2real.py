"""From unlabelled real images to a segmenter for them, in one go (`sim2real`): fit the cell
scenes to the images, render a training set, train, predict the real images, measure how
well a classifier tells the synthetic set from the real one, and write a page to look at.

Everything lands in one output folder::

    OUT/fit/scene.yaml (+ _stats.csv, _summary.csv, _rounds.csv, .png)   the fitted scenes
    OUT/dataset/        the rendered training set (images, masks, dataset.json)
    OUT/run/            the trained run (config.yaml, best.pt, log.csv, ...)
    OUT/predictions/    masks and probabilities of every real image
    OUT/realism/        realism.json and realism.png (held-out ROC AUC, real vs synthetic)
    OUT/sheets/         the real images beside their predicted outlines
    OUT/index.html      the page: what was done, the figures and a table per image

Each step writes its own folder, so a run stopped part way keeps what it finished.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shapelib import InputError

from .. import io

__all__ = ["Sim2RealConfig", "sim2real"]

Progress = Callable[[str, int, int], None] | None


class Sim2RealConfig(BaseModel):
    """The settings of `sim2real` (each step's own options keep their defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_images: int = Field(600, ge=8, le=1_000_000, description="synthetic training images")
    rounds: int = Field(4, ge=1, le=20, description="rounds of the scene fit")
    images_per_round: int = Field(16, ge=2, le=1000, description="scenes per fit round")
    max_steps: int = Field(1200, ge=1, le=10_000_000, description="training steps")
    minutes: float | None = Field(None, gt=0, description="also stop training after this")
    model: str = Field("unet", description="segmenter (segtrain.MODELS)")
    amp: bool = Field(False, description="bf16 mixed precision on CPU")
    tta: str = Field("flips", description="test-time augmentation of the predictions")
    realism_epochs: int = Field(15, ge=1, le=1000, description="realism classifier epochs")
    realism_images: int = Field(200, ge=2, le=100_000, description="synthetic images it sees")
    min_range_sigmas: float = Field(
        20.0, ge=0, description="normalisation: least range in noise stds (pure noise stays dim)"
    )
    seed: int = Field(0, ge=0, description="the one seed (fit, scenes, training)")
    workers: int | None = Field(None, ge=1, description="rendering processes (default: all)")


def _stage(progress: Progress, name: str):
    def call(done: int, total: int) -> None:
        if progress is not None:
            progress(name, done, total)

    return call


def sim2real(
    real: str | Path,
    microscope,
    out: str | Path,
    *,
    pixel_size_nm: float | None = None,
    shapes: Sequence = (),
    config: Sim2RealConfig | None = None,
    overwrite: bool = False,
    progress: Progress = None,
) -> Path:
    """Fit, render, train, predict, measure and report (see the module's text).

    Parameters
    ----------
    real : folder of real, unlabelled 2D images (TIFF/PNG) of one microscope
    microscope : simulator.Microscope, its optics (the pixel size is taken from the images) and
        camera (calibrated: `mitoshape calibrate`)
    out : the output folder (new or empty, or an earlier sim2real output with ``overwrite``)
    pixel_size_nm : when the files do not say (PNG)
    shapes : library shapes to mix into the scenes (default: networks only)
    config : Sim2RealConfig
    progress : ``progress(step, done, total)`` for each step

    Returns
    -------
    Path, the page (``OUT/index.html``)
    """
    import simulator
    from shapelib.io import open_output_folder, write_config
    from simulator.io import read_real_images, write_scene_fit

    from ..evaluate._realism import realism_test
    from ..figures._sheet import plot_prediction_sheet
    from ..inference._config import InferenceConfig
    from ..training._config import DataSource, TrainConfig
    from ._predict import predict_folder
    from ._run import Run
    from ._train import train

    cfg = config or Sim2RealConfig()
    real = Path(real)
    if not real.is_dir():
        raise InputError(f"{real} is not a folder of images; give the folder of real images.")
    imgs = read_real_images(real, pixel_size_nm=pixel_size_nm)
    a = imgs.pixel_size_nm
    optics = microscope.optics.model_copy(update={"pixel_size_nm": a})
    mic = microscope.model_copy(update={"optics": optics})
    folder = open_output_folder(
        out,
        command="sim2real",
        inputs=[real],
        overwrite=overwrite,
        details={"real": str(real), "n_real": len(imgs.images), **cfg.model_dump()},
    )
    root = folder.root
    write_config(folder.path("sim2real.yaml"), cfg)
    sizes = sorted(min(s) for s in imgs.sizes)
    size = int(min(max(sizes[len(sizes) // 2], 32), 256))

    # 1. scenes fitted to the real images
    fit_cfg = simulator.FitConfig(
        rounds=cfg.rounds, images_per_round=cfg.images_per_round, size_px=size
    )
    fit = simulator.fit_scene(
        imgs.images,
        mic,
        shapes=shapes,
        config=fit_cfg,
        names=imgs.names,
        rng=cfg.seed,
        progress=_stage(progress, "fitting scenes"),
    )
    scene_file = folder.path("fit/scene.yaml")
    write_scene_fit(
        fit, scene_file, real_images=imgs.images, real_names=imgs.names, pixel_size_nm=a
    )
    scene = fit.config.model_copy(
        update={"acquisition": fit.config.acquisition.model_copy(update={"size_px": size})}
    )
    # 2. the training set
    folder.subfolder("dataset")
    folder.subfolder("run")
    folder.subfolder("predictions")
    dataset = simulator.write_dataset(
        shapes,
        fit.config.microscope or mic,
        root / "dataset",
        n=cfg.n_images,
        scene=scene,
        seed=cfg.seed,
        workers=cfg.workers,
        progress=_stage(progress, "rendering"),
    )
    # 3. the segmenter
    train_cfg = TrainConfig(
        train=[DataSource(path=str(dataset))],
        run_dir=str(root / "run"),
        model=cfg.model,
        max_steps=cfg.max_steps,
        time_budget_min=cfg.minutes,
        amp=cfg.amp,
        seed=cfg.seed,
        normalize_percentiles=(1.0, 99.8),
        normalize_min_range_sigmas=cfg.min_range_sigmas,
        fg_fraction=0.5,
    )
    run_dir = train(train_cfg, progress=_stage(progress, "training"))
    # 4. predictions on the real images
    run = Run.open(run_dir, InferenceConfig(tta=cfg.tta))
    pred = predict_folder(
        run, real, root / "predictions", pixel_size_nm=a, progress=_stage(progress, "predicting")
    )
    masks = [io.read_mask(pred / "masks" / (Path(n).stem + ".tif"))[0] for n in imgs.names]
    # 5. realism: can a classifier tell the synthetic set from the real images? (folds of
    # real regions: at least two are needed)
    syn_files = io.list_images(io.image_folder(dataset))[: cfg.realism_images]
    regions = sum(max(1, (h // size)) * max(1, (w // size)) for h, w in imgs.sizes)
    realism_text = "Realism: too few real regions to hold any out (give more images)."
    if regions >= 2:
        result = realism_test(
            imgs.images,
            {"fitted scenes": [io.read_image(p) for p in syn_files]},
            epochs=cfg.realism_epochs,
            seed=cfg.seed,
            region_px=size,
            folds=min(4, regions),
            progress=_stage(progress, "realism"),
        )
        write_config(folder.path("realism/realism.json"), result.summary())
        score = result.scores["fitted scenes"]
        realism_text = (
            f"Realism: a classifier tells 64 px crops of the synthetic set from the real images "
            f"with held-out ROC AUC {score.auc:.3f} +- {score.auc_std:.3f} over "
            f"{min(4, regions)} folds (0.5: indistinguishable)."
        )
    # 6. the page
    sheets = []
    for k in range(0, len(imgs.images), 16):
        fig = plot_prediction_sheet(
            imgs.images[k : k + 16], masks[k : k + 16], imgs.names[k : k + 16], pixel_size_nm=a
        )
        sheets.append(io.write_figure(folder.path(f"sheets/predictions_{k // 16:02d}.png"), fig))
    fractions = [float(np.mean(m > 0)) for m in masks]
    log = io.read_log_csv(Path(run_dir) / "log.csv")
    best = max((r["val_iou"] for r in log), default=float("nan"))
    rows = [
        {
            "image": n,
            "predicted foreground %": f"{100 * f:.2f}",
            "mitochondria found by the scene fit": "yes" if s["foreground"] >= 0.002 else "no",
        }
        for n, f, s in zip(imgs.names, fractions, _per_image(fit.real, imgs.names), strict=True)
    ]
    page = io.write_page(
        folder.path("index.html"),
        f"mitoshape sim2real: {real.name}",
        [
            {
                "title": "What was done",
                "text": f"{len(imgs.images)} real images at {a:g} nm pixels; scenes fitted in "
                f"{cfg.rounds} rounds; {cfg.n_images} synthetic images rendered; a "
                f"{cfg.model} trained for up to {cfg.max_steps} steps (best validation IoU "
                f"on synthetic held-out images {best:.3f}); predictions with TTA "
                f"{cfg.tta}. " + realism_text,
            },
            {
                "title": "Real images (top) and fitted scenes (bottom)",
                "images": [Path("fit/scene.png")],
            },
            {
                "title": "Predictions on every real image",
                "images": [p.relative_to(root) for p in sheets],
            },
            {
                "title": "Predicted foreground per image",
                "table": rows,
                "note": "files: fit/ (scene.yaml and its statistics), dataset/, run/, "
                "predictions/ (masks, probabilities), realism/realism.json",
            },
        ],
    )
    return page


def _per_image(stats: Sequence[dict], names: Sequence[str]) -> list[dict]:
    """The fit's statistics of each real image (a large image's fields pooled by their max)."""
    out = []
    for n in names:
        rows = [s for s in stats if s["name"] == n or s["name"].startswith(n + "[")]
        out.append({"foreground": max((s["foreground"] for s in rows), default=0.0)})
    return out
