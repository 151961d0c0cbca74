"""A network's input from a raw image: each channel mapped to its percentiles, checked against
the channels the network takes (the one place the image-channel check lives)."""

from __future__ import annotations

import numpy as np

from shapelib import InputError

from ._clicks import image_channels

__all__ = ["noise_sigma", "normalize_channels", "normalize_percentile", "prepare_image"]


def noise_sigma(image: np.ndarray) -> float:
    """Robust std of the pixel noise: 1.4826 x the median absolute horizontal difference / sqrt 2.

    Differences along rows cancel smooth light and per-row offsets (line noise), and the
    median keeps to the background when objects cover less than half of the image. For
    integer images the answer is at least a quantisation step's noise (1 / sqrt 12).
    """
    x = np.asarray(image, dtype=np.float64)
    d = np.diff(x, axis=-1).ravel()
    if d.size == 0:
        return 0.0
    sigma = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(2.0)
    if np.issubdtype(np.asarray(image).dtype, np.integer):
        sigma = max(sigma, 1.0 / np.sqrt(12.0))
    return sigma


def normalize_percentile(
    image: np.ndarray,
    *,
    low: float = 1.0,
    high: float = 99.0,
    min_range_sigmas: float = 0.0,
    eps: float = 1e-6,
) -> np.ndarray:
    """Map the image's `low` and `high` percentiles to 0 and 1 (no clipping).

    With ``min_range_sigmas`` > 0 the mapped range is at least that many noise stds
    (:func:`noise_sigma`): an image of pure noise is not stretched to the full range (it
    stays near 0, as it would beside bright objects), whatever contrast stretch it was
    exported with (the mapping is the same for ``a x + b``).

    Parameters
    ----------
    image : (Y, X) ndarray, any real dtype
    low, high : float, percentiles in [0, 100]
    min_range_sigmas : float, the least range in noise stds (0: plain percentiles)

    Returns
    -------
    (Y, X) ndarray of float32
    """
    raw = image
    image = np.asarray(image, dtype=np.float32)
    lo, hi = (float(v) for v in np.percentile(image, [low, high]))
    if min_range_sigmas > 0:
        hi = max(hi, lo + min_range_sigmas * noise_sigma(raw))
    return ((image - lo) / max(hi - lo, eps)).astype(np.float32)


def normalize_channels(x: np.ndarray, percentiles=(1.0, 99.0)) -> np.ndarray:
    """Each channel of a (C, Y, X) array normalised by the run's normalisation: `percentiles`
    is (low, high) or (low, high, min_range_sigmas) (`normalize_percentile`); float32."""
    low, high = percentiles[0], percentiles[1]
    floor = float(percentiles[2]) if len(percentiles) > 2 else 0.0
    return np.stack(
        [normalize_percentile(c, low=low, high=high, min_range_sigmas=floor) for c in x]
    )


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
