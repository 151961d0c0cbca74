"""Test images already read through predict and evaluate, and a short round on one data set
(a workflow): train with the recipe, predict the test folder with ``best.pt``, evaluate, draw
(`train_and_evaluate`). The benchmark grid over models, data and seeds: `_bench.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from shapelib.io import OutputFolder, check_output_folder, open_output_folder

from .. import io
from ..evaluate._metrics import Connectivity, EvaluationResult, evaluate_images
from ..figures import plot_predictions
from ..inference._config import InferenceConfig
from ..inference._predict import postprocess_mask
from ..inference._zoom import image_zooms
from ..training._config import DataSource, TrainConfig
from ._predict import write_prediction
from ._run import Run, Segmentation
from ._train_data import read_source_2p5d

__all__ = ["evaluate_items", "predict_and_evaluate", "predict_items", "train_and_evaluate"]

Progress = Callable[[int, int], None] | None


def predict_items(
    run: Run, test: list, *, resample: bool = False, progress: Progress = None
) -> dict[str, np.ndarray]:
    """Probabilities of test images already read (`LabeledImage` list; 2.5D items are
    (C, Y, X)): name -> (Y, X) float32. `resample`: each image resampled to the pixel size of
    the run's training images first (`predict_folder`)."""
    sizes = {it.name: it.pixel_size_nm for it in test}
    zooms = image_zooms(run.training_pixel_size_nm, sizes, resample=resample)
    probs = {}
    for k, it in enumerate(test):
        channels = np.ndim(it.image) == 3
        probs[it.name] = run.predict(
            it.image, where=it.name, channels=channels, zoom=zooms[it.name]
        )
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
    lo, hole = sizes
    masks = {}
    for it in test:
        p = probs[it.name]
        masks[it.name] = postprocess_mask(p, threshold=threshold, min_size_px=lo, max_hole_px=hole)
        if out is not None:
            seg = Segmentation(p, masks[it.name])
            write_prediction(out, it.name, seg, (it.pixel_size_nm, None))
    images = (
        (it.name, masks[it.name], None, it.mask, it.instances)
        for it in sorted(test, key=lambda it: it.name)
    )
    return evaluate_images(images, connectivity=connectivity), masks


def predict_and_evaluate(
    run: Run,
    test: list,
    out: Path | OutputFolder,
    *,
    connectivity: Connectivity = 4,
    overwrite: bool = False,
    progress: Progress = None,
) -> tuple[EvaluationResult, dict[str, np.ndarray]]:
    """Predict test images already read (`LabeledImage` list) with a run, write the predictions
    to `out` as `predict_folder` does (through the output guard), and evaluate them in memory;
    returns the result and the masks."""
    c = run.config
    if not isinstance(out, OutputFolder):
        details = {"run": str(run.source), "which": c.checkpoint, "tta": c.tta}
        details["threshold"] = c.threshold
        inputs = [run.source] if run.source is not None else []
        out = open_output_folder(
            out, command="predict", inputs=inputs, overwrite=overwrite, details=details
        )
    probs = predict_items(run, test, progress=progress)
    return evaluate_items(probs, test, out, threshold=c.threshold, connectivity=connectivity)


def train_and_evaluate(
    train_data: str | Path,
    test_data: str | Path,
    out: str | Path,
    *,
    inference: InferenceConfig | None = None,
    n_figure: int = 3,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    **train,
) -> EvaluationResult:
    """Train with the recipe on `train_data`, predict `test_data` with ``best.pt``, evaluate,
    and draw a figure.

    Every training setting not given is the recipe's (`segtrain.RECIPE`, the defaults of
    `TrainConfig` and of ``mitoshape train``): the same model a user and the benchmarks train.
    Writes ``out/run/`` (the run folder), ``out/pred/`` (probabilities and masks),
    ``out/metrics.csv`` (per image), ``out/summary.csv`` (mean, std and pooled, named) and
    ``out/predictions.png`` (image, prediction, overlay with the truth for `n_figure` images).
    The test folder is read once (for a 2.5D run, ``context_slices`` in `train`, its files
    must number consecutive sections, as the training folder's).

    Parameters
    ----------
    train_data, test_data : folders with images/ and masks/ (or image/ and label/)
    out : output folder
    inference : InferenceConfig or None, how the test images are predicted (None: the
        defaults, with the training's ``num_threads``)
    progress : callable or None, ``progress(done, total)`` of the training (steps), then of the
        prediction (images)
    **train : `TrainConfig` fields over the recipe's (``max_steps``, ``model``,
        ``model_params``, ``time_budget_min``, ``num_threads``, ``seed``, ...)

    Returns
    -------
    EvaluationResult (per-image table and summary dict)

    Examples
    --------
    >>> res = train_and_evaluate("lucchi_pp/train", "lucchi_pp/test", "out/seg",
    ...                          max_steps=500)                             # doctest: +SKIP
    >>> res.summary["iou_pooled"]                                           # doctest: +SKIP
    """
    from ._train import train as train_run

    out = Path(out)
    ins = [Path(train_data), Path(test_data)]
    check_output_folder(out, command="train_and_evaluate", inputs=ins, overwrite=overwrite)
    # Before training: a bad test folder fails early. A 2.5D run's test images come with
    # their numbered neighbours as channels, as its training images (`read_source_2p5d`).
    context = int(train.get("context_slices", 0))
    if context:
        test = read_source_2p5d(DataSource(path=str(test_data)), context)
    else:
        test = io.read_pairs_folder(test_data)
    guard = open_output_folder(out, command="train_and_evaluate", inputs=ins, overwrite=overwrite)
    cfg = TrainConfig(
        **{
            "train": [DataSource(path=str(train_data))],
            "run_dir": str(guard.subfolder("run")),
            **train,
        }
    )
    run_dir = train_run(cfg, progress=progress)
    inference = inference or InferenceConfig(threads=cfg.num_threads)
    pred = open_output_folder(guard.subfolder("pred"), command="predict", inputs=[run_dir])
    res, masks = predict_and_evaluate(Run.open(run_dir, inference), test, pred, progress=progress)
    io.write_csv(guard.path("metrics.csv"), res.per_image)
    io.write_csv(guard.path("summary.csv"), res.summary_table().reset_index(names="metric"))
    # Figure: the first n_figure test images with prediction and truth.
    shown = test[:n_figure]
    fig = plot_predictions(
        [it.image[len(it.image) // 2] if np.ndim(it.image) == 3 else it.image for it in shown],
        [masks[it.name] for it in shown],
        [it.mask for it in shown],
        titles=[it.name for it in shown],
    )
    io.write_figure(guard.path("predictions.png"), fig, dpi=80)
    return res
