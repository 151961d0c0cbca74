"""A contact sheet of predictions on real images, for a person to judge at a glance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._style import show_image, show_mask_outline

__all__ = ["plot_prediction_sheet"]


def plot_prediction_sheet(
    images: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    names: Sequence[str],
    *,
    pixel_size_nm: float | None = None,
    columns: int = 4,
    title: str | None = None,
):
    """Each image twice, side by side: as it is, and with the predicted mask's outline on it;
    titled with its name and the predicted foreground share.

    Parameters
    ----------
    images : sequence of (Y, X) arrays (shown between their 1st and 99.8th percentiles)
    masks : sequence of (Y, X) masks (> 0 foreground)
    names : one name per image
    pixel_size_nm : float or None, for the axes in um and the scale bar
    columns : int, image pairs per row

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    n = len(images)
    rows = max(1, -(-n // columns))
    fig = Figure(figsize=(4.4 * columns, 2.3 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, 2 * columns, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for k, (im, m, name) in enumerate(zip(images, masks, names, strict=True)):
        a, b = axes[k // columns, 2 * (k % columns)], axes[k // columns, 2 * (k % columns) + 1]
        x = np.asarray(im, float)
        lo, hi = np.percentile(x, [1, 99.8])
        kw = {"vmin": lo, "vmax": hi if hi > lo else lo + 1}
        fg = float(np.mean(np.asarray(m) > 0))
        show_image(a, x, pixel_size_nm=pixel_size_nm, title=name, **kw)
        show_image(b, x, pixel_size_nm=pixel_size_nm, title=f"prediction: {100 * fg:.1f} %", **kw)
        show_mask_outline(b, m, pixel_size_nm=pixel_size_nm, color="#ff2bd6")
        for ax in (a, b):
            ax.set_axis_off()
            ax.title.set_fontsize(7)
    fig.suptitle(
        (title + "\n" if title else "")
        + "each image as it is (left) and with the predicted mask's outline (magenta, right); "
        "both at the image's 1-99.8 % range",
        fontsize=9,
    )
    return fig
