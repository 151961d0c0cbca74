"""Folder-level entry points: predict a folder or stack, evaluate prediction against truth folders,
and draw predictions beside the truth."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._files import IMAGE_SUFFIXES, _as_mask_and_instances, list_images, read_image, write_tiff

__all__ = ["EvaluationResult", "evaluate_folders", "plot_predictions", "predict_folder"]

log = logging.getLogger(__name__)


def _inputs(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    sub = next((path / d for d in ("images", "image") if (path / d).is_dir()), None)
    return list_images(sub or path)


def predict_folder(
    run_dir: str | Path,
    input: str | Path,
    out: str | Path,
    *,
    which: str = "best",
    tile_px: int = 256,
    overlap_px: int = 64,
    tta: bool = False,
    threshold: float = 0.5,
    device: str = "auto",
    progress: bool = False,
) -> Path:
    """Predict every image (or EM stack) in `input` with a trained run; write TIFFs to `out`.

    Writes ``out/probabilities/NAME.tif`` (float32 in [0, 1]) and ``out/masks/NAME.tif`` (uint8
    0/1, probability >= `threshold`). A 3D TIFF is an EM stack, predicted slice by slice.

    Parameters
    ----------
    run_dir : a run folder written by `segtrain.train` (or a ``.pt`` checkpoint in one)
    input : an image file, a folder of images, or a folder with an ``images/`` subfolder
    out : output folder (created)

    Returns
    -------
    out : Path

    Examples
    --------
    >>> predict_folder("runs/unet", "data/test/images", "out/pred", tta=True)  # doctest: +SKIP
    """
    import torch

    from .._predict import predict_image, predict_stack
    from .._train import load_run, pick_device

    model, cfg = load_run(run_dir, which=which)
    dev = pick_device(device)
    model = model.to(dev)
    out = Path(out)
    files = _inputs(Path(input))
    kw = dict(
        tile_px=tile_px,
        overlap_px=overlap_px,
        tta=tta,
        normalize=tuple(cfg.normalize_percentiles),
        device=dev,
        amp=cfg.amp and dev.type != "cpu",
    )
    if progress:
        from tqdm.auto import tqdm

        files = tqdm(files, desc="predict", unit="image")
    with torch.inference_mode():
        for f in files:
            img = read_image(f)
            if img.ndim == 3:
                prob = predict_stack(model, img, **kw)
            elif img.ndim == 2:
                prob = predict_image(model, img, **kw)
            else:
                raise ValueError(f"{f} must be a 2D image or a 3D stack; got shape {img.shape}.")
            write_tiff(out / "probabilities" / f"{f.stem}.tif", prob.astype(np.float32))
            write_tiff(out / "masks" / f"{f.stem}.tif", (prob >= threshold).astype(np.uint8))
    return out


@dataclass(frozen=True)
class EvaluationResult:
    """Per-image metrics (one row per image) and their summary (mean, std, pooled; named)."""

    per_image: object  # pandas.DataFrame
    summary: dict

    def summary_table(self):
        """The summary as a one-column DataFrame (metric -> value)."""
        import pandas as pd

        return pd.Series(self.summary, name="value").to_frame()


def _mask_dir(path: Path) -> Path:
    for d in ("masks", "labels", "label", "mask", "gt"):
        if (path / d).is_dir():
            return path / d
    return path


def _read_pred(path: Path, threshold: float):
    arr = read_image(path)
    if arr.dtype.kind == "f":
        if arr.min() < 0 or arr.max() > 1:
            raise ValueError(
                f"prediction {path} is float but not in [0, 1]; pass probabilities or masks."
            )
        return arr >= threshold, None
    return _as_mask_and_instances(arr, str(path))


def evaluate_folders(
    pred: str | Path,
    gt: str | Path,
    *,
    threshold: float = 0.5,
    connectivity: int = 4,
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
    import pandas as pd

    from .._metrics import evaluate_pair, summarize

    pred, gt = Path(pred), Path(gt)
    pred_dir = _mask_dir(pred) if not (pred / "masks").is_dir() else pred / "masks"
    gt_dir = _mask_dir(gt)
    inst_dir = gt / "instances" if (gt / "instances").is_dir() else None
    preds = {p.stem: p for p in list_images(pred_dir)}
    gts = {p.stem: p for p in list_images(gt_dir)}
    missing = sorted(set(gts) - set(preds))
    extra = sorted(set(preds) - set(gts))
    if missing or extra:
        raise ValueError(
            f"prediction and truth names differ: no prediction in {pred_dir} for {missing[:5]}; "
            f"no truth in {gt_dir} for {extra[:5]}. Names must match (extension may differ)."
        )
    rows = []
    for name in sorted(gts):
        p_mask, p_inst = _read_pred(preds[name], threshold)
        g_arr = read_image(gts[name])
        g_mask, g_inst = _as_mask_and_instances(g_arr, str(gts[name]))
        if inst_dir is not None:
            hit = next(
                (
                    inst_dir / (name + s)
                    for s in IMAGE_SUFFIXES
                    if (inst_dir / (name + s)).is_file()
                ),
                None,
            )
            if hit is not None:
                g_inst = read_image(hit).astype(np.int32)
        if p_mask.shape != g_mask.shape:
            raise ValueError(
                f"prediction {preds[name]} has shape {p_mask.shape} but truth {gts[name]} has "
                f"{g_mask.shape}; predict at the truth's size."
            )
        if p_mask.ndim != 2:
            raise ValueError(
                f"evaluate_folders compares 2D images; {preds[name]} is {p_mask.ndim}D."
            )
        row = evaluate_pair(
            p_mask, g_mask, pred_instances=p_inst, gt_instances=g_inst, connectivity=connectivity
        )
        rows.append({"name": name, **row})
    per_image = pd.DataFrame(rows)
    return EvaluationResult(per_image=per_image, summary=summarize(per_image))


def plot_predictions(
    images: list[np.ndarray],
    preds: list[np.ndarray],
    gts: list[np.ndarray],
    path: str | Path,
    *,
    titles: list[str] | None = None,
) -> Path:
    """Save a figure: per row the image, the prediction and the truth (overlay of both).

    Parameters
    ----------
    images : list of (Y, X) arrays; preds, gts : lists of (Y, X) masks (> 0 foreground)
    path : PNG file to write
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(images)
    fig, axes = plt.subplots(n, 3, figsize=(9, 3 * n), squeeze=False)
    for i, (im, p, g) in enumerate(zip(images, preds, gts, strict=True)):
        lo, hi = np.percentile(im, [1, 99])
        axes[i, 0].imshow(im, cmap="gray", vmin=lo, vmax=hi)
        axes[i, 1].imshow(np.asarray(p) > 0, cmap="gray")
        over = np.zeros((*np.shape(g), 3))
        over[..., 0] = np.asarray(p) > 0  # red: prediction
        over[..., 1] = np.asarray(g) > 0  # green: truth; yellow: both
        axes[i, 2].imshow(over)
        name = titles[i] if titles else f"image {i}"
        axes[i, 0].set_title(name)
        axes[i, 1].set_title("prediction")
        axes[i, 2].set_title("pred (red) / truth (green)")
        for a in axes[i]:
            a.axis("off")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return Path(path)


def plot_prediction_folders(
    images: str | Path,
    pred: str | Path,
    gt: str | Path,
    path: str | Path,
    *,
    n: int = 4,
) -> Path:
    """Figure of the first ``n`` images (by name) with their predicted and true masks.

    Parameters
    ----------
    images : folder of images (or a dataset folder with ``images/``)
    pred : folder of predicted masks (names match the images; ``.tif``)
    gt : folder of true masks (or a dataset folder with ``masks/``)
    path : PNG file to write
    """
    if n < 1:
        raise ValueError(f"the figure needs n >= 1 images; got {n}.")
    files = _inputs(Path(images))[:n]
    preds = {p.stem: p for p in list_images(_mask_dir(Path(pred)))}
    truths = {p.stem: p for p in list_images(_mask_dir(Path(gt)))}
    missing = [p.stem for p in files if p.stem not in preds or p.stem not in truths]
    if missing:
        raise FileNotFoundError(
            f"no predicted or true mask named like image(s) {missing[:3]} in {pred} / {gt}."
        )
    return plot_predictions(
        [read_image(p) for p in files],
        [read_image(preds[p.stem]) for p in files],
        [np.asarray(read_image(truths[p.stem])) > 0 for p in files],
        path,
        titles=[p.stem for p in files],
    )
