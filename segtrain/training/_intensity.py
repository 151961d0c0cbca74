"""Image-only patch augmentations: blur, gamma, contrast, brightness and noise for every
input, and the EM-section defects (missing and shifted sections) for 2.5D input, where the
neighbour channels are other sections of the stack. Numpy and scipy, seeded by the caller."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ._augment_config import AugmentConfig

__all__ = ["augment_intensity", "augment_sections"]


def augment_intensity(
    image: np.ndarray, rng: np.random.Generator, config: AugmentConfig
) -> np.ndarray:
    """Blur, gamma, contrast, brightness, then noise; the same draw for every channel.

    Parameters
    ----------
    image : (C, P, P) ndarray of float32, normalised to about [0, 1]
    rng : Generator
    config : AugmentConfig (blur_p, blur_sigma_px, gamma, contrast, intensity, noise_std)

    Returns
    -------
    (C, P, P) ndarray of float32
    """
    image = np.asarray(image, dtype=np.float32)
    # Blur: one sigma for the patch, each channel filtered in its own plane.
    if config.blur_p > 0 and config.blur_sigma_px > 0 and rng.random() < config.blur_p:
        sigma = rng.uniform(min(0.3, config.blur_sigma_px), config.blur_sigma_px)
        image = np.stack([ndi.gaussian_filter(ch, sigma, mode="reflect") for ch in image])
    # Gamma on the non-negative range (normalised images are about [0, 1]).
    if config.gamma > 0:
        g = float(np.exp(rng.uniform(-config.gamma, config.gamma)))
        image = np.clip(image, 0, None) ** g
    # Contrast about the patch mean, then brightness.
    if config.contrast > 0:
        mean = float(image.mean())
        image = mean + (image - mean) * (1 + rng.uniform(-config.contrast, config.contrast))
    if config.intensity > 0:
        image = image + rng.uniform(-config.intensity, config.intensity)
    # Noise: Gaussian with a random std up to noise_std.
    if config.noise_std > 0:
        std = rng.uniform(0, config.noise_std)
        image = image + rng.normal(0, std, image.shape)
    return np.ascontiguousarray(image, dtype=np.float32)


def augment_sections(
    image: np.ndarray, rng: np.random.Generator, config: AugmentConfig
) -> np.ndarray:
    """EM-section defects on the neighbour channels of a 2.5D patch (the centre is untouched).

    Each neighbour channel, independently: with ``missing_section_p`` it becomes flat (its own
    mean: a lost or blank section), else with ``shifted_section_p`` it moves by a random integer
    offset of at most ``shifted_section_px`` in y and x (a misaligned section; reflected at the
    border). One channel (2D input): returned unchanged, and no random numbers are drawn.

    Parameters
    ----------
    image : (C, P, P) ndarray of float32, C = 1 + 2k, the slice at index k

    Returns
    -------
    (C, P, P) ndarray of float32
    """
    c = image.shape[0]
    if c == 1:
        return image
    out = np.array(image, dtype=np.float32, copy=True)
    centre = c // 2
    s = config.shifted_section_px
    for k in range(c):
        if k == centre:
            continue
        if rng.random() < config.missing_section_p:
            out[k] = out[k].mean()
        elif s > 0 and rng.random() < config.shifted_section_p:
            dy, dx = (int(v) for v in rng.integers(-s, s + 1, size=2))
            out[k] = ndi.shift(out[k], (dy, dx), order=0, mode="reflect")
    return out
