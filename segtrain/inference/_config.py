"""Typed inference settings: how a trained network predicts (`InferenceConfig`) and how a click
re-predicts (`RefineConfig`). Frozen, so one object travels from a face (the CLI, the web app, a
script) through `segtrain.Run` to the compute functions unchanged."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shapelib import InputError

__all__ = ["SAMPLES", "TTA_MODES", "InferenceConfig", "RefineConfig", "TTAMode"]

# Test-time augmentation: none, the 4 flips, or the 8 symmetries of the square (flips and turns).
TTAMode = Literal["none", "flips", "d4"]
TTA_MODES: tuple[str, ...] = ("none", "flips", "d4")
# Prior samples of a probabilistic network per prediction (DeepPI-EM's 16).
SAMPLES = 16


class InferenceConfig(BaseModel):
    """How a trained run predicts: which checkpoint, the tiles, test-time augmentation, the
    precision, the CPU threads, the threshold and the device.

    Examples
    --------
    >>> InferenceConfig(tile_px=512, tta="flips").overlap_px
    64
    >>> InferenceConfig(tta=True).tta  # the old boolean: the 4 flips
    'flips'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    checkpoint: Literal["best", "last"] = Field(
        "best", description="Checkpoint of a run folder: best (held-out IoU) or last."
    )
    tile_px: int = Field(256, ge=16, le=8192, description="Tile side in pixels.")
    overlap_px: int = Field(
        64, ge=0, le=4096, description="Overlap between neighbouring tiles (at most tile_px / 2)."
    )
    tta: TTAMode = Field(
        "none",
        description="Test-time augmentation: none, flips (the 4 flips) or d4 (the 8 flips and "
        "turns); the probabilities are averaged.",
    )
    amp: bool | None = Field(
        None,
        description="bf16 mixed precision on CPU (fp16 on CUDA); None: as the run was trained "
        "(off for a network without a run).",
    )
    threads: int | None = Field(
        None,
        ge=1,
        description="torch CPU threads; None: torch's (predicting a folder or stack: all the "
        "cores, os.cpu_count()).",
    )
    batch_px: int = Field(
        2**22,
        ge=1,
        description="Input pixels per forward call (tiles x test-time views): the tiles of an "
        "image, or of several slices of a stack, and their flips go in together so the cores "
        "work on large batches (4 M px: 64 tiles of 256 px); lower it to use less memory.",
    )
    threshold: float = Field(
        0.5, gt=0, lt=1, description="Probability at and above which a pixel is foreground."
    )
    device: str = Field("auto", description="auto, cpu, cuda (or cuda:N) or mps.")

    @field_validator("tta", mode="before")
    @classmethod
    def _tta_from_bool(cls, value):
        # The old boolean: True is the 4 flips, False (or None) none.
        if value is True:
            return "flips"
        if value is False or value is None:
            return "none"
        return value

    @model_validator(mode="after")
    def _overlap_fits_tile(self):
        if 2 * self.overlap_px > self.tile_px:
            raise InputError(
                f"overlap_px must be in [0, tile_px/2]; got {self.overlap_px} with tile_px "
                f"{self.tile_px}. Lower the overlap or raise the tile."
            )
        return self

    def replace(self, **changes) -> InferenceConfig:
        """A copy with `changes` applied (validated)."""
        return InferenceConfig(**{**self.model_dump(), **changes})


class RefineConfig(BaseModel):
    """How a click re-predicts (`segtrain.refine`): the samples, the window about the click and
    the suggestions after it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    samples: int = Field(
        SAMPLES,
        ge=1,
        le=1024,
        description="Prior samples of a probabilistic network; a deterministic one gives the "
        "spread of its 4 flips for more than 1, one pass for 1.",
    )
    window_px: int = Field(
        192, ge=1, description="Least side of the window a click re-predicts (RITM's zoom-in)."
    )
    max_window_px: int | None = Field(
        384,
        ge=1,
        description="Largest side of an automatic window, about the click (None: no limit).",
    )
    context_px: int = Field(
        32, ge=0, description="Image margin the network sees around the window."
    )
    enforce_px: int = Field(
        3, ge=0, description="The probability within this radius of a click takes its label."
    )
    blend_px: int = Field(
        16,
        ge=0,
        description="Feather of a pasted window: its new values rise from the old ones at its "
        "edges inside the image to themselves at this distance (0: a hard paste).",
    )
    n_suggestions: int = Field(3, ge=0, description="Suggested clicks after each click.")
    directional: bool = Field(
        True,
        description="A click acts only in its direction: a positive click never removes "
        "foreground, a negative one never adds it, and the network's change is accepted only "
        "in the region grown from the click (False: the network's answer as it is).",
    )

    def replace(self, **changes) -> RefineConfig:
        """A copy with `changes` applied (validated)."""
        return RefineConfig(**{**self.model_dump(), **changes})
