"""Camera noise, applied last: a Poisson-Gaussian camera, or the 3DMSL rescale-then-Poisson."""

from __future__ import annotations

import numpy as np

from ._config import Camera, ThreeDMSLCamera

__all__ = ["apply_camera"]


def apply_camera(photons: np.ndarray, camera: Camera, *, rng=None) -> np.ndarray:
    """Turn expected photons per pixel into a noisy digital image.

    Parameters
    ----------
    photons : (..., H, W) ndarray of float
        Expected photons reaching each pixel (before quantum efficiency).
    camera : PhysicalCamera or ThreeDMSLCamera
        :class:`PhysicalCamera`: electrons = Poisson(QE (photons + background) + dark) +
        Normal(0, read noise); ADU = gain x electrons + offset, rounded and clipped to the bit
        depth. :class:`ThreeDMSLCamera`: each 2D plane is scaled to [offset, maximum] drawn
        uniformly from ``offset_range_adu`` and ``max_range_adu``, then Poisson (3DMSL's noise).
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
    lam = camera.quantum_efficiency * (x + camera.background_photons) + camera.dark_e
    electrons = rng.poisson(lam).astype(float)
    if camera.read_noise_e > 0:
        electrons += rng.normal(0.0, camera.read_noise_e, size=x.shape)
    adu = np.rint(electrons * camera.gain_adu_per_e + camera.offset_adu)
    return np.clip(adu, 0, top).astype(np.uint16)
