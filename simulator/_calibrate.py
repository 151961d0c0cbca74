"""Fit a Poisson-Gaussian camera (gain, offset, read noise) from the flat patches of one image."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from shapelib import InputError

from ._config import PhysicalCamera

__all__ = ["MeanVariance", "CameraCalibration", "mean_variance", "calibrate_camera"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeanVariance:
    """Binned noise curve: per intensity bin the mean (ADU) and noise variance (ADU^2)."""

    mean_adu: np.ndarray
    variance_adu2: np.ndarray
    n_patches: np.ndarray


@dataclass(frozen=True)
class CameraCalibration:
    """Result of :func:`calibrate_camera`.

    Attributes
    ----------
    camera : PhysicalCamera
        Gain, offset and read noise fitted; background 0 (the offset holds the dark level).
    curve : MeanVariance
        The binned points the model was fitted to.
    relative_residuals : (B,) ndarray of float
        ``model / measured - 1`` per bin of ``curve``.
    """

    camera: PhysicalCamera
    curve: MeanVariance
    relative_residuals: np.ndarray

    def model_variance(self, mean_adu) -> np.ndarray:
        """Variance (ADU^2) the fitted camera gives at ``mean_adu``."""
        c = self.camera
        photo = c.gain_adu_per_e * np.maximum(np.asarray(mean_adu, float) - c.offset_adu, 0)
        return photo + (c.gain_adu_per_e * c.read_noise_e) ** 2


def _patch_stats(image: np.ndarray, patch_px: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per patch: mean, noise variance (2nd differences, blind to linear trends), total variance."""
    x = np.asarray(image, float)
    if not isinstance(patch_px, (int, np.integer)) or patch_px < 4:
        raise InputError(f"patch side (--patch) must be an integer >= 4 pixels; got {patch_px!r}.")
    if x.ndim != 2:
        raise InputError(f"calibration needs one 2D image (Y, X); got shape {x.shape}")
    ny, nx = (s // patch_px for s in x.shape)
    if ny * nx < 50:
        raise InputError(
            f"image {x.shape} gives only {ny * nx} patches of {patch_px} px; need >= 50. "
            "Use a larger image or a smaller --patch."
        )
    t = x[: ny * patch_px, : nx * patch_px].reshape(ny, patch_px, nx, patch_px).swapaxes(1, 2)
    t = t.reshape(ny * nx, patch_px, patch_px)
    d2x = (t[:, :, :-2] - 2 * t[:, :, 1:-1] + t[:, :, 2:]) / np.sqrt(6.0)
    d2y = (t[:, :-2, :] - 2 * t[:, 1:-1, :] + t[:, 2:, :]) / np.sqrt(6.0)
    noise = 0.5 * ((d2x**2).mean(axis=(1, 2)) + (d2y**2).mean(axis=(1, 2)))
    return t.mean(axis=(1, 2)), noise, t.var(axis=(1, 2))


def mean_variance(image: np.ndarray, *, patch_px: int = 8, n_bins: int = 16) -> MeanVariance:
    """Mean-variance curve of an image from its flat patches.

    A patch is flat when its total variance is at most 1.5x its noise variance (measured from
    second differences, which cancel smooth intensity changes). Flat patches are grouped in
    ``n_bins`` bins of equal count by mean; each bin gives its trimmed-mean mean and variance.
    """
    means, noise, total = _patch_stats(image, patch_px)
    flat = (noise > 0) & (total <= 1.5 * noise)
    if flat.sum() < 2 * n_bins:
        raise InputError(
            f"only {int(flat.sum())} flat patches found (need {2 * n_bins}); the image has too "
            "much structure or no noise. Use an image with background or smooth areas."
        )
    m, v = means[flat], noise[flat]
    edges = np.quantile(m, np.linspace(0, 1, n_bins + 1))
    idx = np.clip(np.searchsorted(edges, m, side="right") - 1, 0, n_bins - 1)
    from scipy.stats import trim_mean

    mm, vv, nn = [], [], []
    for b in range(n_bins):
        sel = idx == b
        if sel.sum() >= 5:  # 10%-trimmed means: robust to a few structured patches
            mm.append(trim_mean(m[sel], 0.1))
            vv.append(trim_mean(v[sel], 0.1))
            nn.append(int(sel.sum()))
    return MeanVariance(np.asarray(mm), np.asarray(vv), np.asarray(nn))


def calibrate_camera(
    image: np.ndarray,
    *,
    patch_px: int = 16,
    n_bins: int = 16,
    quantum_efficiency: float = 0.8,
    bit_depth: int = 16,
) -> CameraCalibration:
    """Fit a Poisson-Gaussian camera to the mean-variance curve of one image.

    Model: ``variance = gain * max(mean - offset, 0) + (gain * read_noise)^2`` (ADU^2, ADU):
    above the offset, photons add shot noise (slope = gain, ADU per electron); below it only
    read noise remains (real images have patches darker than the mean offset: shading, dark
    frames). The three parameters are fitted by least squares on the relative residuals.

    Parameters
    ----------
    image : (Y, X) ndarray of int or float, ADU
    patch_px : int
        Side of the square patches.
    n_bins : int
        Intensity bins of the curve.
    quantum_efficiency : float
        Stored in the returned camera (not identifiable from one image).
    bit_depth : int

    Returns
    -------
    CameraCalibration

    Examples
    --------
    >>> import numpy as np
    >>> from simulator import PhysicalCamera, apply_camera, calibrate_camera
    >>> cam = PhysicalCamera(gain_adu_per_e=2.0, read_noise_e=3.0, background_photons=0)
    >>> flat = np.repeat(np.linspace(0, 400, 512)[None, :], 512, axis=0)
    >>> fit = calibrate_camera(apply_camera(flat, cam, rng=0), patch_px=8)
    >>> round(fit.camera.gain_adu_per_e, 1)
    2.0
    """
    from scipy.optimize import least_squares

    curve = mean_variance(image, patch_px=patch_px, n_bins=n_bins)
    m, v = curve.mean_adu, curve.variance_adu2
    if len(m) < 4:
        raise InputError(
            f"only {len(m)} intensity levels among the flat patches (need 4) to fit the camera; "
            "use an image with a wider range of flat intensities (background and cells)."
        )
    slope0 = np.polyfit(m, v, 1)[0]
    if slope0 <= 0:
        raise InputError(
            f"noise variance does not grow with intensity (slope {slope0:.3g}); the image is "
            "not a raw camera image (denoised, rescaled or saturated?)"
        )

    def residuals(p):
        gain, offset, read_var = p
        return (gain * np.maximum(m - offset, 0) + read_var) / v - 1

    spread = float(m.max() - m.min())
    fit = least_squares(
        residuals,
        [slope0, float(m.min()), float(v.min())],
        bounds=([1e-6, m.min() - spread, 0.0], [np.inf, m.max(), np.inf]),
    )
    gain, offset, read_var = (float(x) for x in fit.x)
    camera = PhysicalCamera(
        quantum_efficiency=quantum_efficiency,
        gain_adu_per_e=gain,
        read_noise_e=float(np.sqrt(read_var) / gain),
        offset_adu=max(offset, 0.0),
        bit_depth=bit_depth,
        background_photons=0.0,
        dark_e=0.0,
    )
    logger.info("camera fit: gain %.3f, offset %.1f, read noise %.2f e-", gain, offset,
                camera.read_noise_e)  # fmt: skip
    return CameraCalibration(camera=camera, curve=curve, relative_residuals=residuals(fit.x))
