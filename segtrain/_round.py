"""Test images already read through predict and evaluate, and a short round on one data set
(a workflow): train with the recipe, predict the test folder with ``best.pt``, evaluate, draw
(`train_and_evaluate`). The benchmark grid over models, data and seeds: `_bench.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from shapelib.io import OutputFolder, check_output_folder, open_output_folder

from . import io
from ._config import RECIPE, DataSource, TrainConfig
from ._figures import plot_predictions
from ._metrics import Connectivity, EvaluationResult, evaluate_images
from ._pixel_sizes import image_zooms, training_pixel_size
from ._predict import postprocess_mask
from ._registry import ModelName
from ._workflow import _predictor, _write_prediction

__all__ = ["evaluate_items", "predict_and_evaluate", "predict_items", "train_and_evaluate"]

Progress = Callable[[int, int], None] | None


def predict_items(
    run_dir,
    test: list,
    *,
    which: str = "best",
    tile_px: int = 256,
    overlap_px: int = 64,
    tta: bool | str = False,
    num_threads: int | None = None,
    resample: bool = False,
    progress: Progress = None,
) -> dict[str, np.ndarray]:
    """Probabilities of test images already read (`LabeledImage` list; 2.5D items are
    (C, Y, X)): name -> (Y, X) float32. `resample`: each image resampled to the pixel size of
    the run's training images first (`predict_folder`)."""
    predict = _predictor(
        run_dir,
        which=which,
        tile_px=tile_px,
        overlap_px=overlap_px,
        tta=tta,
        device="auto",
        num_threads=num_threads,
    )
    sizes = {it.name: it.pixel_size_nm for it in test}
    zooms = image_zooms(training_pixel_size(run_dir), sizes, resample=resample)
    probs = {}
    for k, it in enumerate(test):
        channels = np.ndim(it.image) == 3
        probs[it.name] = predict(it.image, it.name, channels=channels, zoom=zooms[it.name])
        if progress is not None:
            progress(k + 1, len(test))
    return probs


def evaluate_items(
    probs: dict[str, np.ndarray],
    test: list,
    out: OutputFolder | None,
    *,
    threshold: float = 0.5,
    sizes: tuple[int, int] = (0, 0),
    connectivity: Connectivity = 4,
) -> tuple[EvaluationResult, dict[str, np.ndarray]]:
    """Masks of `probs` (post-processed with `sizes`), written to `out` (an output folder of the
    guard) as `predict_folder` does (unless None), evaluated against the test items; returns
    the result and the masks."""

    masks = {}
    for it in test:
        p = probs[it.name]
        if out is None:
            lo, hole = sizes
            masks[it.name] = postprocess_mask(
                p, threshold=threshold, min_size_px=lo, max_hole_px=hole
            )
        else:
            masks[it.name] = _write_prediction(
                out, it.name, p, threshold, (it.pixel_size_nm, None), sizes
            )
    images = (
        (it.name, masks[it.name], None, it.mask, it.instances)
        for it in sorted(test, key=lambda it: it.name)
    )
    return evaluate_images(images, connectivity=connectivity), masks


def predict_and_evaluate(
    run_dir,
    test: list,
    out: Path | OutputFolder,
    *,
    which: str = "best",
    tile_px: int = 256,
    overlap_px: int = 64,
    tta: bool | str = False,
    threshold: float = 0.5,
    connectivity: Connectivity = 4,
    num_threads: int | None = None,
    overwrite: bool = False,
    progress: Progress = None,
) -> tuple[EvaluationResult, dict[str, np.ndarray]]:
    """Predict test images already read (`LabeledImage` list), write the predictions to `out`
    as `predict_folder` does (through the output guard), and evaluate them in memory; returns
    the result and the masks."""
    guard = out if isinstance(out, OutputFolder) else open_output_folder(
        out, command="predict", inputs=[run_dir], overwrite=overwrite,
        details={"run": str(run_dir), "which": which, "tta": tta, "threshold": threshold},
    )  # fmt: skip
    probs = predict_items(
        run_dir, test, which=which, tile_px=tile_px, overlap_px=overlap_px, tta=tta,
        num_threads=num_threads, progress=progress,
    )  # fmt: skip
    return evaluate_items(probs, test, guard, threshold=threshold, connectivity=connectivity)


def train_and_evaluate(
    train_data: str | Path,
    test_data: str | Path,
    out: str | Path,
    *,
    model: ModelName = RECIPE.model,
    model_params: dict | None = None,
    max_steps: int | None = None,
    minutes: float | None = None,
    patch_px: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    tta: bool | str = False,
    num_threads: int | None = None,
    n_figure: int = 3,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> EvaluationResult:
    """Train with the recipe on `train_data`, predict `test_data` with ``best.pt``, evaluate,
    and draw a figure.

    Every training setting not given is the recipe's (`segtrain.RECIPE`, the defaults of
    `TrainConfig` and of ``mitoshape train``): the same model a user and the benchmarks train.
    Writes ``out/run/`` (the run folder), ``out/pred/`` (probabilities and masks),
    ``out/metrics.csv`` (per image), ``out/summary.csv`` (mean, std and pooled, named) and
    ``out/predictions.png`` (image, prediction, overlay with the truth for `n_figure` images).
    The test folder is read once.

    Parameters
    ----------
    train_data, test_data : folders with images/ and masks/ (or image/ and label/)
    out : output folder
    max_steps : int or None, steps (None: the recipe's)
    minutes : float or None, also stop after this many wall-clock minutes
    num_threads : int or None, torch CPU threads for training and prediction
    progress : callable or None, ``progress(done, total)`` of the training (steps), then of the
        prediction (images)

    Returns
    -------
    EvaluationResult (per-image table and summary dict)

    Examples
    --------
    >>> res = train_and_evaluate("lucchi_pp/train", "lucchi_pp/test", "out/seg",
    ...                          max_steps=500)                             # doctest: +SKIP
    >>> res.summary["iou_pooled"]                                           # doctest: +SKIP
    """
    from ._train import train

    out = Path(out)
    ins = [Path(train_data), Path(test_data)]
    check_output_folder(out, command="train_and_evaluate", inputs=ins, overwrite=overwrite)
    test = io.read_pairs_folder(test_data)  # before training: a bad test folder fails early
    guard = open_output_folder(out, command="train_and_evaluate", inputs=ins, overwrite=overwrite)
    given = {
        "max_steps": max_steps,
        "time_budget_min": minutes,
        "patch_px": patch_px,
        "batch_size": batch_size,
        "model_params": model_params,
        "num_threads": num_threads,
    }
    cfg = TrainConfig(
        train=[DataSource(path=str(train_data))],
        run_dir=str(guard.subfolder("run")),
        model=model,
        seed=seed,
        **{k: v for k, v in given.items() if v is not None},
    )
    run = train(cfg, progress=progress)
    pred = open_output_folder(guard.subfolder("pred"), command="predict", inputs=[run])
    res, masks = predict_and_evaluate(
        run, test, pred, tta=tta, num_threads=num_threads, progress=progress
    )
    io.write_csv(guard.path("metrics.csv"), res.per_image)
    io.write_csv(guard.path("summary.csv"), res.summary_table().reset_index(names="metric"))
    # Figure: the first n_figure test images with prediction and truth.
    shown = test[:n_figure]
    fig = plot_predictions(
        [it.image for it in shown],
        [masks[it.name] for it in shown],
        [it.mask for it in shown],
        titles=[it.name for it in shown],
    )
    io.write_figure(guard.path("predictions.png"), fig, dpi=80)
    return res
