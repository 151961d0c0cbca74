"""Contact sheet: images beside their masks, as one RGB array (written as PNG by io)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shapelib import InputError

__all__ = ["contact_sheet"]


def _gray(img: np.ndarray, size: int) -> np.ndarray:
    from skimage.transform import resize

    x = np.asarray(img, float)
    if x.ndim == 3:
        x = x[x.shape[0] // 2]
    lo, hi = np.percentile(x, [0.5, 99.8])
    x = np.clip((x - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    return resize(x, (size, size), order=1, anti_aliasing=True)


def _mask_rgb(mask: np.ndarray, size: int) -> np.ndarray:
    from skimage.transform import resize

    m = np.asarray(mask)
    if m.ndim == 3:
        m = m[m.shape[0] // 2]
    lab = resize(m.astype(float), (size, size), order=0, preserve_range=True).astype(np.int64)
    palette = np.array(
        [[0, 0, 0], [230, 80, 60], [80, 200, 90], [70, 120, 230], [230, 200, 60]]
        + [[200, 90, 210], [70, 210, 210], [240, 150, 60], [160, 160, 160]]
    )
    rgb = palette[np.where(lab > 0, (lab - 1) % (len(palette) - 1) + 1, 0)]
    return rgb.astype(np.uint8)


def contact_sheet(
    images: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    *,
    tile_px: int = 128,
    columns: int = 4,
    gap_px: int = 4,
) -> np.ndarray:
    """Pairs (image | mask) in a grid, ``columns`` pairs per row.

    Parameters
    ----------
    images : sequence of (H, W) or (Z, H, W) arrays (middle plane shown), any dtype
    masks : sequence of (H, W) arrays; 0 background, each object label in its own colour
    tile_px : int
        Side of each tile.

    Returns
    -------
    sheet : (rows * (tile + gap), columns * (2 tile + 2 gap), 3) ndarray of uint8
    """
    if len(images) != len(masks) or not images:
        raise InputError(f"need as many masks as images (>= 1); got {len(images)} and {len(masks)}")
    n = len(images)
    cols = min(columns, n)
    rows = -(-n // cols)
    t, g = tile_px, gap_px
    sheet = np.full((rows * (t + g) + g, cols * (2 * t + 2 * g) + g, 3), 255, np.uint8)
    for k, (img, msk) in enumerate(zip(images, masks, strict=True)):
        r, c = divmod(k, cols)
        y = g + r * (t + g)
        x = g + c * (2 * t + 2 * g)
        sheet[y : y + t, x : x + t] = (255 * _gray(img, t))[..., None].astype(np.uint8)
        sheet[y : y + t, x + t + g : x + 2 * t + g] = _mask_rgb(msk, t)
    return sheet


def _scale_bar_nm(width_nm: float) -> float:
    """A round length (1, 2 or 5 x 10^k nm) near a quarter of ``width_nm``."""
    target = width_nm / 4
    k = np.floor(np.log10(target))
    return float(max((m * 10**k for m in (1, 2, 5) if m * 10**k <= target), default=10**k))


def _length_text(nm: float) -> str:
    return f"{nm / 1000:g} um" if nm >= 1000 else f"{nm:g} nm"


def contact_sheet_figure(
    images: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    *,
    titles: Sequence[str] | None = None,
    pixel_size_nm: float | None = None,
    mask_name: str = "mask",
    instances: bool = False,
    columns: int = 4,
    suptitle: str | None = None,
):
    """Contact sheet as a figure that explains itself: pairs of image | mask, each pair titled
    (shape id and view, or image name), column headers, a scale bar on every image, and a
    footer saying what the colours are.

    Parameters
    ----------
    images : sequence of (H, W) or (Z, H, W) arrays (middle plane shown)
    masks : sequence of (H, W) arrays, 0 background
    titles : one title per pair (e.g. ``"id 3 · x90"``)
    pixel_size_nm : pixel side in nm, for the scale bar (none drawn when None)
    mask_name : what the masks are (``in-focus mask``, ``object labels``)
    instances : True when mask values are object ids (each object its own colour)
    columns : pairs per row
    suptitle : a line above the sheet (the microscope, say)

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    if len(images) != len(masks) or not images:
        raise InputError(f"need as many masks as images (>= 1); got {len(images)} and {len(masks)}")
    n = len(images)
    cols = min(columns, n)
    rows = -(-n // cols)
    fig = Figure(figsize=(2.0 * 2 * cols, 2.2 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, 2 * cols, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for k, (img, msk) in enumerate(zip(images, masks, strict=True)):
        r, c = divmod(k, cols)
        a_img, a_msk = axes[r, 2 * c], axes[r, 2 * c + 1]
        gray = _gray(img, np.asarray(img).shape[-1])
        a_img.imshow(gray, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        a_msk.imshow(_mask_rgb(msk, np.asarray(msk).shape[-1]), interpolation="nearest")
        head = titles[k] if titles is not None else f"image {k}"
        a_img.set_title(f"{head}\nimage", fontsize=8)
        a_msk.set_title(f"{head}\n{mask_name}", fontsize=8)
        if pixel_size_nm:
            w_px = gray.shape[1]
            bar_nm = _scale_bar_nm(w_px * pixel_size_nm)
            bar_px = bar_nm / pixel_size_nm
            y = gray.shape[0] * 0.92
            a_img.plot([w_px * 0.06, w_px * 0.06 + bar_px], [y, y], color="yellow", lw=2.5)
            a_img.text(w_px * 0.06, y - gray.shape[0] * 0.04, _length_text(bar_nm),
                       color="yellow", fontsize=7)  # fmt: skip
    colours = (
        "each colour is one object (ids coloured in turn)"
        if instances
        else "coloured = the object (inside the mask), black = background"
    )
    scale = f"pixel {pixel_size_nm:g} nm; yellow bar: length shown" if pixel_size_nm else ""
    fig.text(0.5, 0.0, f"image: contrast from 0.5 to 99.8 percentile. {mask_name}: {colours}. "
             f"{scale}", ha="center", va="bottom", fontsize=7)  # fmt: skip
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig
