"""Random augmentations of each training patch: the settings (a frozen pydantic model).

`TrainConfig.augment` holds one; `_augment` (geometry) and `_intensity` (intensity and EM
sections) apply it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AugmentConfig"]


class AugmentConfig(BaseModel):
    """Random augmentations of each training patch (numpy/scipy, seeded per patch).

    Geometry (image and mask together): flips, 90-degree rotations, and with probability
    `warp_p` one warp made of a rotation by any angle, a scale and an elastic deformation,
    sampled by linear interpolation (the mask is interpolated and thresholded at 0.5). Intensity
    (image only): blur, contrast and brightness, gamma, Gaussian noise. EM sections (2.5D input
    only, they touch the neighbour channels, never the centre slice): a missing section (a
    neighbour replaced by a flat slice) and a shifted section (a neighbour moved by a few
    pixels), as in badly cut or aligned stacks.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    flips: bool = Field(True, description="Random horizontal and vertical flips.")
    rot90: bool = Field(True, description="Random rotations by multiples of 90 degrees.")
    warp_p: float = Field(
        0.5, ge=0, le=1, description="Probability of the warp (rotation, scale, elastic)."
    )
    rotate_deg: float = Field(
        180.0, ge=0, le=180, description="Warp: rotation angle drawn from U(-a, a) degrees."
    )
    scale: float = Field(
        0.15, ge=0, lt=1, description="Warp: zoom factor drawn log-uniformly in [1-s, 1+s]."
    )
    elastic_px: float = Field(
        3.0, ge=0, le=64, description="Warp: elastic displacement std in pixels (0 = off)."
    )
    elastic_spacing_px: int = Field(
        32, ge=4, le=1024, description="Warp: spacing of the elastic control grid in pixels."
    )
    blur_p: float = Field(0.2, ge=0, le=1, description="Probability of a Gaussian blur.")
    blur_sigma_px: float = Field(
        1.5, ge=0, le=16, description="Blur sigma drawn from U(0.3, max) pixels."
    )
    contrast: float = Field(
        0.15, ge=0, le=1, description="Contrast: scale about the patch mean by 1 +- U(0, c)."
    )
    intensity: float = Field(
        0.1, ge=0, le=1, description="Brightness: offset by U(-b, b) of the normalised range."
    )
    gamma: float = Field(0.2, ge=0, le=1, description="Gamma exp(U(-g, g)) on [0, 1].")
    noise_std: float = Field(0.03, ge=0, le=1, description="Max Gaussian noise std (normalised).")
    missing_section_p: float = Field(
        0.05, ge=0, le=1, description="2.5D: probability per neighbour of a missing section."
    )
    shifted_section_p: float = Field(
        0.1, ge=0, le=1, description="2.5D: probability per neighbour of a shifted section."
    )
    shifted_section_px: int = Field(
        4, ge=0, le=64, description="2.5D: largest shift of a shifted section, pixels."
    )

    @classmethod
    def none(cls) -> AugmentConfig:
        """No augmentation at all (every probability and range 0)."""
        return cls(
            flips=False,
            rot90=False,
            warp_p=0,
            blur_p=0,
            contrast=0,
            intensity=0,
            gamma=0,
            noise_std=0,
            missing_section_p=0,
            shifted_section_p=0,
        )
