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
