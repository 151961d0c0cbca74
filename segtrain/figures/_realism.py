"""The realism figure: mean-variance curves and intensity histograms, synthetic beside real."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from shapelib import InputError

__all__ = ["mosaic", "plot_realism"]


def mosaic(images: Sequence[np.ndarray], *, max_tiles: int = 16) -> np.ndarray:
    """Up to ``max_tiles`` images (middle planes of stacks) side by side in a square grid."""
    planes = [np.asarray(im, float) for im in images[:max_tiles]]
    planes = [p[p.shape[0] // 2] if p.ndim == 3 else p for p in planes]
    side = min(min(p.shape) for p in planes)
    cols = int(np.ceil(np.sqrt(len(planes))))
    rows = int(np.ceil(len(planes) / cols))
    out = np.full((rows * side, cols * side), np.nan)
    for k, p in enumerate(planes):
        r, c = divmod(k, cols)
        out[r * side : (r + 1) * side, c * side : (c + 1) * side] = p[:side, :side]
    fill = np.nanmedian(out)
    return np.where(np.isnan(out), fill, out)


def plot_realism(
    real: np.ndarray,
    synthetic: Mapping[str, Sequence[np.ndarray]],
    *,
    aucs: Mapping[str, float] | None = None,
    patch_px: int = 16,
):
    """Mean-variance curves (flat patches) and intensity histograms of each set beside the real.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    from simulator import mean_variance

    fig = Figure(figsize=(11, 4.4), layout="constrained")
    ax_mv, ax_h = fig.subplots(1, 2)
    sets = {"real": [np.asarray(real)], **{k: list(v) for k, v in synthetic.items()}}
    hi = max(float(np.percentile(mosaic(v), 99.9)) for v in sets.values())
    lo = min(float(np.percentile(mosaic(v), 0.1)) for v in sets.values())
    bins = np.linspace(lo, hi, 120)
    for name, images in sets.items():
        img = mosaic(images)
        label = name if not aucs or name not in aucs else f"{name} (AUC {aucs[name]:.2f})"
        style = {"color": "black", "lw": 2.2} if name == "real" else {"lw": 1.4}
        try:
            mv = mean_variance(img, patch_px=patch_px)
            ax_mv.plot(mv.mean_adu, mv.variance_adu2, marker="o", ms=3, label=label, **style)
        except InputError:
            ax_mv.plot([], [], label=f"{label}: too few flat patches", **style)
        counts, edges = np.histogram(img, bins=bins, density=True)
        ax_h.step(edges[:-1], np.maximum(counts, 1e-12), where="post", label=label, **style)
    ax_mv.set(
        xscale="log",
        yscale="log",
        xlabel="patch mean (ADU)",
        ylabel="noise variance (ADU$^2$)",
        title="mean-variance (flat patches)",
    )
    ax_h.set(yscale="log", xlabel="intensity (ADU)", ylabel="density", title="intensity histogram")
    ax_h.set_ylim(bottom=1e-7)
    for ax in (ax_mv, ax_h):
        ax.legend(fontsize=7)
    return fig
