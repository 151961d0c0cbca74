"""The simulated-user figure: mIoU against the number of clicks, one curve per clicker."""

from __future__ import annotations

__all__ = ["plot_click_curves"]


def plot_click_curves(curves, *, thresholds=(0.85, 0.90, 0.95), title: str | None = None):
    """mIoU (mean over images or objects) against clicks, one panel per scope and one curve
    per clicker; the NoC thresholds as dotted lines.

    Parameters
    ----------
    curves : DataFrame with scope, clicker, clicks, miou (`segtrain.summarize_traces`)

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    scopes = list(dict.fromkeys(curves["scope"]))
    fig = Figure(figsize=(5 * len(scopes), 3.8), layout="constrained")
    axes = fig.subplots(1, len(scopes), squeeze=False)[0]
    for ax, scope in zip(axes, scopes, strict=True):
        t = curves[curves["scope"] == scope]
        for clicker, g in t.groupby("clicker", sort=False):
            g = g.sort_values("clicks")
            ax.plot(g["clicks"], g["miou"], marker="o", ms=3, label=f"{clicker} clicker")
        for th in thresholds:
            ax.axhline(th, ls=":", lw=0.8, color="0.5")
        ax.set_xlabel("clicks")
        ax.set_ylabel("mIoU (foreground)")
        ax.set_title(f"{scope} scope")
        lo = float(t["miou"].min()) if len(t) else 0.0
        ax.set_ylim(max(0.0, min(lo, 0.8) - 0.05), 1.0)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
