"""Folders through predict and evaluate (a workflow over compute and io).

Each input folder is read once, by `segtrain.io`; the arrays then go through the compute
modules (`_predict`, `_metrics`), and the results are written by `segtrain.io`. Prediction
files carry the input image's pixel size, so `quantify_folder` (`_quantify_folders.py`) after
`predict_folder` needs no pixel size. A 2.5D run predicts EM stacks, and folders of 2D
images whose names number consecutive sections (`_predict_sections.py`), with each slice's
neighbours as channels; masks may be cleaned of small objects and holes with the sizes the run
chose on its validation data. Training then evaluating: `_round.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from shapelib import InputError, as_spacing_nm
from shapelib.io import (
    OutputFolder,
    check_output_files,
    check_output_folder,
    claim_output_file,
    ngff_version,
    open_output_folder,
    output_format,
)

from .. import io
from ..evaluate._metrics import Connectivity, EvaluationResult, evaluate_images
from ..figures import plot_predictions, plot_training_curves
from ..inference._zoom import image_zooms
from ._predict_sections import prediction_units, segment_sections
from ._run import Run, Segmentation

__all__ = [
    "evaluate_folders",
    "plot_prediction_folders",
    "predict_folder",
    "write_curves",
]

Progress = Callable[[int, int], None] | None


# --- predict -------------------------------------------------------------------------------


def check_threshold(threshold: float) -> float:
    """A probability threshold strictly between 0 and 1 (InputError otherwise)."""
    if not (isinstance(threshold, (int, float)) and 0 < threshold < 1):
        raise InputError(
            f"threshold must be a probability between 0 and 1 (exclusive), e.g. 0.5; got "
            f"{threshold!r}."
        )
    return float(threshold)


def clean_up_sizes(run: Run, *, clean: bool, min_size_px=None, max_hole_px=None):
    """(min_size_px, max_hole_px): given, else the run's validation choice with `clean` (an
    error when it made none)."""
    if not clean:
        return int(min_size_px or 0), int(max_hole_px or 0)
    chosen = run.postprocess
    if chosen is None:
        where = run.source if run.source is not None else "this run"
        raise FileNotFoundError(
            f"{where} holds no {io.POSTPROCESS_FILE}: the run chose no post-processing (it had "
            "no held-out validation data, or was trained by an older version); pass the sizes "
            "(--min-size-px, --max-hole-px) instead."
        )
    lo = chosen["min_size_px"] if min_size_px is None else min_size_px
    hole = chosen["max_hole_px"] if max_hole_px is None else max_hole_px
    return int(lo), int(hole)


def write_prediction(
    out: OutputFolder, name: str, seg: Segmentation, scale, *, image=None, out_format="tiff"
) -> None:
    """Write one image's prediction with the input's scale (pixel size, z step), each file
    claimed in the output folder's manifest first.

    ``tiff``: ``probabilities/NAME.tif``, ``masks/NAME.tif`` (0/1), ``instances/NAME.tif``
    (connected components numbered as the ``label`` column of `quantify`, uint16/uint32) and
    ``uncertainty/NAME.tif`` when `seg` has one. ``ome-zarr`` (NGFF 0.4) or ``ome-zarr-0.5``:
    one store ``NAME.ome.zarr`` with `image` as its image, ``labels/mask`` and
    ``labels/instances`` (uint32), and ``probabilities`` (and ``uncertainty``) beside them.
    """
    from ..evaluate._morphology import label_objects

    pixel, z_step = scale
    prob = seg.probability.astype(np.float32)
    inst = label_objects(seg.mask)
    if out_format != "tiff":
        size = (
            None if pixel is None else (*([z_step or pixel[1]] if prob.ndim == 3 else []), *pixel)
        )
        extra = {"probabilities": prob}
        if seg.uncertainty is not None:
            extra["uncertainty"] = np.broadcast_to(seg.uncertainty, prob.shape).astype(np.float32)
        labels = {"mask": seg.mask.astype(np.uint8), "instances": inst.astype(np.uint32)}
        version = ngff_version(out_format)
        store = out.path(f"{name}.ome.zarr")
        image = prob if image is None else image
        io.write_ome_zarr(
            store, image, voxel_size_nm=size, labels=labels, images=extra, version=version
        )
        return
    for sub, arr in (("probabilities", prob), ("masks", seg.mask), ("instances", inst)):
        io.write_tiff(out.path(f"{sub}/{name}.tif"), arr, pixel_size_nm=pixel, z_step_nm=z_step)
    if seg.uncertainty is not None:
        io.write_tiff(out.path(f"uncertainty/{name}.tif"), seg.uncertainty, pixel_size_nm=pixel)


def _sources(run: Run) -> list[Path]:
    return [run.source] if run.source is not None else []


def predict_folder(
    run: Run,
    input: str | Path,
    out: str | Path,
    *,
    clean: bool = False,
    min_size_px: int | None = None,
    max_hole_px: int | None = None,
    overwrite: bool = False,
    samples: int | None = None,
    resample: bool = False,
    pixel_size_nm: float | None = None,
    out_format: str | None = None,
    progress: Progress = None,
) -> Path:
    """Predict every image (or EM stack) in `input` with a trained run; write TIFFs (or
    OME-Zarr) to `out`.

    Writes ``out/probabilities/NAME.tif`` (float32 in [0, 1]), ``out/masks/NAME.tif`` (uint8
    0/1, probability >= the run's threshold) and ``out/instances/NAME.tif`` (the masks'
    connected components, numbered as the ``label`` column of `quantify`), each with the input
    TIFF's pixel size (and z step) when it has one; or, as OME-Zarr, one ``NAME.ome.zarr``
    store per image (`write_prediction`). A 3D TIFF is an EM stack, predicted slice by slice
    (with its neighbours when the run uses 2.5D input). A 2.5D run predicts 2D images whose
    names number consecutive sections (``slice_010.tif, slice_011.tif, ...``) as a stack in
    section order, each run of consecutive numbers on its own, and writes each image's outputs
    as for any 2D image; other 2D images are refused (`_predict_sections.py`). Every image is
    read and checked (grey, finite, 2D or 3D; the sections of a stack alike) before the first
    prediction is written.

    Parameters
    ----------
    run : Run, the trained run (`Run.open`) with its tiles, TTA, precision, threads (None:
        all the cores this process may use) and threshold (`InferenceConfig`)
    input : an image file, a folder of images, or a folder with an ``images/`` subfolder
    out : output folder, through the output guard (`shapelib.io.open_output_folder`): new or
        empty, or an earlier prediction replaced with `overwrite`; never the input's folder or
        the run folder, nor inside them
    clean : bool, remove small objects and holes from the masks with the sizes the run chose
        on its held-out validation images (``postprocess.json``)
    min_size_px, max_hole_px : int or None, explicit sizes (override the run's; 0 = off)
    samples : int or None, K prior samples of a probabilistic run (2D images): the
        probabilities are their mean, and ``out/uncertainty/NAME.tif`` (float32, their std) and
        ``out/suggestions.csv`` (image, row, col, score) are written too; None: one pass
    resample : bool, resample each image to the pixel size of the run's training images
        (``split.json``) before prediction and its probabilities back (the outputs keep the
        input's shape and pixel size); without it, an image whose pixel size differs from the
        training images' by more than 1.25x draws a warning. With it, the clean-up sizes
        (`clean`'s and explicit ones) are in training pixels, scaled to each image's
    pixel_size_nm : float or None, the input images' pixel side in nm; None: each TIFF's own
        (needed only with `resample`; an error when an image carries none)
    out_format : "tiff", "ome-zarr" (NGFF 0.4), "ome-zarr-0.5", or None: ``ome-zarr`` when
        `out` ends in ``.zarr``, else ``tiff``
    progress : callable or None, called as ``progress(images done, images in all)``

    Returns
    -------
    out : Path

    Examples
    --------
    >>> run = Run.open("runs/unet", InferenceConfig(tta="flips"))           # doctest: +SKIP
    >>> predict_folder(run, "data/test/images", "out/pred")                 # doctest: +SKIP
    """
    input, out = Path(input), Path(out)
    if not input.exists():
        raise FileNotFoundError(f"input {input} does not exist; pass an image or a folder.")
    if samples is not None and not run.probabilistic:
        raise InputError(
            f"this run is not probabilistic ({run.train_config.model}); --samples needs a "
            "prob_unet run (mitoshape train --model prob_unet)."
        )
    if run.config.threads is None:  # a folder or stack: every core (torch may take fewer)
        from ..inference._device import all_cores

        run = run.with_config(run.config.replace(threads=all_cores()))
    out_format = output_format(out, out_format)
    files = [input] if input.is_file() else io.list_images(io.image_folder(input))
    inputs = [*_sources(run), input if input.is_file() else io.image_folder(input)]
    check_output_folder(out, command="predict", inputs=inputs, overwrite=overwrite)
    given = None
    if pixel_size_nm is not None:  # the project's one check of sizes in nm; (y, x) of it
        given = as_spacing_nm(pixel_size_nm, name="pixel_size_nm")[1:]
    pixel_sizes, shapes = {}, {}
    for f in files:  # every input checked before anything is written
        img = io.read_grey(f, ndims=(2, 3))
        pixel_sizes[str(f)] = img.pixel_size_nm if given is None else given
        shapes[str(f)] = img.data.shape
    units = prediction_units(run, files, shapes, where=input)
    if samples is not None and any(u.sections for u in units):
        raise InputError(
            "--samples predicts 2D images one by one, but this 2.5D run predicts the numbered "
            f"sections in {input} as stacks; leave --samples out."
        )
    zooms = image_zooms(run.training_pixel_size_nm, pixel_sizes, resample=resample)
    sizes = clean_up_sizes(run, clean=clean, min_size_px=min_size_px, max_hole_px=max_hole_px)
    c = run.config
    details = {"run": str(run.source), "input": str(input), "which": c.checkpoint, "tta": c.tta}
    details |= {"threshold": c.threshold, "samples": samples, "resample": resample}
    details |= {"format": out_format}
    guard = open_output_folder(
        out, command="predict", inputs=inputs, overwrite=overwrite, details=details
    )
    # Resampled: the clean-up sizes are areas in training pixels, in this image's / zoom^2.
    here = {
        k: tuple(int(round(v / (z[0] * z[1]))) for v in sizes) if resample else sizes
        for k, z in zooms.items()
    }
    seeds = np.random.SeedSequence(0)  # one child per image: the latent draws of --samples
    rows, done = [], 0
    for unit in units:
        if unit.sections:  # a 2.5D run's numbered 2D sections: one stack
            results = segment_sections(run, unit, sizes=here, zooms=zooms)
        else:
            f = unit.files[0]
            img = io.read_grey(f, ndims=(2, 3))
            where = str(f)
            kw = {"samples": samples, "rng": seeds.spawn(1)[0], "zoom": zooms[where]}
            results = [(f, img, run.segment(img.data, sizes=here[where], where=where, **kw))]
        for f, img, seg in results:
            scale = (pixel_sizes[str(f)], img.z_step_nm)
            write_prediction(guard, f.stem, seg, scale, image=img.data, out_format=out_format)
            rows += [[f.stem, g.row, g.col, g.score] for g in seg.suggestions]
            done += 1
            if progress is not None:
                progress(done, len(files))
    if samples is not None:
        import pandas as pd

        table = pd.DataFrame(rows, columns=["image", "row", "col", "score"])
        io.write_csv(guard.path("suggestions.csv"), table)
    return out


# --- evaluate ------------------------------------------------------------------------------


def evaluate_folders(
    pred: str | Path,
    gt: str | Path,
    *,
    threshold: float = 0.5,
    connectivity: Connectivity = 4,
) -> EvaluationResult:
    """Evaluate a folder of predictions against a folder of true masks, matched by file name.

    Predictions may be probabilities (float, >= `threshold`), masks (0/1, 0/255) or instance
    labels; a folder with a ``masks/`` subfolder (the output of `predict_folder`) is read from
    there. Truth may be masks or instance labels (``masks/``, ``labels/``, or the folder itself;
    an ``instances/`` folder beside it supplies instance ids). Metric conventions:
    `segtrain.evaluate._metrics`.

    Returns
    -------
    EvaluationResult with ``per_image`` (DataFrame: name + `evaluate_pair` columns) and
    ``summary`` (``*_mean``, ``*_std``, ``*_pooled``, ``n_images``).

    Examples
    --------
    >>> res = evaluate_folders("out/pred", "data/test/masks")  # doctest: +SKIP
    >>> res.summary["iou_pooled"], res.summary["iou_mean"]     # doctest: +SKIP
    """
    check_threshold(threshold)
    preds = io.read_masks(pred, threshold=threshold)
    truths = io.read_masks(gt)
    where = {"have_where": io.mask_folder(pred), "need_where": io.mask_folder(gt)}
    io.check_names_match(preds, truths, **where)
    inst_dir = io.instance_folder(gt)

    def images():
        for name in sorted(truths):
            p_mask, p_inst = io.as_mask(preds[name].data, str(preds[name].path))
            g_mask, g_inst = io.as_mask(truths[name].data, str(truths[name].path))
            beside = io.read_instances(inst_dir, name)
            yield name, p_mask, p_inst, g_mask, g_inst if beside is None else beside

    return evaluate_images(images(), connectivity=connectivity)


def plot_prediction_folders(
    images: str | Path,
    pred: str | Path,
    gt: str | Path,
    path: str | Path,
    *,
    n: int = 4,
    overwrite: bool = False,
) -> Path:
    """Save a figure of the first ``n`` images (by name) with their predicted and true masks.

    Parameters
    ----------
    images : folder of images (or a dataset folder with ``images/``)
    pred : folder of predicted masks (names match the images; or a `predict_folder` output)
    gt : folder of true masks (or a dataset folder with ``masks/``)
    path : PNG file to write; never an input or inside an input folder, never over an
        existing file unless `overwrite`
    """
    if n < 1:
        raise InputError(f"the figure needs n >= 1 images; got {n}.")
    inputs = [io.image_folder(images), io.mask_folder(pred), io.mask_folder(gt)]
    check_output_files([path], inputs=inputs, overwrite=overwrite)
    files = io.list_images(io.image_folder(images))[:n]
    preds = {p.stem: p for p in io.list_images(io.mask_folder(pred))}
    truths = {p.stem: p for p in io.list_images(io.mask_folder(gt))}
    missing = [p.stem for p in files if p.stem not in preds or p.stem not in truths]
    if missing:
        raise FileNotFoundError(
            f"no predicted or true mask named like image(s) {missing[:3]} in {pred} / {gt}."
        )
    fig = plot_predictions(
        [io.read_image(p) for p in files],
        [io.read_image(preds[p.stem]) for p in files],
        [np.asarray(io.read_image(truths[p.stem])) > 0 for p in files],
        titles=[p.stem for p in files],
    )
    return io.write_figure(claim_output_file(path, inputs=inputs, overwrite=overwrite), fig, dpi=80)


# --- old names: draw and save in one call ----------------------------------------------------


def write_curves(path: str | Path, rows: list[dict]) -> None:
    """Save `plot_training_curves` of the log `rows` to `path` (nothing for no rows)."""
    if rows:
        io.write_figure(path, plot_training_curves(rows))
