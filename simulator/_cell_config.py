"""What one field of view like a real cell is made of: :class:`CellSceneConfig` (its fields
are the parameters `mitoshape fit-scenes` writes and `dataset --scene-config` reads); the
rendering is :mod:`._cell`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._config import Acquisition, Microscope
from ._network import TubuleConfig
from ._variation import Export, Randomize

__all__ = ["CellSceneConfig"]


def _as_range(v):
    """A scalar ``v`` means the range (v, v)."""
    return (v, v) if isinstance(v, int | float) else v


class CellSceneConfig(BaseModel):
    """How to build one field of view like a real cell (a 2D image or a z-stack)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["cell"] = Field("cell", description="the scene kind")
    acquisition: Acquisition = Field(
        default_factory=lambda: Acquisition(size_px=256, mask="visible"),
        description="image size, focal depth, z planes and step, mask target (visible)",
    )
    cells: tuple[int, int] = Field((1, 3), description="cells reaching into the field, MIN-MAX")
    empty_fraction: float = Field(
        0.1, ge=0, le=1, description="fraction of fields with no cell (background only)"
    )
    cell_radius_um: tuple[float, float] = Field((6.0, 16.0), description="cell radius, um")
    nucleus_fraction: tuple[float, float] = Field(
        (0.3, 0.5), description="nucleus radius / cell radius"
    )
    cell_height_nm: tuple[float, float] = Field(
        (1200.0, 3500.0), description="thickness of a cell at its middle, nm (edges 300 nm)"
    )
    mitochondria_layer_nm: float = Field(
        1500.0,
        gt=0,
        le=20000,
        description="mitochondria lie below this height above the coverslip, nm (in flat "
        "cultured cells most run in the lower micrometre or two)",
    )
    focal_height_nm: tuple[float, float] = Field(
        (300.0, 1200.0),
        description="focal plane above the coverslip, nm (unless acquisition.focal_depth_nm)",
    )
    tubules: TubuleConfig | None = Field(
        default_factory=TubuleConfig, description="the tubule networks (None: none)"
    )
    objects: tuple[int, int] = Field(
        (0, 8), description="library shapes mixed in per field, MIN-MAX"
    )
    depth_spread_nm: float = Field(
        1500.0, ge=0, le=10000, description="library shapes' centres within +- this of focus"
    )
    brightness_cv: float = Field(
        0.4, ge=0, le=3, description="object brightness: lognormal with this std of its log"
    )
    labelling_variation: float = Field(
        0.3, ge=0, le=1, description="relative std of a smooth labelling field over the cells"
    )
    labelling_scale_um: float = Field(
        3.0, gt=0, le=50, description="correlation length of the labelling field, um"
    )
    cytosol_photons_per_um3: tuple[float, float] = Field(
        (30.0, 300.0), description="diffuse cytosolic label, photons per um^3 of cytoplasm"
    )
    autofluorescence_photons_per_um2: tuple[float, float] = Field(
        (30.0, 200.0), description="uniform cell autofluorescence, photons per um^2 of cell"
    )
    medium_photons_per_um2: tuple[float, float] = Field(
        (0.0, 30.0), description="uniform glow of the medium, photons per um^2 everywhere"
    )
    haze_blur_nm: float = Field(
        800.0, ge=0, le=10000, description="blur of the diffuse light (std of a Gaussian), nm"
    )
    randomize: Randomize | None = Field(
        default_factory=Randomize, description="microscope variation per image (None: off)"
    )
    export: Export = Field(default_factory=Export, description="how images are written")
    max_attempts: int = Field(30, ge=1, le=10000, description="placement tries per shape")
    microscope: Microscope | None = Field(
        None,
        description="the microscope this scene was fitted to (mitoshape fit-scenes): "
        "`dataset --scene-config` renders with it unless --config or --preset is given",
    )

    @field_validator(
        "cell_height_nm",
        "focal_height_nm",
        "cytosol_photons_per_um3",
        "autofluorescence_photons_per_um2",
        "medium_photons_per_um2",
        mode="before",
    )
    @classmethod
    def _scalar_is_range(cls, v):
        return _as_range(v)

    @model_validator(mode="after")
    def _check(self) -> CellSceneConfig:
        checks = (
            ("cells", 0),
            ("objects", 0),
            ("cell_radius_um", 0.5),
            ("nucleus_fraction", 0.0),
            ("cell_height_nm", 100.0),
            ("focal_height_nm", 0.0),
            ("cytosol_photons_per_um3", 0.0),
            ("autofluorescence_photons_per_um2", 0.0),
            ("medium_photons_per_um2", 0.0),
        )
        for name, low in checks:
            lo, hi = getattr(self, name)
            if not low <= lo <= hi:
                raise ValueError(
                    f"{name} must be MIN, MAX with {low} <= MIN <= MAX; got {lo}, {hi}"
                )
        if self.nucleus_fraction[1] >= 0.9:
            raise ValueError("nucleus_fraction must stay below 0.9 (room for mitochondria)")
        return self
