"""Fit a camera (gain, offset, read noise, fixed pattern, background subtraction) to one image.

The noise is read from the image's flat patches (second differences, blind to smooth
intensity changes) as a mean-variance curve. A Poisson-Gaussian camera gives
``variance = gain * max(mean - offset, 0) + read variance``, a line with a sharp knee at the
offset. Real sCMOS images bend instead (the MCC13 image: flat at 14-16 ADU^2 from 73 to 80
ADU, then steeper than the gain until about 100 ADU): their dark level varies over the sensor
(the offset is a field, not a number), so the flat part spans the range of dark levels and the
knee is smeared over it; and inside the cells the variance exceeds what the mean gives by
about ``gain * 8 ADU``, as when the acquisition software has subtracted a background of a few
electrons from every lit pixel (its shot noise stays). The extended model fits both:
``variance = read + gain * E[max(mean - o, 0)] + gain * delta * P(mean > o + delta)`` with the
offset ``o`` spread normally around its mean (the knee's width).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

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
        Gain, offset and read noise fitted, and (extended model) the offset field, row and
        column offsets and the subtracted background; background photons 0 (the offset holds
        the dark level).
    curve : MeanVariance
        The binned points the model was fitted to.
    relative_residuals : (B,) ndarray of float
        ``model / measured - 1`` per bin of ``curve``.
    curve_fit : dict
        The curve's model (``gain``, ``offset``, ``knee_width``, ``read_variance``,
        ``delta``, ADU units) that ``relative_residuals`` and :meth:`model_variance` use.
        With the extended model it describes the mixture of dark and lit patches at the knee
        (its ``offset`` is the knee's centre), while ``camera`` holds what was measured on the
        dark patches (offset, its field, rows, columns) and on the lit ones (gain, subtracted
        background) separately.
    """

    camera: PhysicalCamera
    curve: MeanVariance
    relative_residuals: np.ndarray
    curve_fit: dict = field(default_factory=dict)

    def model_variance(self, mean_adu) -> np.ndarray:
        """Variance (ADU^2) of the curve's fitted model at ``mean_adu``."""
        f = self.curve_fit
        return _curve_model(np.asarray(mean_adu, float), f["gain"], f["offset"],
                            f["knee_width"], f["read_variance"], f["delta"])  # fmt: skip


def _curve_model(m, gain, offset, width, read_var, delta):
    """Expected patch variance at mean ``m``: the knee smeared by a normal offset spread."""
    from scipy.stats import norm

    if width <= 1e-6:
        lit = np.maximum(m - offset, 0.0)
        return read_var + gain * lit + gain * delta * (m > offset + delta)
    u = (m - offset) / width
    lit = width * (u * norm.cdf(u) + norm.pdf(u))  # E[max(m - o, 0)], o ~ N(offset, width^2)
    return read_var + gain * lit + gain * delta * norm.cdf(u - delta / width)


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
    model: Literal["extended", "poisson-gaussian"] = "extended",
) -> CameraCalibration:
    """Fit a camera to the mean-variance curve of one image.

    ``poisson-gaussian``: ``variance = gain * max(mean - offset, 0) + (gain * read_noise)^2``
    (ADU^2, ADU); above the offset photons add shot noise (slope = gain, ADU per electron),
    below it only read noise remains. ``extended`` (default) adds the offset's spread over the
    sensor (the knee's width), the background subtracted by the acquisition software, and
    measures the offset field, row and column offsets from the dark patches (see the module's
    text). Parameters are fitted by least squares on the relative residuals.

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
    model : {"extended", "poisson-gaussian"}

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

    if model not in ("extended", "poisson-gaussian"):
        raise InputError(f"model must be 'extended' or 'poisson-gaussian'; got {model!r}.")
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
    spread = float(m.max() - m.min())

    def plain(p):
        gain, offset, read_var = p
        return (gain * np.maximum(m - offset, 0) + read_var) / v - 1

    fit = least_squares(
        plain,
        [slope0, float(m.min()), float(v.min())],
        bounds=([1e-6, m.min() - spread, 0.0], [np.inf, m.max(), np.inf]),
    )
    gain, offset, read_var = (float(x) for x in fit.x)
    width, delta, residuals = 0.0, 0.0, plain(fit.x)
    if model == "extended":

        def extended(p):
            return _curve_model(m, *p) / v - 1

        lo = [1e-6, m.min() - spread, 1e-3, 0.0, 0.0]
        hi = [np.inf, m.max(), spread, np.inf, spread]
        best = fit
        for knee, sub in ((0.02, 0.0), (0.02, 0.05), (0.05, 0.1)):  # a few starts
            p0 = [gain, offset - sub * spread, max(knee * spread, 0.5), read_var, sub * spread]
            ext = least_squares(extended, np.clip(p0, lo, hi), bounds=(lo, hi))
            if ext.cost < best.cost:
                best = ext
        # the knee terms only where the data demand them: the line misses by > 5% somewhere
        # and the extended model halves the misfit
        if np.abs(residuals).max() > 0.05 and best.cost < 0.5 * fit.cost:
            gain, offset, width, read_var, delta = (float(x) for x in best.x)
            residuals = extended(best.x)
    curve_fit = {"gain": gain, "offset": offset, "knee_width": width, "read_variance": read_var,
                 "delta": delta}  # fmt: skip
    sensor = {"gain_adu_per_e": gain, "offset_adu": offset, "subtracted_background_e": 0.0}
    if model == "extended":
        sensor.update(_measure_sensor(image, patch_px, read_var, knee=width > 0))
    seen = 0.5 * (sensor.get("row_offset_std_adu", 0.0) ** 2
                  + sensor.get("column_offset_std_adu", 0.0) ** 2)  # fmt: skip
    g = sensor["gain_adu_per_e"]
    camera = PhysicalCamera(
        quantum_efficiency=quantum_efficiency,
        read_noise_e=float(np.sqrt(max(read_var - seen, 0.0)) / g),
        bit_depth=bit_depth,
        background_photons=0.0,
        dark_e=0.0,
        **{**sensor, "offset_adu": max(sensor["offset_adu"], 0.0)},
    )
    logger.info("camera fit: %s; curve %s", camera, curve_fit)
    return CameraCalibration(camera=camera, curve=curve, relative_residuals=residuals,
                             curve_fit=curve_fit)  # fmt: skip


def _flat_patches(image, patch_px: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means, noise variances and (row, column) patch indices of the flat patches."""
    means, noise, total = _patch_stats(image, patch_px)
    nx = np.asarray(image).shape[1] // patch_px
    flat = np.flatnonzero((noise > 0) & (total <= 1.5 * noise))
    return means[flat], noise[flat], np.c_[np.divmod(flat, nx)]


def _measure_sensor(image, patch_px: int, read_var: float, *, knee: bool) -> dict:
    """What the dark and the lit patches say about the sensor, separately.

    Dark patches (noise within 30% of the read variance): their
    median mean is the offset; the spread of their means less the noise of a mean is the
    offset field's std, its length the lag where their variogram reaches 1 - 1/e of its far
    value (two lengths for a Gaussian field); the spread of row (column) means inside them less
    white noise gives the row (column) offsets. Lit patches (noise above twice the read
    variance): ``variance - read = gain (mean - offset) + gain delta``, a line whose slope is
    the gain and whose intercept the background the software subtracted (``delta``, fitted
    only where the knee showed, ``knee``).
    """
    x = np.asarray(image, float)
    means, noise, where = _flat_patches(x, patch_px)
    dark = noise < 1.3 * read_var
    out: dict = {}
    if dark.sum() < 20:
        return out
    p2 = patch_px**2
    n_dark = int(dark.sum())
    offset = float(np.median(means[dark]))
    out["offset_adu"] = offset
    field_var = float(np.var(means[dark]) - read_var / p2)
    if field_var > 3 * np.sqrt(2 / n_dark) * read_var / p2:  # beyond the noise of the means
        out["offset_field_std_adu"] = float(np.sqrt(field_var))
        iy, ix = where[dark, 0], where[dark, 1]
        sel = np.random.default_rng(0).permutation(len(iy))[:2000]  # pairs of <= 2000 patches
        iy, ix, mm = iy[sel], ix[sel], means[dark][sel]
        d = np.hypot(iy[:, None] - iy[None, :], ix[:, None] - ix[None, :]) * patch_px
        g = 0.5 * (mm[:, None] - mm[None, :]) ** 2
        lags = np.arange(1, max(2, min(x.shape) // patch_px // 2)) * patch_px
        gamma = np.asarray(
            [
                g[ring].mean() if ring.any() else np.nan
                for ring in ((d >= lag - patch_px / 2) & (d < lag + patch_px / 2) for lag in lags)
            ]
        )
        far = np.nanmean(gamma[-max(1, len(gamma) // 4) :])
        reach = np.flatnonzero(gamma >= (1 - np.exp(-1)) * far)
        if len(reach):
            out["offset_field_scale_px"] = float(max(lags[reach[0]] / 2, patch_px / 2))
    ny, nx = (s // patch_px for s in x.shape)
    t = x[: ny * patch_px, : nx * patch_px].reshape(ny, patch_px, nx, patch_px).swapaxes(1, 2)
    t = t[where[dark, 0], where[dark, 1]]
    t = t - t.mean(axis=(1, 2), keepdims=True)
    white = read_var / patch_px
    significant = 3 * np.sqrt(2 / (n_dark * patch_px)) * white  # 3 standard errors
    for name, axis in (("row_offset_std_adu", 2), ("column_offset_std_adu", 1)):
        excess = float(np.var(t.mean(axis=axis)) * patch_px / (patch_px - 1) - white)
        if excess > significant:
            out[name] = float(np.sqrt(excess))
    # lit patches: the photon transfer line above the dark level
    lit = noise > 2 * read_var
    if lit.sum() >= 20:
        m, v = means[lit] - offset, noise[lit] - read_var
        edges = np.quantile(m, np.linspace(0, 1, 13))
        idx = np.clip(np.searchsorted(edges, m, side="right") - 1, 0, 11)
        bm = np.array([np.median(m[idx == b]) for b in range(12) if (idx == b).any()])
        bv = np.array([np.median(v[idx == b]) for b in range(12) if (idx == b).any()])
        design = np.c_[bm, np.ones_like(bm)] / bv[:, None]  # relative least squares
        (gain, icpt), *_ = np.linalg.lstsq(design, np.ones_like(bv), rcond=None)
        if not knee or icpt < 0:
            gain = float(np.linalg.lstsq((bm / bv)[:, None], np.ones_like(bv), rcond=None)[0][0])
            icpt = 0.0
        if gain > 0:
            out["gain_adu_per_e"] = float(gain)
            out["subtracted_background_e"] = float(icpt / gain**2)  # ADU^2 -> ADU -> e-
    return out
