"""Patch augmentations: flips, 90-degree rotations, intensity and noise jitter (numpy, seeded)."""

from __future__ import annotations

import numpy as np

__all__ = ["augment_patch", "normalize_percentile"]


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


def augment_patch(
    image: np.ndarray,
    mask: np.ndarray,
    rng: int | np.random.Generator | None = None,
    *,
    flips: bool = True,
    rot90: bool = True,
    intensity: float = 0.1,
    gamma: float = 0.2,
    noise_std: float = 0.03,
) -> tuple[np.ndarray, np.ndarray]:
    """Randomly flip/rotate image and mask together, and jitter the image's intensities.

    Parameters
    ----------
    image : (Y, X) ndarray of float32, normalised to about [0, 1]
    mask : (Y, X) ndarray of uint8
    rng : seed or Generator
    intensity : float, scale and offset drawn from 1 +- intensity and +- intensity
    gamma : float, gamma exp(U(-gamma, gamma)) applied to the clipped [0, 1] image
    noise_std : float, Gaussian noise with std U(0, noise_std)

    Returns
    -------
    image, mask : the augmented copies (float32, uint8), same shape when square.
    """
    rng = np.random.default_rng(rng)
    # Geometry: same transform for image and mask.
    if flips:
        if rng.random() < 0.5:
            image, mask = image[::-1], mask[::-1]
        if rng.random() < 0.5:
            image, mask = image[:, ::-1], mask[:, ::-1]
    if rot90 and image.shape[0] == image.shape[1]:
        k = int(rng.integers(4))
        image, mask = np.rot90(image, k), np.rot90(mask, k)
    image = np.ascontiguousarray(image, dtype=np.float32)
    mask = np.ascontiguousarray(mask)
    # Intensity: gamma on the clipped range, then scale/offset, then noise.
    if gamma > 0:
        g = float(np.exp(rng.uniform(-gamma, gamma)))
        image = np.clip(image, 0, None) ** g
    if intensity > 0:
        scale = 1 + rng.uniform(-intensity, intensity)
        offset = rng.uniform(-intensity, intensity)
        image = image * scale + offset
    if noise_std > 0:
        std = rng.uniform(0, noise_std)
        image = image + rng.normal(0, std, image.shape)
    return image.astype(np.float32), mask
