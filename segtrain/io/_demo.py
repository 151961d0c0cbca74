"""A short train -> predict -> evaluate -> figure round, for demos (minutes, not hours)."""

from __future__ import annotations

from pathlib import Path

from ._folders import evaluate_folders, plot_prediction_folders, predict_folder
from ._runs import write_csv

__all__ = ["train_and_evaluate"]


def train_and_evaluate(
    train_data: str | Path,
    test_data: str | Path,
    out: str | Path,
    *,
    model: str = "unet",
    model_params: dict | None = None,
    minutes: float = 2.0,
    max_steps: int = 400,
    patch_px: int = 128,
    batch_size: int = 4,
    seed: int = 0,
    n_figure: int = 3,
    progress: bool = False,
):
    """Train briefly on `train_data`, predict `test_data`, evaluate, and draw a figure.

    Writes ``out/run/`` (the run folder), ``out/pred/`` (probabilities and masks),
    ``out/metrics.csv`` (per image), ``out/summary.csv`` (mean, std and pooled, named) and
    ``out/predictions.png`` (image, prediction, overlay with the truth for `n_figure` images).

    Parameters
    ----------
    train_data, test_data : folders with images/ and masks/ (or image/ and label/)
    out : output folder
    minutes : wall-clock training budget (training also stops at `max_steps`)

    Returns
    -------
    EvaluationResult (per-image table and summary dict)

    Examples
    --------
    >>> res = train_and_evaluate("lucchi_pp/train", "lucchi_pp/test", "out/seg",
    ...                          minutes=2)                                  # doctest: +SKIP
    >>> res.summary["iou_pooled"]                                           # doctest: +SKIP
    """
    from .._config import DataSource, TrainConfig
    from .._train import train

    out = Path(out)
    params = model_params if model_params is not None else {"depth": 4, "width": 16}
    cfg = TrainConfig(
        train=[DataSource(path=str(train_data))],
        run_dir=str(out / "run"),
        model=model,
        model_params=params,
        patch_px=patch_px,
        batch_size=batch_size,
        max_steps=max_steps,
        time_budget_min=minutes,
        val_every=max(1, min(50, max_steps)),
        val_patches=8,
        seed=seed,
    )
    run = train(cfg, overwrite=True, progress=progress)
    pred = predict_folder(run, test_data, out / "pred", which="last", progress=progress)
    res = evaluate_folders(pred, test_data)
    write_csv(out / "metrics.csv", res.per_image)
    write_csv(out / "summary.csv", res.summary_table().reset_index(names="metric"))
    # Figure: the first n_figure test images with prediction and truth.
    plot_prediction_folders(
        test_data, out / "pred" / "masks", test_data, out / "predictions.png", n=n_figure
    )
    return res
