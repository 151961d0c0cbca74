"""Every figure of segtrain, as ``matplotlib.figure.Figure`` objects (no pyplot, no backend
switch); save them with `segtrain.io.write_figure`."""

from __future__ import annotations

import numpy as np

__all__ = [
    "plot_bench_table",
    "plot_fold_change",
    "plot_predictions",
    "plot_training_curves",
]


def plot_training_curves(rows: list[dict], *, note: str | None = None):
    """Losses (left) and training vs validation IoU (right) against step, one marker per
    validation; the best validation IoU (the step of ``best.pt``) is starred.

    Parameters
    ----------
    rows : the training log, one dict per validation (step, train_loss, val_loss, val_dice,
        val_iou and, from version 2 runs, train_iou)
    note : str or None, what the validation data are (shown as the title)

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.8), layout="constrained")
    a, b = fig.subplots(1, 2)
    steps = [r["step"] for r in rows]
    a.plot(steps, [r["train_loss"] for r in rows], marker="o", label="training loss")
    a.plot(steps, [r["val_loss"] for r in rows], marker="s", label="validation loss")
    a.set_xlabel("step")
    a.set_ylabel("loss")
    a.legend()
    if all("train_iou" in r for r in rows):
        b.plot(steps, [r["train_iou"] for r in rows], marker="o", label="training IoU (fg)")
    b.plot(steps, [r["val_iou"] for r in rows], marker="s", label="validation IoU (fg)")
    b.plot(steps, [r["val_dice"] for r in rows], marker=".", ls=":", label="validation Dice")
    k = int(np.argmax([r["val_iou"] for r in rows]))
    b.plot(
        [steps[k]],
        [rows[k]["val_iou"]],
        marker="*",
        ms=14,
        ls="none",
        color="k",
        label=f"best (step {steps[k]}, IoU {rows[k]['val_iou']:.3f})",
    )
    b.set_xlabel("step")
    b.set_ylabel("pooled over pixels")
    b.set_ylim(0, 1)
    b.legend(fontsize=8)
    if note:
        fig.suptitle(note, fontsize=8)
    return fig


def plot_predictions(
    images: list[np.ndarray],
    preds: list[np.ndarray],
    gts: list[np.ndarray],
    *,
    titles: list[str] | None = None,
):
    """Per row the image, the prediction and an overlay of prediction (red) and truth (green).

    Parameters
    ----------
    images : list of (Y, X) arrays; preds, gts : lists of (Y, X) masks (> 0 foreground)
    titles : one name per row (default: image 0, image 1, ...)

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    n = len(images)
    fig = Figure(figsize=(9, 3 * n), layout="constrained")
    axes = fig.subplots(n, 3, squeeze=False)
    for i, (im, p, g) in enumerate(zip(images, preds, gts, strict=True)):
        lo, hi = np.percentile(im, [1, 99])
        axes[i, 0].imshow(im, cmap="gray", vmin=lo, vmax=hi)
        axes[i, 1].imshow(np.asarray(p) > 0, cmap="gray")
        over = np.zeros((*np.shape(g), 3))
        over[..., 0] = np.asarray(p) > 0  # red: prediction
        over[..., 1] = np.asarray(g) > 0  # green: truth; yellow: both
        axes[i, 2].imshow(over)
        axes[i, 0].set_title(titles[i] if titles else f"image {i}")
        axes[i, 1].set_title("prediction (white)")
        axes[i, 2].set_title("prediction vs truth")
        for a in axes[i]:
            a.axis("off")
    if n:
        from matplotlib.patches import Patch

        handles = [
            Patch(color=(1, 1, 0), label="both (true positive)"),
            Patch(color=(1, 0, 0), label="prediction only (false positive)"),
            Patch(color=(0, 1, 0), label="truth only (missed)"),
            Patch(facecolor=(0, 0, 0), edgecolor="0.5", label="neither"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=8)
    return fig


def plot_bench_table(table):
    """Bar chart of foreground IoU per model, training data, test set and output: the mean over
    seeds of the per-image mean, thick error bars the std over seeds, thin ones the per-image
    std.

    Parameters
    ----------
    table : DataFrame of `segtrain.run_bench` (model, training, test_set, output, iou_mean,
        iou_seed_std, iou_image_std)

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    labels = [
        f"{r.model}\n{r.training}\n{r.test_set}\n{getattr(r, 'output', '')}"
        for r in table.itertuples()
    ]
    x = np.arange(len(labels))
    fig = Figure(figsize=(max(4, 1.3 * len(labels)), 4.2), layout="constrained")
    ax = fig.subplots()
    ax.bar(x, table["iou_mean"], color="tab:blue", alpha=0.8)
    if "iou_image_std" in table:
        ax.errorbar(
            x,
            table["iou_mean"],
            yerr=table["iou_image_std"],
            fmt="none",
            ecolor="0.5",
            capsize=6,
            lw=1,
            label="std over images",
        )
    if "iou_seed_std" in table:
        ax.errorbar(
            x,
            table["iou_mean"],
            yerr=table["iou_seed_std"],
            fmt="none",
            ecolor="k",
            capsize=3,
            lw=2.5,
            label="std over seeds",
        )
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("foreground IoU (mean per image)")
    ax.set_ylim(0, 1)
    return fig


def plot_fold_change(comparison):
    """Fold change (predicted / true) per parameter on a log axis, with the 1.0 line.

    Each parameter is a stem from 1.0 to its fold change, so 2x too large and 2x too small stand
    equally far from the line. Parameters without a finite positive fold change (no true
    objects, or none predicted) are marked "n/a" under the axis.

    Parameters
    ----------
    comparison : DataFrame of `segtrain.compare_morphology` (parameter, fold_change)

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    names = list(comparison["parameter"])
    fold = np.asarray(comparison["fold_change"], dtype=float)
    ok = np.isfinite(fold) & (fold > 0)
    x = np.arange(len(names))
    fig = Figure(figsize=(7, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.set_yscale("log")
    ax.axhline(1.0, color="k", lw=1, label="1 = predicted equals true")
    ax.vlines(x[ok], 1.0, fold[ok], color="tab:blue", lw=3)
    ax.plot(x[ok], fold[ok], "o", color="tab:blue", label="fold change per parameter")
    ax.legend(fontsize=8, loc="upper right")
    # Symmetric about 1 (at least 1/2 .. 2) so over- and under-estimates read alike.
    reach = float(np.max(np.abs(np.log10(fold[ok])))) if ok.any() else 0.0
    top = 10 ** max(np.log10(2.0), 1.2 * reach)
    ax.set_ylim(1 / top, top)
    labels = [n if good else f"{n} (n/a)" for n, good in zip(names, ok, strict=True)]
    ax.set_xticks(x, labels, rotation=45, ha="right")
    ax.set_ylabel("fold change (predicted / true)")
    return fig
