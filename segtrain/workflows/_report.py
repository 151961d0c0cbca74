"""The XM-DL report of a run on a folder of images (a workflow over `_explain`, `_morphology`,
the figures and `segtrain.io`): one figure per image and a summary page for the folder, in an
output folder opened through the output guard (``shapelib.io.open_output_folder``)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shapelib import InputError
from shapelib.io import atomic_write, open_output_folder

from .. import io
from ._explain import Progress, _check_methods, _first_channel, _image_files, _layers
from ._run import Run

__all__ = ["ReportResult", "report_folder"]


@dataclass(frozen=True)
class ReportResult:
    """Where `report_folder` wrote, and its tables (`quantify_masks`, `compare_morphology`)."""

    out: Path
    objects: object
    per_image: object
    comparison: object | None = None


def _pixel_size(img, given: float | None, where: str) -> float:
    if given is not None:
        return float(given)
    if img.pixel_size_nm is None:
        raise InputError(
            f"the report needs a pixel size (--pixel-size-nm N): {where} carries none."
        )
    y, x = img.pixel_size_nm
    if not math.isclose(y, x, rel_tol=1e-6):
        raise InputError(
            f"{where} has non-square pixels ({y:g} x {x:g} nm); pass --pixel-size-nm N."
        )
    return float(x)


def report_folder(
    run: Run,
    images: str | Path,
    out: str | Path,
    *,
    gt: str | Path | None = None,
    pixel_size_nm: float | None = None,
    layer: str | None = None,
    method: str = "gradcam",
    overwrite: bool = False,
    progress: Progress = None,
) -> ReportResult:
    """The XM-DL report of a run on a folder of images: per image one figure, and a summary.

    Writes into `out` (through the output guard): ``figures/NAME.png`` (input, true mask with
    `gt`, predicted mask, heatmap overlay, objects coloured by class with their numbers beside a
    table of their measurements), ``masks/NAME.tif`` and ``heatmaps/NAME.tif``, ``objects.csv``
    and ``per_image.csv`` (`quantify_masks` columns), with `gt` also ``gt_objects.csv``,
    ``gt_per_image.csv`` and ``comparison.csv`` (`compare_morphology`), ``summary.png`` and
    ``report.json``.

    Parameters
    ----------
    run : Run, its config gives the tiles and the threshold
    gt : folder of true masks (or instance labels) named like the images, or None
    pixel_size_nm : float or None; None: each image TIFF's own (an error when it has none)
    layer : str or None, the heatmap's layer (default: the decoder stage before the head)
    method : "gradcam" or "hirescam"

    Returns
    -------
    ReportResult
    """
    from ..evaluate._morphology import QuantifyParams, compare_morphology, quantify_masks
    from ..figures import plot_image_report, plot_report_summary

    _check_methods([method])
    files = _image_files(images)
    truths = io.read_masks(gt) if gt is not None else None
    if truths is not None:
        stems = [f.stem for f in files]
        kw = {"have_where": io.mask_folder(gt), "need_where": images, "both_ways": False}
        io.check_names_match(truths, stems, nouns=("true mask", "image"), **kw)
    layer = _layers(run, [layer] if layer else None)[0]
    model = run.train_config.model
    details = {"model": model, "run": str(run.source), "layer": layer, "method": method}
    sources = [run.source] if run.source is not None else []
    inputs = [*sources, images] + ([gt] if gt is not None else [])
    for f in files:  # every image read, checked and its pixel size known before the folder
        _pixel_size(io.read_grey(f, ndims=(2, 3)), pixel_size_nm, str(f))
    folder = open_output_folder(
        out, command="report", inputs=inputs, overwrite=overwrite, details=details
    )
    masks, gt_masks, params = {}, {}, {}
    for k, f in enumerate(files):
        img = io.read_grey(f, ndims=(2, 3))  # predict's check: grey, finite
        px = _pixel_size(img, pixel_size_nm, str(f))
        params[f.stem] = QuantifyParams(pixel_size_nm=px)
        ex = run.explain(img.data, layer=layer, methods=(method,), where=str(f))
        masks[f.stem] = ex.mask.astype(np.uint8)
        io.write_tiff(folder.path(f"masks/{f.stem}.tif"), masks[f.stem], pixel_size_nm=px)
        io.write_tiff(folder.path(f"heatmaps/{f.stem}.tif"), ex.heatmaps[method], pixel_size_nm=px)
        gt_mask = None
        if truths is not None:
            gt_mask = truths[f.stem].data
            if gt_mask.shape != ex.mask.shape:
                raise InputError(
                    f"true mask {truths[f.stem].path} has shape {gt_mask.shape}, image {f} has "
                    f"{ex.mask.shape}; each mask must match its image."
                )
            gt_masks[f.stem] = gt_mask
        objects, _ = quantify_masks({f.stem: masks[f.stem]}, params=params[f.stem])
        fig = plot_image_report(
            _first_channel(img.data),
            ex.mask,
            ex.heatmaps[method],
            objects.drop(columns="image"),
            pixel_size_nm=px,
            gt_mask=gt_mask,
            method=method,
            layer=layer,
            title=f.stem,
        )
        io.write_figure(folder.path(f"figures/{f.stem}.png"), fig)
        if progress is not None:
            progress(k + 1, len(files))
    # The folder's tables and summary page.
    objects, per_image = quantify_masks(masks, params=params)
    io.write_csv(folder.path("objects.csv"), objects)
    io.write_csv(folder.path("per_image.csv"), per_image)
    gt_objects = gt_per = comparison = None
    if truths is not None:
        gt_objects, gt_per = quantify_masks(gt_masks, params=params)
        comparison = compare_morphology(per_image, gt_per)
        io.write_csv(folder.path("gt_objects.csv"), gt_objects)
        io.write_csv(folder.path("gt_per_image.csv"), gt_per)
        io.write_csv(folder.path("comparison.csv"), comparison)
    fig = plot_report_summary(
        objects, per_image, gt_objects=gt_objects, gt_per_image=gt_per, comparison=comparison
    )
    io.write_figure(folder.path("summary.png"), fig)
    details.update(
        {
            "images": list(masks),
            "gt": str(gt) if gt is not None else None,
            "pixel_size_nm": {n: p.pixel_size_nm for n, p in params.items()},
            "threshold": run.config.threshold,
            "tile_px": run.config.tile_px,
            "overlap_px": run.config.overlap_px,
            "objects": "4-connected components of the predicted mask (quantify_masks)",
        }
    )
    atomic_write(folder.path("report.json"), json.dumps(details, indent=2, default=str) + "\n")
    return ReportResult(Path(out), objects, per_image, comparison)
