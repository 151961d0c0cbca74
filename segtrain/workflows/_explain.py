"""Folders through explain (a workflow over `_cam`, `_explain`, `_faithfulness`, the figures and
`segtrain.io`): heatmaps, overlays, deletion curves and ``explain.json`` for every image, in an
output folder opened through the output guard (``shapelib.io.open_output_folder``). The XM-DL
report: `_report_folders`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shapelib import InputError
from shapelib.io import atomic_write, open_output_folder

from .. import io
from ..explain._cam import METHODS, LayerInfo, check_layer, default_layers, list_layers
from ..explain._faithfulness import DeletionConfig
from ._run import Run

__all__ = ["ExplainResult", "explain_folder", "run_layers"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None] | None


@dataclass(frozen=True)
class ExplainResult:
    """Where `explain_folder` wrote, and its faithfulness tables (None without them).

    ``faithfulness``: one row per image, layer and method (`Faithfulness.row` columns);
    ``summary``: one row per layer and method (means over images, images better than random).
    """

    out: Path
    faithfulness: object | None = None  # pandas.DataFrame
    summary: object | None = None


def run_layers(run: Run) -> tuple[str, list[LayerInfo], list[str]]:
    """(model name, every layer that can be explained, the default layers) of a run."""
    return run.train_config.model, list_layers(run.model), default_layers(run.model)


def _image_files(images) -> list[Path]:
    images = Path(images)
    return [images] if images.is_file() else io.list_images(io.image_folder(images))


def _check_methods(methods) -> tuple[str, ...]:
    methods = tuple(methods)
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise InputError(f"unknown method(s) {bad}; choose from: {', '.join(METHODS)}.")
    return methods


def _layers(run: Run, layers) -> list[str]:
    layers = list(layers) if layers else default_layers(run.model)
    for layer in layers:
        check_layer(run.model, layer)
    return layers


def _target_text(object_id: int | None, threshold: float) -> str:
    what = "the predicted mask" if object_id is None else f"object {object_id} of it"
    return (
        f"sum of the foreground logit over {what} (probability >= {threshold:g}; objects = "
        "4-connected components, numbered as in `mitoshape report`)"
    )


def _first_channel(img: np.ndarray) -> np.ndarray:
    """The image itself (2D) or its first channel (C, Y, X), for figures."""
    return img if img.ndim == 2 else img[0]


def explain_folder(
    run: Run,
    images: str | Path,
    out: str | Path,
    *,
    layers: list[str] | None = None,
    methods=("gradcam",),
    object_id: int | None = None,
    faithfulness: bool = True,
    deletion: DeletionConfig | None = None,
    rng=0,
    overwrite: bool = False,
    progress: Progress = None,
) -> ExplainResult:
    """Explain a trained run's masks of every image in `images`; write heatmaps and scores.

    Writes into `out` (through the output guard):

    - ``heatmaps/METHOD/LAYER/NAME.tif``: float32 heatmap on the image grid with the image's
      pixel size; ``overlays/METHOD/LAYER/NAME.png``; ``masks/NAME.tif``, the explained mask;
    - ``faithfulness.csv`` (one row per image, layer, method), ``deletion_curves.csv`` and
      ``deletion_curves.png`` (unless ``faithfulness=False``);
    - ``explain.json``: model, run, layers, methods, target, tiling and the summary.

    Parameters
    ----------
    run : Run, its config gives the tiles and the threshold of the explained mask
    images : an image file or a folder of images (2D grey, or (C, Y, X) for a C-channel model)
    layers : layer names (`run_layers`); None: the model's defaults (decoder, bottleneck)
    methods : "gradcam" and/or "hirescam"
    object_id : int or None, explain one object of the predicted mask
    faithfulness : bool, measure deletion curves (about ``(2 + n_random) / step`` predictions
        per image and heatmap)
    deletion : DeletionConfig or None, the deletion settings (`measure_faithfulness`; None:
        its defaults); `rng` seeds its random orders
    progress : callable or None, called as ``progress(images done, images in all)``

    Returns
    -------
    ExplainResult
    """
    import pandas as pd

    from ..explain._explain import cam_tiled, prepare_input, target_mask, tiled_probability
    from ..explain._faithfulness import (
        blur_sigma_for,
        blurred_copy,
        measure_faithfulness,
        random_curves,
    )
    from ..figures import plot_deletion_curves, plot_explanation
    from ..figures._explain import METHOD_NAMES

    deletion = deletion or DeletionConfig()
    methods = _check_methods(methods)
    files = _image_files(images)
    layers = _layers(run, layers)
    c = run.config
    target = _target_text(object_id, c.threshold)
    settings = {"model": run.train_config.model, "model_params": run.train_config.model_params}
    settings |= {"run": str(run.source), "checkpoint": c.checkpoint, "layers": layers}
    settings |= {"methods": list(methods), "target": target, "threshold": c.threshold}
    settings |= {"object": object_id, "tile_px": c.tile_px, "overlap_px": c.overlap_px}
    settings["normalize_percentiles"] = list(run.normalize)
    inputs = [*([run.source] if run.source is not None else []), images]
    for f in files:  # every image read and checked (predict's check) before the folder is made
        io.read_grey(f, ndims=(2, 3))
    folder = open_output_folder(
        out, command="explain", inputs=inputs, overwrite=overwrite, details=settings
    )
    rng = np.random.default_rng(rng)
    step, n_random = deletion.step, deletion.n_random
    rows, curve_rows = [], []
    for k, f in enumerate(files):
        img = io.read_grey(f, ndims=(2, 3))
        pixel = img.pixel_size_nm
        px_nm = float(pixel[1]) if pixel is not None else None
        # Predict, and pick the explained pixels.
        x = prepare_input(run.model, img.data, normalize=run.normalize, where=str(f))
        prob = tiled_probability(run.model, x, c)
        tmask = target_mask(prob >= c.threshold, object_id, where=str(f))
        if not tmask.any():
            log.warning("%s: the predicted mask is empty; its heatmaps are zero", f)
        mask_path = folder.path(f"masks/{f.stem}.tif")
        io.write_tiff(mask_path, tmask.astype(np.uint8), pixel_size_nm=pixel)

        def score(xi, tmask=tmask):
            return float(tiled_probability(run.model, xi, c)[tmask].mean())

        base = randoms = None
        if faithfulness and tmask.any():
            sigma = deletion.blur_sigma_px
            sigma = sigma if sigma is not None else blur_sigma_for(tmask)
            base = blurred_copy(x, sigma_px=sigma)
            randoms = random_curves(score, x, base, n=n_random, step=step, rng=rng)
        for layer in layers:
            heat = cam_tiled(run.model, x, tmask, c, layer=layer, methods=methods)
            for method in methods:
                rel = f"{method}/{layer}/{f.stem}"
                io.write_tiff(folder.path(f"heatmaps/{rel}.tif"), heat[method], pixel_size_nm=pixel)
                fig = plot_explanation(
                    _first_channel(img.data),
                    heat[method],
                    tmask,
                    pixel_size_nm=px_nm,
                    method=method,
                    layer=layer,
                    title=f.stem,
                )
                io.write_figure(folder.path(f"overlays/{rel}.png"), fig)
                if not faithfulness:
                    continue
                res = measure_faithfulness(
                    score,
                    x,
                    heat[method],
                    tmask,
                    baseline=base,
                    randoms=randoms,
                    step=step,
                    n_random=n_random,
                    rng=rng,
                )
                rows.append({"image": f.stem, "layer": layer, "method": method, **res.row()})
                if res.verdict.startswith("no better"):
                    log.warning("%s %s %s: %s", f.stem, METHOD_NAMES[method], layer, res.verdict)
                if not np.isfinite(res.auc):
                    continue  # an empty target has no curve
                curves = {"heatmap": res.heatmap_curve, "inverse": res.inverse_curve}
                curves.update({f"random_{i}": r for i, r in enumerate(res.random_curves)})
                head = {"image": f.stem, "layer": layer, "method": method}
                for order, cv in curves.items():
                    for fr, sc in zip(res.fractions, cv, strict=True):
                        curve_rows.append({**head, "order": order, "fraction": fr, "score": sc})
        if progress is not None:
            progress(k + 1, len(files))
    table = summary = None
    if faithfulness:
        table = pd.DataFrame(rows)
        summary = _summarize(table) if len(table) else pd.DataFrame()
        io.write_csv(folder.path("faithfulness.csv"), table)
        curves_table = pd.DataFrame(curve_rows)
        io.write_csv(folder.path("deletion_curves.csv"), curves_table)
        if len(curves_table):
            fig = plot_deletion_curves(_mean_curves(curves_table, METHOD_NAMES))
            io.write_figure(folder.path("deletion_curves.png"), fig)
        settings["faithfulness"] = _faithfulness_text(deletion, summary)
    settings["images"] = [f.stem for f in files]
    atomic_write(folder.path("explain.json"), json.dumps(settings, indent=2, default=str) + "\n")
    return ExplainResult(Path(out), table, summary)


def _faithfulness_text(deletion: DeletionConfig, summary) -> dict:
    """How faithfulness was measured, and its summary, for ``explain.json``."""
    sigma = deletion.blur_sigma_px
    blur = f"{sigma:g} px" if sigma else "= equivalent diameter of the largest target object"
    return {
        "score": "mean foreground probability over the target pixels",
        "step": deletion.step,
        "baseline": "Gaussian blur of the input, sigma " + blur,
        "n_random": deletion.n_random,
        "verdict": "better than random when the deletion AUC is below every random order's",
        "summary": summary.to_dict(orient="records") if len(summary) else [],
    }


def _summarize(table):
    """Per layer and method: mean areas and mass, and the images better than random."""
    g = table.groupby(["method", "layer"], sort=False)
    out = g.agg(
        n_images=("image", "size"),
        auc_deletion=("auc_deletion", "mean"),
        auc_inverse=("auc_inverse", "mean"),
        auc_random=("auc_random", "mean"),
        mass_in_mask=("mass_in_mask", "mean"),
        mask_fraction=("mask_fraction", "mean"),
        n_better_than_random=("better_than_random", "sum"),
    ).reset_index()
    out["n_better_than_random"] = out["n_better_than_random"].astype(int)
    return out


def _mean_curves(curves, names) -> dict[str, dict]:
    panels = {}
    for (method, layer), t in curves.groupby(["method", "layer"], sort=False):
        fr = np.sort(t["fraction"].unique())

        def stack(sel):
            return np.stack([g.sort_values("fraction")["score"].to_numpy() for _, g in sel])

        heat = stack(t[t["order"] == "heatmap"].groupby("image"))
        inv = stack(t[t["order"] == "inverse"].groupby("image"))
        rnd = t[t["order"].str.startswith("random")]
        rnd = np.stack(
            [g.groupby("fraction")["score"].mean().to_numpy() for _, g in rnd.groupby("image")]
        )
        panels[f"{names.get(method, method)} {layer}"] = {
            "fractions": fr,
            "heatmap": heat,
            "inverse": inv,
            "random": rnd,
        }
    return panels
