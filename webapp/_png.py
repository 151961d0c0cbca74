"""Arrays to PNG bytes for the browser: display only (contrast, colours), never measurement.

The data the user downloads (TIFF masks, CSV tables, the library's own files) is written by
the libraries' owners; these PNGs are pictures of it.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "UNCERTAINTY_VMAX",
    "grey_png",
    "heat_png",
    "labels_png",
    "mask_png",
    "overlay_png",
    "plane",
]

# The uncertainty map's fixed top: the largest standard deviation probabilities in [0, 1] can
# have. One scale for every state of every image, so a redrawn window matches the rest and the
# suggested clicks' scores read on the map.
UNCERTAINTY_VMAX = 0.5


def _encode(arr: np.ndarray) -> bytes:
    import imagecodecs

    return bytes(imagecodecs.png_encode(np.ascontiguousarray(arr), level=3))


def plane(arr: np.ndarray) -> np.ndarray:
    """A 2D picture of an image or stack: the array itself, or a stack's middle plane."""
    arr = np.asarray(arr)
    while arr.ndim > 2:
        arr = arr[arr.shape[0] // 2]
    return arr


def grey_png(image: np.ndarray, *, low: float = 0.5, high: float = 99.8) -> bytes:
    """8-bit grey PNG, the `low` and `high` percentiles stretched to black and white."""
    from segtrain import normalize_percentile

    x = normalize_percentile(plane(image).astype(np.float32), low=low, high=high)
    return _encode((np.clip(x, 0, 1) * 255).round().astype(np.uint8))


def mask_png(mask: np.ndarray) -> bytes:
    """8-bit PNG of a mask: white where set, black elsewhere."""
    return _encode(np.where(plane(mask) > 0, 255, 0).astype(np.uint8))


def overlay_png(
    mask: np.ndarray, instances: np.ndarray | None = None, *, rgb=(0, 210, 255), alpha: int = 120
) -> bytes:
    """RGBA PNG: `rgb` at opacity `alpha` where the mask is set, transparent elsewhere; objects
    with a label of their own (`instances` > 0: committed, merged) in orange."""
    m = plane(mask) > 0
    out = np.zeros((*m.shape, 4), np.uint8)
    out[m] = (*rgb, alpha)
    if instances is not None:
        out[m & (plane(instances) > 0)] = (255, 150, 0, alpha + 20)
    return _encode(out)


def labels_png(labels: np.ndarray) -> bytes:
    """RGB PNG of instance ids: a distinct colour per id (golden-ratio hues), black background."""
    from matplotlib.colors import hsv_to_rgb

    lab = plane(labels).astype(np.int64)
    ids = np.unique(lab[lab > 0])
    lut = np.zeros((int(ids.max(initial=0)) + 1, 3), np.uint8)
    if ids.size:
        hues = (ids * 0.6180339887) % 1.0
        hsv = np.stack([hues, np.full_like(hues, 0.7), np.full_like(hues, 0.95)], axis=1)
        lut[ids] = (hsv_to_rgb(hsv) * 255).round().astype(np.uint8)
    return _encode(lut[lab])


def heat_png(values: np.ndarray, *, vmax: float | None = None, sqrt: bool = True) -> bytes:
    """RGB PNG of a non-negative map (uncertainty), 0 -> dark, `vmax` (default: max) -> bright,
    on a square-root scale (`sqrt`: small values stay visible under a fixed top)."""
    v = plane(values).astype(np.float32)
    top = float(vmax) if vmax is not None else float(v.max(initial=0.0))
    x = np.clip(v / top, 0, 1) if top > 0 else np.zeros_like(v)
    if sqrt:
        np.sqrt(x, out=x)
    return _encode(_magma()[(x * 255).round().astype(np.uint8)])


def _magma() -> np.ndarray:
    """matplotlib's magma as a (256, 3) uint8 table (a table look-up, not a float colormap)."""
    global _MAGMA
    if _MAGMA is None:
        from matplotlib import colormaps

        rgb = colormaps["magma"](np.linspace(0, 1, 256))[:, :3]
        _MAGMA = (rgb * 255).round().astype(np.uint8)
    return _MAGMA


_MAGMA: np.ndarray | None = None
