"""A network's input from a raw image: each channel mapped to its percentiles, checked against
the channels the network takes (the one place the image-channel check lives)."""

from __future__ import annotations

import numpy as np

from shapelib import InputError

from ._clicks import image_channels

__all__ = ["normalize_channels", "normalize_percentile", "prepare_image"]


def normalize_percentile(
    image: np.ndarray, *, low: float = 1.0, high: float = 99.0, eps: float = 1e-6
) -> np.ndarray:
    """Map the image's `low` and `high` percentiles to 0 and 1 (no clipping).

    Parameters
    ----------
    image : (Y, X) ndarray, any real dtype
    low, high : float, percentiles in [0, 100]

    Returns
    -------
    (Y, X) ndarray of float32
    """
    image = np.asarray(image, dtype=np.float32)
    lo, hi = np.percentile(image, [low, high])
    return ((image - lo) / max(float(hi - lo), eps)).astype(np.float32)


def normalize_channels(x: np.ndarray, percentiles=(1.0, 99.0)) -> np.ndarray:
    """Each channel of a (C, Y, X) array mapped to its `percentiles` (`normalize_percentile`);
    float32 (C, Y, X)."""
    low, high = percentiles
    return np.stack([normalize_percentile(c, low=low, high=high) for c in x])


def prepare_image(net, image: np.ndarray, *, normalize=(1.0, 99.0), where: str = "image"):
    """The normalised image channels (C, Y, X) float32 of a raw image, checked against the
    network's image channels (a grey/RGB or 2.5D mismatch is a one-line error).

    A 2D image is one channel; a 3D array is (C, Y, X). Each channel is mapped to its
    `normalize` percentiles (None: used as given)."""
    image = np.asarray(image)
    want = image_channels(net)
    got = 1 if image.ndim == 2 else image.shape[0] if image.ndim == 3 else None
    if got != want:
        what = f"{got} channel(s)" if got is not None else f"{image.ndim} dimensions"
        grey = "2D grey images (convert RGB to grey, or split a stack into slices)"
        fix = grey if want == 1 else f"({want}, Y, X) images"
        raise InputError(
            f"{where} has shape {image.shape} ({what}), but the run's {type(net).__name__} takes "
            f"{want} image channel(s): pass {fix}."
        )
    x = image[None] if image.ndim == 2 else image
    return np.asarray(normalize_channels(x, normalize) if normalize else x, np.float32)
