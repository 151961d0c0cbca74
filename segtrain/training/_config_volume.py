"""Training settings for generalising along a volume: learning from its unlabelled sections
(self-training with confident pseudo-labels under augmentation) and the hard background pixels
weighted up. `TrainConfig` inherits them (they are its fields, flags of ``mitoshape train``).

All are off by default until measured on consecutive real sections (``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shapelib import InputError

__all__ = ["VolumeFields"]


class VolumeFields(BaseModel):
    """The unlabelled-sections and hard-negative fields of `TrainConfig` (module docstring).

    Self-training: from step ``unlabelled_start x max_steps`` on, each step also draws a batch
    of patches of the `unlabelled` images (seeded like the labelled ones). A teacher (the
    network's own exponential moving average, or a frozen snapshot taken at that step)
    predicts each patch as it is; the network learns from the same patch with the intensity
    augmentations (consistency under augmentation) the teacher's confident pixels
    (probability above `pseudo_hi`: foreground, below `pseudo_lo`: background) by BCE, weighted
    by `unlabelled_weight` and divided by all the patches' pixels; the other pixels carry no
    loss. The log says how many pixels per step were pseudo-labelled.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    unlabelled: list[str] = Field(
        default_factory=list,
        description="Images without masks of the same volume(s) for self-training: folders "
        "of images, single images or EM stack TIFFs; empty: off (the default until measured).",
    )
    unlabelled_weight: float = Field(
        1.0, gt=0, le=100, description="Weight of the pseudo-label loss beside the labelled one."
    )
    pseudo_hi: float = Field(
        0.9, gt=0.5, lt=1, description="Teacher probability above which a pixel is foreground."
    )
    pseudo_lo: float = Field(
        0.1, gt=0, lt=0.5, description="Teacher probability below which a pixel is background."
    )
    teacher: Literal["ema", "snapshot"] = Field(
        "ema",
        description="The teacher of the unlabelled images: the network's exponential moving "
        "average (from unlabelled_start on), or a frozen snapshot taken at unlabelled_start.",
    )
    teacher_ema: float = Field(
        0.99, ge=0, lt=1, description="Decay of the teacher's moving average per step."
    )
    unlabelled_start: float = Field(
        0.3,
        ge=0,
        lt=1,
        description="Share of max_steps trained on the labelled images only before the "
        "unlabelled ones join (the teacher starts as the network then).",
    )
    hard_negatives: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of each batch's background pixels, those of highest loss (dark "
        "membranes, myelin), whose BCE is weighted by 1 + hard_negative_weight; 0: off (the "
        "default until measured).",
    )
    hard_negative_weight: float = Field(
        2.0, ge=0, le=100, description="Extra BCE weight of the mined background pixels."
    )

    @model_validator(mode="after")
    def _check_unlabelled(self):
        if len(set(self.unlabelled)) != len(self.unlabelled):
            raise InputError(f"unlabelled lists a path twice: {self.unlabelled}.")
        return self
