"""Folders through predict and evaluate (a workflow over compute and io).

Each input folder is read once, by `segtrain.io`; the arrays then go through the compute
modules (`_predict`, `_metrics`), and the results are written by `segtrain.io`. Prediction
files carry the input image's pixel size, so `quantify_folder` (`_quantify_folders.py`) after
`predict_folder` needs no pixel size. A 2.5D run predicts EM stacks with each slice's
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
    open_output_folder,
)

from . import io
from ._figures import plot_predictions, plot_training_curves
from ._metrics import Connectivity, EvaluationResult, evaluate_images
from ._pixel_sizes import image_zooms, training_pixel_size

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


def _check_predict_options(which: str, threshold: float, tile_px: int, overlap_px: int) -> None:
    if which not in ("best", "last"):
        raise InputError(f"which checkpoint must be 'best' or 'last'; got {which!r}.")
    check_threshold(threshold)
    if not (isinstance(tile_px, int) and 16 <= tile_px <= 8192):
        raise InputError(f"tile_px must be an integer in [16, 8192]; got {tile_px!r}.")
    if not (isinstance(overlap_px, int) and 0 <= overlap_px * 2 <= tile_px):
        raise InputError(
            f"overlap_px must be in [0, tile_px/2]; got {overlap_px!r} with tile_px {tile_px}."
        )


def _predictor(
    run_dir,
    *,
    which: str,
    tile_px: int,
    overlap_px: int,
    tta,
    device: str,
    num_threads=None,
    amp: bool | None = None,
):
    """A function image (2D) or stack (3D) -> probabilities, with a trained run's network.

    `amp` None: the run's own precision (bf16 autocast on CPU for ``amp: true`` runs, as they
    were validated during training)."""
    import torch

    from ._device import pick_device, torch_threads
    from ._predict import predict_image, predict_stack
    from ._run import load_run

    dev = pick_device(device)  # an unavailable device fails before the model loads
    model, cfg = load_run(run_dir, which=which)
    model = model.to(dev)
    kw = dict(
        tile_px=tile_px,
        overlap_px=overlap_px,
        tta=tta,
        normalize=cfg.normalization,
        device=dev,
        amp=cfg.amp if amp is None else amp,
    )

    def predict(image: np.ndarray, where: str, *, channels: bool = False, zoom=1.0) -> np.ndarray:
        # channels: `image` is one slice with its 2.5D neighbours, (C, Y, X), as read_stack
        # gives it; otherwise a 3D array is a stack to predict slice by slice. zoom: resample
        # each slice by (y, x) before prediction (`predict_image`).
        args = {**kw, "zoom": zoom}
        with torch.inference_mode(), torch_threads(num_threads):
            if channels and image.ndim == 3:
                return predict_image(model, image, **args)
            if image.ndim == 3:
                return predict_stack(model, image, context=cfg.context_slices, **args)
            if image.ndim == 2 and cfg.context_slices == 0:
                return predict_image(model, image, **args)
            if image.ndim == 2:
                raise InputError(
                    f"{where} is a 2D image, but the run uses 2.5D input (context_slices="
                    f"{cfg.context_slices}): predict EM stacks (3D TIFF) with it."
                )
        raise InputError(f"{where} must be a 2D image or a 3D stack; got shape {image.shape}.")

    return predict


def _cleaner(run_dir, *, clean: bool, min_size_px, max_hole_px):
    """(min_size_px, max_hole_px): given, else the run's validation choice with `clean`."""
    if not clean:
        return int(min_size_px or 0), int(max_hole_px or 0)
    chosen = io.read_postprocess(run_dir)
    lo = chosen["min_size_px"] if min_size_px is None else min_size_px
    hole = chosen["max_hole_px"] if max_hole_px is None else max_hole_px
    return int(lo), int(hole)


def _write_prediction(
    out: OutputFolder, name: str, prob: np.ndarray, threshold: float, scale, sizes=(0, 0)
) -> np.ndarray:
    """Write ``probabilities/NAME.tif`` and ``masks/NAME.tif`` with the input's scale, claimed
    in the output folder's manifest first; the mask without objects under ``sizes[0]`` and
    holes under ``sizes[1]`` pixels (per slice)."""
    from ._predict import postprocess_mask

    lo, hole = sizes
    if prob.ndim == 2:
        mask = postprocess_mask(prob, threshold=threshold, min_size_px=lo, max_hole_px=hole)
    else:
        mask = np.stack(
            [postprocess_mask(p, threshold=threshold, min_size_px=lo, max_hole_px=hole)
             for p in prob]
        )  # fmt: skip
    pixel, z_step = scale
    for sub, arr in (("probabilities", prob.astype(np.float32)), ("masks", mask)):
        path = out.path(f"{sub}/{name}.tif")
        io.write_tiff(path, arr, pixel_size_nm=pixel, z_step_nm=z_step)
    return mask


def predict_folder(
    run_dir: str | Path,
    input: str | Path,
    out: str | Path,
    *,
    which: str = "best",
    tile_px: int = 256,
    overlap_px: int = 64,
    tta: bool | str = False,
    threshold: float = 0.5,
    clean: bool = False,
    min_size_px: int | None = None,
    max_hole_px: int | None = None,
    device: str = "auto",
    num_threads: int | None = None,
    amp: bool | None = None,
    overwrite: bool = False,
    samples: int | None = None,
    resample: bool = False,
    pixel_size_nm: float | None = None,
    progress: Progress = None,
) -> Path:
    """Predict every image (or EM stack) in `input` with a trained run; write TIFFs to `out`.

    Writes ``out/probabilities/NAME.tif`` (float32 in [0, 1]) and ``out/masks/NAME.tif`` (uint8
    0/1, probability >= `threshold`), each with the input TIFF's pixel size (and z step) when it
    has one. A 3D TIFF is an EM stack, predicted slice by slice (with its neighbours when the run
    uses 2.5D input). Every image is read and checked (grey, finite, 2D or 3D) before the first
    prediction is written.

    Parameters
    ----------
    run_dir : a run folder written by `segtrain.train` (or a ``.pt`` checkpoint in one)
    input : an image file, a folder of images, or a folder with an ``images/`` subfolder
    out : output folder, through the output guard (`shapelib.io.open_output_folder`): new or
        empty, or an earlier prediction replaced with `overwrite`; never the input's folder or
        the run folder, nor inside them
    which : ``"best"`` or ``"last"`` checkpoint
    threshold : probability in (0, 1) at and above which a pixel is foreground
    tta : "none", "flips" (True) or "d4" (`segtrain.predict_image`)
    clean : bool, remove small objects and holes from the masks with the sizes the run chose
        on its held-out validation images (``postprocess.json``)
    min_size_px, max_hole_px : int or None, explicit sizes (override the run's; 0 = off)
    num_threads : int or None, torch CPU threads while predicting (None: as set)
    amp : bool or None, mixed precision (bf16 on CPU); None: as the run was trained
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
    progress : callable or None, called as ``progress(images done, images in all)``

    Returns
    -------
    out : Path

    Examples
    --------
    >>> predict_folder("runs/unet", "data/test/images", "out/pred", tta=True)  # doctest: +SKIP
    """
    input, out = Path(input), Path(out)
    _check_predict_options(which, threshold, tile_px, overlap_px)
    if not input.exists():
        raise FileNotFoundError(f"input {input} does not exist; pass an image or a folder.")
    files = [input] if input.is_file() else io.list_images(io.image_folder(input))
    inputs = [Path(run_dir), input if input.is_file() else io.image_folder(input)]
    check_output_folder(out, command="predict", inputs=inputs, overwrite=overwrite)
    given = None
    if pixel_size_nm is not None:  # the project's one check of sizes in nm; (y, x) of it
        given = as_spacing_nm(pixel_size_nm, name="pixel_size_nm")[1:]
    pixel_sizes = {}
    for f in files:  # every input checked before anything is written
        img = io.read_grey(f, ndims=(2, 3))
        pixel_sizes[str(f)] = img.pixel_size_nm if given is None else given
    zooms = image_zooms(training_pixel_size(run_dir), pixel_sizes, resample=resample)
    sizes = _cleaner(run_dir, clean=clean, min_size_px=min_size_px, max_hole_px=max_hole_px)
    kw = dict(
        which=which, tile_px=tile_px, overlap_px=overlap_px, device=device,
        num_threads=num_threads, amp=amp,
    )  # fmt: skip
    if samples is not None:
        from ._interactive_folders import sampler

        run = sampler(run_dir, samples=samples, **kw)  # refuses a deterministic run
    else:
        predict = _predictor(run_dir, tta=tta, **kw)
    guard = open_output_folder(
        out, command="predict", inputs=inputs, overwrite=overwrite,
        details={"run": str(run_dir), "input": str(input), "which": which, "tta": tta,
                 "threshold": threshold, "samples": samples, "resample": resample},
    )  # fmt: skip
    # Resampled: the clean-up sizes are areas in training pixels, in this image's / zoom^2.
    here = {
        k: tuple(int(round(v / (z[0] * z[1]))) for v in sizes) if resample else sizes
        for k, z in zooms.items()
    }
    if samples is not None:
        return _predict_samples(run, files, guard, threshold, (zooms, here, pixel_sizes), progress)
    for k, f in enumerate(files):
        img = io.read_grey(f, ndims=(2, 3))
        prob = predict(img.data, str(f), zoom=zooms[str(f)])
        scale = (pixel_sizes[str(f)], img.z_step_nm)
        _write_prediction(guard, f.stem, prob, threshold, scale, here[str(f)])
        if progress is not None:
            progress(k + 1, len(files))
    return out


def _predict_samples(run, files, out: OutputFolder, threshold, per_image, progress) -> Path:
    """`predict_folder` with K samples (`run` from `sampler`): mean, std (``uncertainty/``) and
    ``suggestions.csv``. `per_image`: the zoom, clean-up sizes and pixel size of each file."""
    import pandas as pd

    zooms, sizes, scales = per_image
    rows = []
    for k, f in enumerate(files):
        img = io.read_grey(f, ndims=(2, 3))
        s, suggestions = run(img.data, str(f), zoom=zooms[str(f)])
        scale = (scales[str(f)], img.z_step_nm)
        _write_prediction(out, f.stem, s.mean, threshold, scale, sizes[str(f)])
        io.write_tiff(out.path(f"uncertainty/{f.stem}.tif"), s.std, pixel_size_nm=scale[0])
        rows += [{"image": f.stem, "row": g.row, "col": g.col, "score": g.score}
                 for g in suggestions]  # fmt: skip
        if progress is not None:
            progress(k + 1, len(files))
    io.write_csv(
        out.path("suggestions.csv"), pd.DataFrame(rows, columns=["image", "row", "col", "score"])
    )
    return out.root


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
    `segtrain._metrics`.

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
    missing, extra = sorted(set(truths) - set(preds)), sorted(set(preds) - set(truths))
    if missing or extra:
        raise InputError(
            f"prediction and truth names differ: no prediction in {io.mask_folder(pred)} for "
            f"{missing[:5]}; no truth in {io.mask_folder(gt)} for {extra[:5]}. Names must match "
            "(extension may differ)."
        )
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
