"""Camera noise, applied last: a Poisson-Gaussian camera, or the 3DMSL rescale-then-Poisson."""

from __future__ import annotations

import numpy as np

from ._config import Camera, PhysicalCamera, ThreeDMSLCamera

__all__ = ["apply_camera", "fixed_pattern_adu"]


def apply_camera(
    photons: np.ndarray, camera: Camera, *, rng: int | np.random.Generator | None = None
) -> np.ndarray:
    """Turn expected photons per pixel into a noisy digital image.

    Parameters
    ----------
    photons : (..., H, W) ndarray of float
        Expected photons reaching each pixel (before quantum efficiency).
    camera : PhysicalCamera or ThreeDMSLCamera
        :class:`PhysicalCamera`: electrons = Poisson(QE (photons + background) + dark) +
        Normal(0, read noise), less ``min(QE (photons + background), subtracted_background_e)``
        (the acquisition software's background subtraction); ADU = gain x electrons + offset
        + the fixed pattern (a smooth offset field, row and column offsets: one draw per image,
        shared by the planes of a stack), blurred by ``blur_px`` (per plane), rounded and
        clipped to the bit depth.
        :class:`ThreeDMSLCamera`: each 2D plane is scaled to [offset, maximum] drawn uniformly
        from ``offset_range_adu`` and ``max_range_adu``, then Poisson (3DMSL's noise).
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    image : ndarray of uint16, same shape
    """
    rng = np.random.default_rng(rng)
    x = np.asarray(photons, float)
    top = 2**camera.bit_depth - 1
    if isinstance(camera, ThreeDMSLCamera):
        planes = x.reshape(-1, *x.shape[-2:])
        out = np.empty(planes.shape, np.float64)
        for k, plane in enumerate(planes):
            lo = rng.uniform(*camera.offset_range_adu)
            hi = rng.uniform(*camera.max_range_adu)
            peak = plane.max()
            norm = plane / peak if peak > 0 else plane
            out[k] = rng.poisson(lo + norm * (hi - lo))
        return np.clip(out, 0, top).reshape(x.shape).astype(np.uint16)
    light = camera.quantum_efficiency * (x + camera.background_photons)
    lam = light + camera.dark_e
    electrons = rng.poisson(lam).astype(float)
    if camera.read_noise_e > 0:
        electrons += rng.normal(0.0, camera.read_noise_e, size=x.shape)
    if camera.subtracted_background_e > 0:
        electrons -= np.minimum(light, camera.subtracted_background_e)
    adu = electrons * camera.gain_adu_per_e + camera.offset_adu
    if _has_pattern(camera):
        adu += fixed_pattern_adu(x.shape[-2:], camera, rng=rng)
    if camera.blur_px > 0:  # each plane on its own
        from scipy.ndimage import gaussian_filter

        sigma = (0,) * (adu.ndim - 2) + (camera.blur_px, camera.blur_px)
        adu = gaussian_filter(adu, sigma, mode="reflect")
    adu = np.rint(adu)
    return np.clip(adu, 0, top).astype(np.uint16)


def _has_pattern(camera: PhysicalCamera) -> bool:
    return bool(
        camera.offset_field_std_adu or camera.row_offset_std_adu or camera.column_offset_std_adu
    )


def fixed_pattern_adu(shape: tuple[int, int], camera: PhysicalCamera, *, rng=None) -> np.ndarray:
    """One draw of the camera's offset pattern (ADU, zero mean): (H, W) float64.

    A stationary Gaussian random field of std ``offset_field_std_adu`` and Gaussian correlation
    length ``offset_field_scale_px`` (made by FFT on a grid padded by two lengths, so the image
    does not repeat), plus per-row and per-column offsets.
    """
    rng = np.random.default_rng(rng)
    ny, nx = shape
    out = np.zeros(shape)
    if camera.offset_field_std_adu > 0:
        ell = camera.offset_field_scale_px
        pad = int(min(2 * ell, 4 * max(ny, nx)))
        gy, gx = ny + 2 * pad, nx + 2 * pad
        fy = np.fft.fftfreq(gy)[:, None]
        fx = np.fft.rfftfreq(gx)[None, :]
        transfer = np.exp(-2 * np.pi**2 * ell**2 * (fy**2 + fx**2))
        white = rng.standard_normal((gy, gx))
        field = np.fft.irfft2(np.fft.rfft2(white) * transfer, s=(gy, gx))[
            pad : -pad or None, pad : -pad or None
        ]
        fx_all = np.fft.fftfreq(gx)[None, :]
        full = np.exp(-2 * np.pi**2 * ell**2 * (fy**2 + fx_all**2))
        std = np.sqrt((full**2).mean())  # of the filtered unit white noise
        out += field * (camera.offset_field_std_adu / std)
    if camera.row_offset_std_adu > 0:
        out += rng.normal(0.0, camera.row_offset_std_adu, (ny, 1))
    if camera.column_offset_std_adu > 0:
        out += rng.normal(0.0, camera.column_offset_std_adu, (1, nx))
    return out
