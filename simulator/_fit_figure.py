"""The figure of a scene fit: real images beside scenes rendered from the fit, and the numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["fit_figure"]


def _show(ax, image, title: str) -> None:
    x = np.asarray(image, float)
    lo, hi = np.percentile(x, [0.5, 99.8])
    ax.imshow(x, cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.set_axis_off()


def fit_figure(
    real: Sequence[np.ndarray],
    real_names: Sequence[str],
    synthetic: Sequence[np.ndarray],
    summary: Sequence[dict],
    *,
    pixel_size_nm: float,
) -> Figure:
    """Top row real, bottom row fitted synthetic (each shown at its own 0.5-99.8 %), and a
    table of the statistics' medians, real against synthetic.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    n = max(1, min(len(real), len(synthetic), 6))
    fig = Figure(figsize=(2.2 * n, 6.4), layout="constrained")
    grid = fig.add_gridspec(3, n, height_ratios=[1, 1, 0.8])
    for k in range(n):
        _show(fig.add_subplot(grid[0, k]), real[k], f"real: {real_names[k]}")
        _show(fig.add_subplot(grid[1, k]), synthetic[k], f"fitted scene {k}")
    ax = fig.add_subplot(grid[2, :])
    ax.set_axis_off()
    rows = [
        [r["statistic"], f"{r['real']:.3g}", f"{r['synthetic']:.3g}"]
        + [f"{r['ratio']:.2f}" if np.isfinite(r["ratio"]) else ""]
        for r in summary
    ]
    table = ax.table(
        cellText=rows,
        colLabels=["statistic (median)", "real", "synthetic", "synthetic / real"],
        loc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    fig.suptitle(
        f"scene fit: real (top) and fitted synthetic (bottom), {pixel_size_nm:.0f} nm pixels; "
        "each image at its own 0.5-99.8 % range",
        fontsize=9,
    )
    return fig
