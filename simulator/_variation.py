"""What varies from one real image to the next: the microscope's variants and the export.

- :class:`Randomize` draws a variant of the microscope per image (domain randomisation): NA,
  pupil aberrations and pixel size from a small set of optics variants (drawn once per data
  set from its seed, so PSF tables are cached and shared), and the camera's gain, read noise,
  offset pattern and the photons per fluorophore per image (cheap, drawn per image).
- :class:`Export` is what acquisition software does after the camera: ``raw`` keeps the
  camera's counts; ``stretch8`` maps the image's minimum and maximum to two 8-bit levels and
  rounds (a per-image contrast stretch to 0-255 is levels 0 and 255; a stretch over a larger
  field, then cut into tiles, puts a tile's extremes anywhere between).

Every draw is recorded (``params``) beside the image it made.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._config import Microscope, PhysicalCamera

__all__ = ["Randomize", "Export", "optics_variants", "vary_microscope", "export_image"]


MIN_SPAN_LEVELS = 8.0  # the narrowest 8-bit range an export draws


def _pair(name: str, lo: float, hi: float) -> None:
    if not lo <= hi:
        raise ValueError(f"{name} must be MIN, MAX with MIN <= MAX; got {lo}, {hi}")


class Randomize(BaseModel):
    """Ranges of the microscope's variation between images (1 = as configured)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    optics_variants: int = Field(
        8, ge=1, le=256, description="distinct optics per data set (each has its PSF tables)"
    )
    pixel_size_scale: tuple[float, float] = Field(
        (0.8, 1.2), description="pixel size x U(MIN, MAX) (the sizes a model must take)"
    )
    na_scale: tuple[float, float] = Field((0.9, 1.0), description="NA x U(MIN, MAX)")
    aberration_rms_nm: float = Field(
        25.0, ge=0, le=200, description="std of each Zernike term (spherical, astigmatism, coma)"
    )
    photons_scale: tuple[float, float] = Field(
        (0.3, 3.0), description="photons per fluorophore x log-uniform(MIN, MAX): signal level"
    )
    gain_scale: tuple[float, float] = Field((0.7, 1.4), description="camera gain x U(MIN, MAX)")
    read_noise_scale: tuple[float, float] = Field(
        (0.5, 2.0), description="read noise x U(MIN, MAX)"
    )
    pattern_scale: tuple[float, float] = Field(
        (0.0, 2.0), description="offset field, row and column offsets x U(MIN, MAX)"
    )
    row_offset_adu: tuple[float, float] = Field(
        (0.0, 2.0), description="extra per-row offset std (line noise), in units of read noise"
    )
    blur_px: tuple[float, float] = Field(
        (0.0, 0.6), description="camera blur_px drawn U(MIN, MAX) (correlated pixel noise)"
    )

    @model_validator(mode="after")
    def _check(self) -> Randomize:
        for name in (
            "pixel_size_scale",
            "na_scale",
            "photons_scale",
            "gain_scale",
            "read_noise_scale",
            "pattern_scale",
            "row_offset_adu",
            "blur_px",
        ):
            _pair(name, *getattr(self, name))
        if min(self.pixel_size_scale + self.na_scale + self.photons_scale + self.gain_scale) <= 0:
            raise ValueError("scales must be positive")
        return self


class Export(BaseModel):
    """How the acquisition software wrote the image."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["raw", "stretch8"] = Field("raw", description="raw or stretch8")
    low_level: tuple[float, float] = Field(
        (0.0, 30.0), description="stretch8: 8-bit level of the image's minimum, U(MIN, MAX)"
    )
    high_level: tuple[float, float] = Field(
        (12.0, 255.0),
        description="stretch8: level of the image's maximum, log-uniform(MIN, MAX)",
    )
    raw_fraction: float = Field(
        0.0, ge=0, le=1, description="stretch8: fraction of images kept raw (16-bit)"
    )

    @model_validator(mode="after")
    def _check(self) -> Export:
        _pair("low_level", *self.low_level)
        _pair("high_level", *self.high_level)
        if not (0 <= self.low_level[0] and self.high_level[1] <= 255):
            raise ValueError("8-bit levels lie in 0..255")
        if self.high_level[1] <= self.low_level[0]:
            raise ValueError(
                f"high_level must reach above low_level; got {self.high_level} and {self.low_level}"
            )
        return self


def optics_variants(mic: Microscope, cfg: Randomize, rng: np.random.Generator) -> list:
    """``cfg.optics_variants`` optics drawn from the microscope's (the first is unchanged)."""
    optics = mic.optics
    out = [optics]
    for _ in range(cfg.optics_variants - 1):
        na = min(optics.NA * rng.uniform(*cfg.na_scale), 0.99 * optics.immersion_index)
        px = optics.pixel_size_nm * rng.uniform(*cfg.pixel_size_scale)
        ab = {"spherical_nm": rng.normal(0, cfg.aberration_rms_nm)}
        if optics.modality == "widefield":
            for name in ("astigmatism_0_nm", "astigmatism_45_nm", "coma_x_nm", "coma_y_nm"):
                ab[name] = rng.normal(0, cfg.aberration_rms_nm / 2)
        ab = {k: float(np.clip(v, -150, 150)) for k, v in ab.items()}
        aberr = optics.aberrations.model_copy(update=ab)
        # round so variants are hashable keys that print well
        out.append(
            optics.model_copy(
                update={"NA": round(na, 4), "pixel_size_nm": round(px, 2), "aberrations": aberr}
            )
        )
    return out


def vary_microscope(
    mic: Microscope, cfg: Randomize, variants: list, rng: np.random.Generator
) -> tuple[Microscope, dict]:
    """One image's microscope: an optics variant, a camera and a brightness; and the draws.

    ``variants`` are (optics, focal depth nm) pairs; the draws hold the variant's focal depth.
    """
    k = int(rng.integers(len(variants)))
    optics, focal_nm = variants[k]
    photons = np.exp(rng.uniform(*np.log(cfg.photons_scale)))
    lab = mic.labelling.model_copy(
        update={"photons_per_fluorophore": mic.labelling.photons_per_fluorophore * photons}
    )
    cam = mic.camera
    params = {
        "optics_variant": k,
        "focal_depth_nm": focal_nm,
        "pixel_size_nm": optics.pixel_size_nm,
        "NA": optics.NA,
        "photons_scale": round(float(photons), 4),
    }
    if isinstance(cam, PhysicalCamera):
        g = rng.uniform(*cfg.gain_scale)
        rn = rng.uniform(*cfg.read_noise_scale)
        pat = rng.uniform(*cfg.pattern_scale)
        rows = rng.uniform(*cfg.row_offset_adu) * cam.read_noise_e * cam.gain_adu_per_e * g
        update = {
            "gain_adu_per_e": cam.gain_adu_per_e * g,
            "read_noise_e": cam.read_noise_e * rn,
            "offset_field_std_adu": cam.offset_field_std_adu * pat,
            "row_offset_std_adu": float(np.hypot(cam.row_offset_std_adu * pat, rows)),
            "column_offset_std_adu": cam.column_offset_std_adu * pat,
            "blur_px": max(cam.blur_px, rng.uniform(*cfg.blur_px)),
        }
        cam = cam.model_copy(update=update)
        params.update({k: round(float(v), 4) for k, v in update.items()})
    return mic.model_copy(update={"optics": optics, "labelling": lab, "camera": cam}), params


def export_image(
    image: np.ndarray, cfg: Export, rng: np.random.Generator
) -> tuple[np.ndarray, dict]:
    """Apply the export to a camera image (uint16): the written image and its draws."""
    if cfg.mode == "raw" or rng.random() < cfg.raw_fraction:
        return image, {"export": "raw"}
    x = np.asarray(image, np.float64)
    lo_v, hi_v = float(x.min()), float(x.max())
    lo = rng.uniform(*cfg.low_level)
    # the maximum at least MIN_SPAN levels above the minimum (an 8-bit image of pure noise)
    hi_lo = min(max(cfg.high_level[0], lo + MIN_SPAN_LEVELS), 255.0)
    hi_hi = max(cfg.high_level[1], hi_lo)
    hi = float(np.exp(rng.uniform(np.log(hi_lo), np.log(hi_hi))))
    span = max(hi_v - lo_v, 1e-9)
    out = np.clip(np.rint(lo + (x - lo_v) * (hi - lo) / span), 0, 255).astype(np.uint8)
    return out, {"export": "stretch8", "low_level": round(lo, 2), "high_level": round(hi, 2)}
