"""Figures of explanations: a heatmap over its image, and deletion curves against random and
inverse order."""

from __future__ import annotations

import numpy as np

from ._style import HEAT_CMAP, show_image, show_mask_outline

__all__ = ["METHOD_NAMES", "plot_deletion_curves", "plot_explanation", "show_heatmap"]

METHOD_NAMES = {"gradcam": "Grad-CAM", "hirescam": "HiResCAM"}


def show_heatmap(
    ax, image, heatmap, mask, *, pixel_size_nm: float | None, title: str, colorbar: bool = True
):
    """The image in grey, the heatmap (scaled to its maximum) over it, the mask's outline."""
    show_image(ax, image, pixel_size_nm=pixel_size_nm, title=title)
    heat = np.asarray(heatmap, np.float64)
    top = float(heat.max()) if heat.size else 0.0
    rel = heat / top if top > 0 else np.zeros_like(heat)
    h, w = rel.shape
    px = pixel_size_nm / 1000.0 if pixel_size_nm else 1.0
    shown = np.ma.masked_less_equal(rel, 0.02)
    im = ax.imshow(
        shown,
        cmap=HEAT_CMAP,
        vmin=0,
        vmax=1,
        alpha=0.55,
        extent=(0, w * px, h * px, 0),
        interpolation="bilinear",
    )
    show_mask_outline(ax, mask, pixel_size_nm=pixel_size_nm, color="cyan")
    if colorbar:
        cb = ax.figure.colorbar(im, ax=ax, shrink=0.8)
        cb.set_label("attribution (max = 1)")
    if top <= 0:
        ax.text(0.5, 0.5, "heatmap is zero", transform=ax.transAxes, ha="center", color="w")


def plot_explanation(
    image: np.ndarray,
    heatmap: np.ndarray,
    mask: np.ndarray,
    *,
    pixel_size_nm: float | None = None,
    method: str = "gradcam",
    layer: str = "",
    title: str = "",
):
    """The input with the predicted mask's outline beside the heatmap over it.

    Parameters
    ----------
    image : (Y, X) array (for several channels pass the first)
    heatmap : (Y, X) array >= 0
    mask : (Y, X) array, the explained (predicted) mask, outlined in cyan
    pixel_size_nm : float or None; axes in um when given, else in px

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    h, w = np.shape(image)[:2]
    fig = Figure(figsize=(10, 0.6 + 4.2 * h / w), layout="constrained")
    a, b = fig.subplots(1, 2)
    show_image(a, image, pixel_size_nm=pixel_size_nm, title=f"{title} input".strip())
    show_mask_outline(a, mask, pixel_size_nm=pixel_size_nm, color="cyan")
    name = METHOD_NAMES.get(method, method)
    show_heatmap(b, image, heatmap, mask, pixel_size_nm=pixel_size_nm, title=f"{name} ({layer})")
    return fig


def plot_deletion_curves(curves: dict[str, dict]):
    """Mean deletion curves over images, one panel per heatmap (method and layer).

    Parameters
    ----------
    curves : dict panel title -> {"fractions": (K,), "heatmap": (N, K), "inverse": (N, K),
        "random": (N, K)}: the score along each order for N images (random: the mean of the
        image's random orders)

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    n = max(len(curves), 1)
    fig = Figure(figsize=(4.2 * n, 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n, squeeze=False)[0])
    for ax, (title, c) in zip(axes, curves.items(), strict=False):
        fr = np.asarray(c["fractions"])
        for key, label, color in (
            ("heatmap", "most attributed first", "tab:red"),
            ("random", "random order", "0.4"),
            ("inverse", "least attributed first", "tab:blue"),
        ):
            ys = np.atleast_2d(np.asarray(c[key], float))
            mean = np.nanmean(ys, axis=0)
            auc = float(np.sum((mean[1:] + mean[:-1]) / 2 * np.diff(fr)))
            ax.plot(fr * 100, mean, marker="o", ms=3, color=color, label=f"{label} (AUC {auc:.3f})")
            if ys.shape[0] > 1:
                lo, hi = np.nanpercentile(ys, [25, 75], axis=0)
                ax.fill_between(fr * 100, lo, hi, color=color, alpha=0.15, lw=0)
        ax.set_xlabel("pixels deleted (%)")
        ax.set_ylabel("mean foreground probability in target")
        ax.set_ylim(0, 1.02)
        ax.set_xlim(0, 100)
        ax.set_title(title)
        ax.legend(fontsize=8, loc="upper right")
    return fig
