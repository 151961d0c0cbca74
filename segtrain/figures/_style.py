"""What the image figures share: axes in um (or px when the scale is unknown), a scale bar,
the heatmap colours and one colour per shape class."""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "CLASS_COLORS",
    "HEAT_CMAP",
    "add_scale_bar",
    "nice_length",
    "show_image",
    "show_mask_outline",
]

# One colour per class of `segtrain.QuantifyParams` (colour-blind-safe Okabe-Ito hues).
CLASS_COLORS = {
    "round": "#0072B2",
    "elongated": "#E69F00",
    "tubular": "#009E73",
    "fragmented": "#D55E00",
    "irregular": "#CC79A7",
}
HEAT_CMAP = "inferno"


def nice_length(span: float) -> float:
    """A round bar length (1, 2 or 5 x 10^k) of about a fifth of `span`."""
    if not span > 0:
        return 1.0
    target = span / 5
    k = math.floor(math.log10(target))
    for m in (5, 2, 1):
        if m * 10**k <= target:
            return float(m * 10**k)
    return float(10**k)


def _units(pixel_size_nm: float | None) -> tuple[float, str]:
    """(length of one pixel in the axis unit, unit name)."""
    return (pixel_size_nm / 1000.0, "µm") if pixel_size_nm else (1.0, "px")


def add_scale_bar(ax, width: float, unit: str) -> None:
    """A white bar with its length on a dark box, bottom right, in the axes' data units."""
    from matplotlib.font_manager import FontProperties
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    length = nice_length(width)
    label = f"{length:g} {unit}"
    bar = AnchoredSizeBar(
        ax.transData,
        length,
        label,
        "lower right",
        pad=0.3,
        borderpad=0.4,
        color="white",
        frameon=True,
        size_vertical=width / 120,
        fontproperties=FontProperties(size=9, weight="bold"),
    )
    bar.patch.set(facecolor="black", alpha=0.55, edgecolor="none")
    ax.add_artist(bar)


def show_image(ax, image: np.ndarray, *, pixel_size_nm: float | None, title: str, **kw):
    """``imshow`` on axes in um (px without a pixel size), labelled, with a scale bar.

    Greyscale images are shown between their 1st and 99th percentiles unless `kw` says
    otherwise; `kw` goes to ``imshow``.
    """
    image = np.asarray(image)
    px, unit = _units(pixel_size_nm)
    h, w = image.shape[:2]
    if image.ndim == 2 and "vmin" not in kw and image.dtype != bool:
        lo, hi = np.percentile(image, [1, 99])
        kw = {"vmin": lo, "vmax": hi if hi > lo else lo + 1, **kw}
    kw.setdefault("cmap", "gray")
    im = ax.imshow(image, extent=(0, w * px, h * px, 0), interpolation="nearest", **kw)
    ax.set_xlabel(f"x ({unit})")
    ax.set_ylabel(f"y ({unit})")
    ax.set_title(title)
    add_scale_bar(ax, w * px, unit)
    return im


def show_mask_outline(ax, mask: np.ndarray, *, pixel_size_nm: float | None, color: str) -> None:
    """Draw the outline of a mask's foreground on axes set up by `show_image`."""
    from skimage.measure import find_contours

    px, _ = _units(pixel_size_nm)
    m = np.pad(np.asarray(mask) > 0, 1).astype(float)
    for c in find_contours(m, 0.5):
        # (row, col) of the padded grid -> pixel-edge coordinates in axis units.
        ax.plot((c[:, 1] - 0.5) * px, (c[:, 0] - 0.5) * px, color=color, lw=1.0)
