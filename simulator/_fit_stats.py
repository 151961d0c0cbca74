"""What a field of view of mitochondria looks like, in numbers a scene generator can match.

The same measurements run on real images and on rendered ones, so a scene is fitted by
making the two agree (:mod:`._fit`), not by trusting any one estimator to be unbiased.

Per image, in the image's own units (any export):

- ``offset``: the dark level (2nd percentile of a 1 um median-filtered image);
- ``noise``: the pixel noise std (robust, from horizontal differences; line noise cancels);
- ``line_noise``: the std of per-row offsets over the noise (background pixels of each row);
- a **classical mask** of tubules: a white top-hat (grey opening by a disk of 600 nm removes
  everything narrower), smoothed by a fifth of the PSF width, kept where it exceeds half of its
  local peak (within the apparent width: the visible rule) when that peak exceeds 10 robust
  stds of the smoothed top-hat (its median absolute deviation: real noise is often
  correlated), so the width does not shrink with the signal; components of at least a PSF's
  area;
- ``foreground``: that mask's share of the image; ``length_per_um2``: its skeleton length per
  um^2 of field; ``width_nm``: its area over its skeleton length (a tube's width);
- ``signal``: the median top-hat along the skeleton in noise stds;
- ``haze``: the median local background over the offset where a cell is (background more
  than 3 noise stds above the offset), in noise stds; ``cell_fraction``: that area's share;
- ``low_level`` and ``high_level``: the image's minimum and maximum.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage as ndi

__all__ = ["FieldStats", "field_stats", "classical_mask"]


@dataclass(frozen=True)
class FieldStats:
    """The numbers of one field of view (see the module's text)."""

    offset: float
    noise: float
    line_noise: float
    foreground: float
    length_per_um2: float
    width_nm: float
    signal: float
    haze: float
    cell_fraction: float
    low_level: float
    high_level: float

    def as_dict(self) -> dict:
        return {k: float(v) for k, v in asdict(self).items()}


def _disk(radius_px: float) -> np.ndarray:
    r = max(1, int(round(radius_px)))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return xx**2 + yy**2 <= radius_px**2 + 1e-9


def _noise(x: np.ndarray) -> float:
    d = np.diff(x, axis=1).ravel()
    sigma = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(2.0)
    return max(sigma, 1.0 / np.sqrt(12.0))  # at least the quantisation noise of integers


def classical_mask(
    image: np.ndarray, *, pixel_size_nm: float, fwhm_nm: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Tubules by the visible rule, without a model (see the module's text).

    Returns
    -------
    mask : (H, W) ndarray of bool
    tophat : (H, W) ndarray of float, the smoothed top-hat
    noise : float, the pixel noise std
    """
    x = np.asarray(image, np.float64)
    a = pixel_size_nm
    noise = _noise(x)
    opened = ndi.grey_opening(x, footprint=_disk(600.0 / a))
    sg = max(0.2 * fwhm_nm / a, 0.5)
    top = ndi.gaussian_filter(x - opened, sg)
    # the spread of the smoothed top-hat itself (real noise is often correlated between
    # neighbouring pixels, so the white-noise formula would be too low)
    noise_s = 1.4826 * float(np.median(np.abs(top - np.median(top))))
    noise_s = max(noise_s, noise / (2.0 * np.sqrt(np.pi) * sg))
    peak = ndi.maximum_filter(top, footprint=_disk(max(fwhm_nm, 300.0) / a))
    # one level of an integer image is no signal (a flat quantised background)
    step = 1.0 if np.issubdtype(np.asarray(image).dtype, np.integer) else 0.0
    # half of a significant local peak: the width does not shrink with the signal's level
    mask = (top >= 0.5 * peak) & (peak >= max(10.0 * noise_s, 3 * step))
    mask &= top >= max(2.0 * noise_s, 1.5 * step)
    # components: at least a PSF's area, and a peak well above the noise (no speckles)
    labels, n = ndi.label(mask)
    if n:
        sizes = np.bincount(labels.ravel())
        peaks = np.asarray(ndi.maximum(top, labels, np.arange(n + 1)))
        keep = (sizes >= max(6.0, (fwhm_nm / a) ** 2)) & (peaks >= max(10.0 * noise_s, 3 * step))
        keep[0] = False
        mask = keep[labels]
    return mask, top, noise


def field_stats(image: np.ndarray, *, pixel_size_nm: float, fwhm_nm: float) -> FieldStats:
    """Measure one 2D image (any dtype; RGB must be made grey first).

    Parameters
    ----------
    image : (H, W) ndarray
    pixel_size_nm : float
    fwhm_nm : float, the PSF's half-maximum width (sets the smoothing and the local peak)

    Returns
    -------
    FieldStats
    """
    from skimage.morphology import skeletonize

    x = np.asarray(image, np.float64)
    a = pixel_size_nm
    mask, top, noise = classical_mask(x, pixel_size_nm=a, fwhm_nm=fwhm_nm)
    # the dark level and the local background (haze) from a 1 um median
    size = max(3, int(round(1000.0 / a)) | 1)
    back = ndi.median_filter(x, size=size)
    offset = float(np.percentile(back, 2))
    cells = back - offset > 3.0 * noise
    # line noise: per-row offsets over the background pixels (off cells and tubules)
    resid = x - ndi.median_filter(x, size=(7, 1))  # keeps what changes from row to row
    off = ~cells & ~ndi.binary_dilation(mask, iterations=2)
    counts = off.sum(axis=1)
    good = counts >= max(8, x.shape[1] // 8)
    if good.sum() >= 8:
        rows = (resid * off).sum(axis=1)[good] / counts[good]
        spread = float(np.var(rows)) - float(np.mean(noise**2 / counts[good]))
        line = max(spread, 0.0) ** 0.5 / noise
    else:
        line = 0.0
    if mask.any():
        skel = skeletonize(mask)
        length_um = _skeleton_length_px(skel) * a / 1000.0
        # the mean width of tubes: their area over their length
        width = float(mask.sum()) * a / max(length_um * 1000.0 / a, 1.0)
        signal = float(np.median(top[skel])) / noise if skel.any() else 0.0
    else:
        length_um, width, signal = 0.0, 0.0, 0.0
    haze = float(np.median(back[cells] - offset)) / noise if cells.any() else 0.0
    area_um2 = x.size * (a / 1000.0) ** 2
    return FieldStats(
        offset=offset,
        noise=noise,
        line_noise=line,
        foreground=float(mask.mean()),
        length_per_um2=length_um / area_um2,
        width_nm=width,
        signal=signal,
        haze=haze,
        cell_fraction=float(cells.mean()),
        low_level=float(x.min()),
        high_level=float(x.max()),
    )


def _skeleton_length_px(skel: np.ndarray) -> float:
    """Length of a 2D skeleton in pixels: its 4-neighbour steps count 1, diagonal ones sqrt 2
    (each pair once)."""
    s = skel.astype(bool)
    straight = np.sum(s[:, 1:] & s[:, :-1]) + np.sum(s[1:, :] & s[:-1, :])
    diag = np.sum(s[1:, 1:] & s[:-1, :-1]) + np.sum(s[1:, :-1] & s[:-1, 1:])
    # a pixel alone still has a length of one pixel
    return float(straight + np.sqrt(2.0) * diag) + _isolated(s)


def _isolated(s: np.ndarray) -> float:
    n = ndi.convolve(s.astype(int), np.ones((3, 3), int), mode="constant") - s
    return float(np.sum(s & (n == 0)))
