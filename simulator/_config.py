"""Typed configs of a fluorescence microscope: optics, camera, labelling, and the acquisition."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Optics", "Camera", "Labelling", "Microscope", "Acquisition"]


class Optics(BaseModel):
    """Objective, wavelengths, refractive indices, pixel size and pinhole (sample-plane units)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    modality: Literal["widefield", "confocal"] = Field(
        "widefield", description="widefield (epifluorescence) or point-scanning confocal"
    )
    emission_wavelength_nm: float = Field(600.0, gt=200, lt=2000, description="emission, nm")
    excitation_wavelength_nm: float | None = Field(
        None, gt=200, lt=2000, description="excitation, nm (confocal only; default emission - 40)"
    )
    NA: float = Field(1.4, gt=0, le=1.7, description="numerical aperture of the objective")
    immersion_index: float = Field(1.515, ge=1.0, le=2.0, description="immersion oil/medium n")
    sample_index: float = Field(1.33, ge=1.0, le=2.0, description="refractive index of sample")
    magnification: float = Field(63.0, gt=0, description="objective magnification (metadata)")
    pixel_size_nm: float = Field(70.0, gt=1, le=5000, description="pixel size in the sample, nm")
    pinhole_au: float = Field(1.0, gt=0, le=10, description="confocal pinhole, Airy units")
    depth_of_field_nm: float | None = Field(
        None, gt=0, description="half-width x2 of the in-focus slab; default from lambda, NA"
    )

    @model_validator(mode="after")
    def _check(self) -> Optics:
        if self.NA >= self.immersion_index:
            raise ValueError(
                f"NA must be below the immersion refractive index; got NA {self.NA} with "
                f"immersion_index {self.immersion_index}. Lower NA or use an oil objective "
                "(immersion_index 1.515)."
            )
        return self

    @property
    def excitation_nm(self) -> float:
        """Excitation wavelength in nm (emission - 40 nm when not given)."""
        if self.excitation_wavelength_nm is not None:
            return float(self.excitation_wavelength_nm)
        return float(self.emission_wavelength_nm) - 40.0

    @property
    def effective_na(self) -> float:
        """NA that reaches emitters deeper than a wavelength: ``min(NA, sample_index)``."""
        return min(self.NA, self.sample_index)

    @property
    def dof_nm(self) -> float:
        """Depth of field in nm: ``lambda n / NA_eff^2``, halved for a confocal."""
        if self.depth_of_field_nm is not None:
            return float(self.depth_of_field_nm)
        na = self.effective_na
        dof = self.emission_wavelength_nm * self.sample_index / na**2
        return dof / 2.0 if self.modality == "confocal" else dof

    @property
    def nominal_fwhm_nm(self) -> float:
        """0.51 lambda / NA, divided by sqrt(2) for a confocal (3DMSL Table 2 convention)."""
        r = 0.51 * self.emission_wavelength_nm / self.NA
        return r / math.sqrt(2) if self.modality == "confocal" else r


class Camera(BaseModel):
    """Detector: photons -> electrons -> ADU, or the 3DMSL rescale-then-Poisson noise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["physical", "3dmsl"] = Field(
        "physical",
        description="physical: Poisson-Gaussian camera; 3dmsl: rescale to a random offset and "
        "maximum then Poisson (the published 3DMSL noise)",
    )
    quantum_efficiency: float = Field(0.8, gt=0, le=1, description="detected / arriving photons")
    gain_adu_per_e: float = Field(1.0, gt=0, le=1000, description="ADU per electron")
    read_noise_e: float = Field(1.5, ge=0, le=1000, description="read noise std, electrons")
    offset_adu: float = Field(100.0, ge=0, le=60000, description="bias, ADU")
    bit_depth: int = Field(16, ge=8, le=16, description="saturation at 2**bit_depth - 1")
    background_photons: float = Field(2.0, ge=0, description="background photons per pixel")
    dark_e: float = Field(0.0, ge=0, description="dark electrons per pixel per exposure")
    offset_range_3dmsl: tuple[float, float] = Field(
        (20.0, 70.0), description="3dmsl mode: background level drawn uniformly, counts"
    )
    max_range_3dmsl: tuple[float, float] = Field(
        (200.0, 240.0), description="3dmsl mode: image maximum drawn uniformly, counts"
    )


class Labelling(BaseModel):
    """Where fluorophores sit and how bright they are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    where: Literal["surface", "volume"] = Field(
        "surface", description="outer membrane (surface) or matrix (volume) labelling"
    )
    density_per_um2: float = Field(
        300.0, gt=0, le=1e5, description="surface fluorophores per um^2 (3DMSL text: 30)"
    )
    density_per_um3: float = Field(3000.0, gt=0, le=1e7, description="volume fluorophores/um^3")
    photons_per_fluorophore: float = Field(
        200.0, gt=0, le=1e7, description="photons emitted per fluorophore per exposure"
    )


class Microscope(BaseModel):
    """A whole microscope: optics + camera + labelling, with a name used in output folders."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("Custom", min_length=1, description="used in folder names (Conf1_imgs)")
    optics: Optics = Field(default_factory=Optics)
    camera: Camera = Field(default_factory=Camera)
    labelling: Labelling = Field(default_factory=Labelling)


class Acquisition(BaseModel):
    """What to image: image size, focal plane depth, z-stack, and which mask is the target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size_px: int = Field(128, ge=8, le=4096, description="image side, pixels")
    focal_depth_nm: float | None = Field(
        None,
        ge=0,
        le=50000,
        description="depth of the focal plane (object centre), nm; default: 2 um, or deeper "
        "(whole um) so the object stays below the coverslip in every orientation",
    )
    z_planes: int = Field(1, ge=1, le=512, description="1 = a 2D image, > 1 = a z-stack")
    z_step_nm: float = Field(250.0, gt=0, le=5000, description="z-stack step, nm")
    mask: Literal["in_focus", "projection"] = Field(
        "in_focus", description="which 2D mask is the segmentation target"
    )
