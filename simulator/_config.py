"""Typed configs of a fluorescence microscope: optics, camera, labelling, and the acquisition."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from shapelib import FileName, InputError, check_array_size

__all__ = [
    "Aberrations",
    "Optics",
    "Camera",
    "CAMERA_MODES",
    "PhysicalCamera",
    "ThreeDMSLCamera",
    "Labelling",
    "Microscope",
    "Acquisition",
    "with_noise_mode",
]


_ABERRATION_NM: dict = {"ge": -300.0, "le": 300.0}


class Aberrations(BaseModel):
    """Pupil aberrations of the objective: Zernike coefficients (Noll), RMS wavefront in nm.

    Defocus is not here (it is the focal position). Angles are measured from the image's +x axis
    (columns) towards +y (rows). Astigmatism and coma are modelled for widefield optics.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    spherical_nm: float = Field(0.0, **_ABERRATION_NM, description="primary spherical (Z11)")
    astigmatism_0_nm: float = Field(
        0.0, **_ABERRATION_NM, description="astigmatism along x/y (Z6, cos 2 phi)"
    )
    astigmatism_45_nm: float = Field(
        0.0, **_ABERRATION_NM, description="astigmatism along the diagonals (Z5, sin 2 phi)"
    )
    coma_x_nm: float = Field(0.0, **_ABERRATION_NM, description="coma along x (Z8, cos phi)")
    coma_y_nm: float = Field(0.0, **_ABERRATION_NM, description="coma along y (Z7, sin phi)")

    @property
    def terms(self) -> dict[str, float]:
        """The non-zero coefficients by field name."""
        return {k: float(v) for k, v in self.model_dump().items() if v}


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
    aberrations: Aberrations = Field(
        default_factory=Aberrations, description="pupil aberrations (Zernike RMS nm); none"
    )

    @model_validator(mode="after")
    def _check(self) -> Optics:
        if self.NA >= self.immersion_index:
            raise ValueError(
                f"NA must be below the immersion refractive index; got NA {self.NA} with "
                f"immersion_index {self.immersion_index}. Lower NA or use an oil objective "
                "(immersion_index 1.515)."
            )
        terms = self.aberrations.terms
        if self.modality == "confocal" and set(terms) - {"spherical_nm"}:
            raise ValueError(
                f"astigmatism and coma are modelled for widefield optics only; got "
                f"{sorted(set(terms) - {'spherical_nm'})} on a confocal. Set them to 0 (spherical "
                "aberration is allowed) or use modality widefield."
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


class PhysicalCamera(BaseModel):
    """A Poisson-Gaussian camera: photons -> electrons -> ADU.

    Optional, all off by default: an sCMOS-like fixed pattern of the offset (a smooth field over
    the sensor, and per-row and per-column offsets, drawn anew for every image) and a
    background subtraction by the acquisition software (the first electrons of every pixel's
    signal removed after detection, their shot noise kept). ``calibrate_camera`` fits them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["physical"] = Field("physical", description="the Poisson-Gaussian camera")
    quantum_efficiency: float = Field(0.8, gt=0, le=1, description="detected / arriving photons")
    gain_adu_per_e: float = Field(1.0, gt=0, le=1000, description="ADU per electron")
    read_noise_e: float = Field(1.5, ge=0, le=1000, description="read noise std, electrons")
    offset_adu: float = Field(100.0, ge=0, le=60000, description="bias, ADU")
    bit_depth: int = Field(16, ge=8, le=16, description="saturation at 2**bit_depth - 1")
    background_photons: float = Field(2.0, ge=0, description="background photons per pixel")
    dark_e: float = Field(0.0, ge=0, description="dark electrons per pixel per exposure")
    offset_field_std_adu: float = Field(
        0.0, ge=0, le=1000, description="std of a smooth spatial variation of the offset, ADU"
    )
    offset_field_scale_px: float = Field(
        200.0, gt=0, le=1e5, description="correlation length of that variation, pixels"
    )
    row_offset_std_adu: float = Field(0.0, ge=0, le=1000, description="per-row offset std, ADU")
    column_offset_std_adu: float = Field(
        0.0, ge=0, le=1000, description="per-column offset std, ADU"
    )
    subtracted_background_e: float = Field(
        0.0,
        ge=0,
        le=1e5,
        description="electrons of each pixel's signal removed by the acquisition software "
        "(background subtraction; their shot noise stays)",
    )
    blur_px: float = Field(
        0.0,
        ge=0,
        le=3,
        description="std of a Gaussian over the read-out image, pixels (crosstalk, on-camera "
        "processing or resampling: neighbouring pixels' noise correlates, as in real images)",
    )


class ThreeDMSLCamera(BaseModel):
    """The published 3DMSL noise: each plane rescaled to a random offset and maximum, then Poisson.

    Only these fields are read; quantum efficiency, gain, read noise and the rest of a physical
    camera do not exist in this mode (a config that gives them is an error).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["3dmsl"] = Field("3dmsl", description="the 3DMSL rescale-then-Poisson noise")
    offset_range_adu: tuple[float, float] = Field(
        (20.0, 70.0), description="background level of a plane, drawn uniformly, ADU"
    )
    max_range_adu: tuple[float, float] = Field(
        (200.0, 240.0), description="maximum of a plane, drawn uniformly, ADU"
    )
    bit_depth: int = Field(16, ge=8, le=16, description="saturation at 2**bit_depth - 1")

    @model_validator(mode="after")
    def _check(self) -> ThreeDMSLCamera:
        for name in ("offset_range_adu", "max_range_adu"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"{name} must be LOW, HIGH with 0 <= LOW <= HIGH; got {lo}, {hi}")
        return self


def _camera_mode(value) -> str:
    """The ``mode`` of a camera config (a mapping or a model); ``physical`` when not given."""
    if isinstance(value, dict):
        return str(value.get("mode", "physical"))
    return str(getattr(value, "mode", "physical"))


Camera = Annotated[
    Annotated[PhysicalCamera, Tag("physical")] | Annotated[ThreeDMSLCamera, Tag("3dmsl")],
    Discriminator(_camera_mode),
]
"""A camera config: :class:`PhysicalCamera` (``mode: physical``, the default when ``mode`` is
not given) or :class:`ThreeDMSLCamera` (``mode: 3dmsl``), told apart by ``mode``."""

CAMERA_MODES = ("physical", "3dmsl")


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

    name: FileName = Field(
        "Custom", description="used in folder and file names (Conf1_imgs/): a plain file name"
    )
    optics: Optics = Field(default_factory=Optics)
    camera: Camera = Field(default_factory=PhysicalCamera)
    labelling: Labelling = Field(default_factory=Labelling)


class Acquisition(BaseModel):
    """What to image: image size, focal plane depth, z-stack, and which mask is the target.

    Used by single-shape views and by scenes of several shapes alike.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    size_px: int = Field(128, ge=8, le=4096, description="image side, pixels")
    focal_depth_nm: float | None = Field(
        None,
        ge=0,
        le=50000,
        description="depth of the focal plane (the middle plane of a stack), nm; a single "
        "shape's centre is placed there. Default: 2 um, or deeper (whole um) so every object "
        "stays below the coverslip in every orientation",
    )
    z_planes: int = Field(1, ge=1, le=512, description="1 = a 2D image, > 1 = a z-stack")
    z_step_nm: float = Field(250.0, gt=0, le=5000, description="z-stack step, nm")
    mask: Literal["in_focus", "projection", "visible"] = Field(
        "in_focus",
        description="which 2D mask is the segmentation target: in_focus (the cross-section "
        "within half the depth of field), projection (any part along z) or visible (the "
        "in-focus part at its PSF-limited apparent width: what people label)",
    )

    @model_validator(mode="after")
    def _fits(self) -> Acquisition:
        # A stack, its truth and the renderer's FFT buffers: ~8 float64 planes per plane.
        check_array_size(
            (self.z_planes, self.size_px, self.size_px, 8), "float64",
            what=f"a {self.z_planes}-plane stack of {self.size_px} x {self.size_px} pixels",
            hint="Lower --size or --z-planes.",
        )  # fmt: skip
        return self


def with_noise_mode(microscope: Microscope, mode: str) -> Microscope:
    """The same microscope with the camera noise mode ``'physical'`` or ``'3dmsl'``.

    The camera is kept when it already has that mode; otherwise it becomes the default camera of
    the new mode with the same bit depth (the two modes share no other field).
    """
    mode = str(mode).strip().lower()
    if mode not in CAMERA_MODES:
        raise InputError(
            f"camera noise mode must be one of {', '.join(CAMERA_MODES)}; got {mode!r}."
        )
    cam = microscope.camera
    if cam.mode == mode:
        return microscope
    new = PhysicalCamera if mode == "physical" else ThreeDMSLCamera
    return microscope.model_copy(update={"camera": new(bit_depth=cam.bit_depth)})
