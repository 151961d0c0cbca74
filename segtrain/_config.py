"""Typed training settings: where the data comes from, which model, how long, how to learn."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shapelib import FileName

from ._registry import ModelName

__all__ = ["AugmentConfig", "DataSource", "TrainConfig", "CONFIG_VERSION"]

# Bumped when a field changes meaning; a run folder written with another version is refused.
CONFIG_VERSION = 1


class DataSource(BaseModel):
    """One training or validation source: a folder of pairs, an EM stack, or a simulator set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(
        description="Folder with images/ and masks/ (or labels/, instances/), a simulator "
        "dataset folder (dataset.json), or an EM image stack TIFF (with label_path)."
    )
    kind: Literal["auto", "folder", "stack", "simulator"] = Field(
        "auto", description="How to read `path`; auto decides from what is there."
    )
    label_path: str | None = Field(
        None, description="Label volume for an EM stack (same shape as the image volume)."
    )
    slices: str | None = Field(
        None, description="Python-style slice of stack planes to use, e.g. '0:100' or '::10'."
    )
    weight: float = Field(
        1.0, gt=0, description="Relative share of training patches drawn from this source."
    )
    name: FileName | None = Field(
        None,
        description="Name in tables and folder names (a plain file name); default: the "
        "folder name.",
    )


class AugmentConfig(BaseModel):
    """Random augmentations applied to each training patch (numpy, seeded per patch)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flips: bool = Field(True, description="Random horizontal and vertical flips.")
    rot90: bool = Field(True, description="Random rotations by multiples of 90 degrees.")
    intensity: float = Field(
        0.1, ge=0, le=1, description="Scale/offset jitter of normalised intensity (+- fraction)."
    )
    gamma: float = Field(0.2, ge=0, le=1, description="Gamma jitter, exp(U(-g, g)).")
    noise_std: float = Field(0.03, ge=0, le=1, description="Max Gaussian noise std (normalised).")


class TrainConfig(BaseModel):
    """Everything that defines a training run; written as config.yaml/config.json in the run.

    Examples
    --------
    >>> cfg = TrainConfig(train=[DataSource(path="data/train")], model="unet",
    ...                   model_params={"depth": 3, "width": 16}, max_steps=100)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(CONFIG_VERSION, description="Config format version.")
    train: list[DataSource] = Field(min_length=1, description="Training sources (mixed by weight).")
    val: list[DataSource] = Field(
        default_factory=list, description="Validation sources; empty: use val_fraction."
    )
    val_fraction: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Fraction of training images held out for validation when `val` is empty; "
        "0 validates on fixed un-augmented patches of the training images (no held-out data).",
    )
    run_dir: str = Field("runs/run", description="Output folder for checkpoints and logs.")
    model: ModelName = Field("unet", description="Model name from the registry (segtrain.MODELS).")
    model_params: dict[str, Any] = Field(
        default_factory=dict, description="Model options, e.g. {'depth': 4, 'width': 32}."
    )
    init_from: str | None = Field(
        None, description="Checkpoint (.pt) or run folder whose weights start this run (fine-tune)."
    )
    patch_px: int = Field(256, ge=16, le=4096, description="Training patch side in pixels.")
    batch_size: int = Field(8, ge=1, le=1024, description="Patches per step.")
    fg_fraction: float = Field(
        0.5, ge=0, le=1, description="Share of patches centred on a random foreground pixel."
    )
    normalize_percentiles: tuple[float, float] = Field(
        (1.0, 99.0), description="Per-image percentiles mapped to 0 and 1."
    )
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    loss: Literal["bce", "dice", "bce+dice"] = Field("bce+dice", description="Training loss.")
    optimizer: Literal["adam", "adamw"] = Field("adamw", description="Optimiser.")
    lr: float = Field(1e-3, gt=0, le=1, description="Peak learning rate.")
    weight_decay: float = Field(1e-4, ge=0, le=1, description="Weight decay.")
    schedule: Literal["constant", "cosine"] = Field(
        "cosine", description="Learning-rate schedule over max_steps (or the time budget)."
    )
    max_steps: int = Field(1000, ge=1, description="Optimiser steps in total.")
    time_budget_min: float | None = Field(
        None, gt=0, description="Stop after this many minutes of training (wall clock)."
    )
    val_every: int = Field(100, ge=1, description="Validate (and checkpoint) every N steps.")
    val_patches: int = Field(16, ge=1, description="Fixed validation patches per validation.")
    patience: int = Field(
        0, ge=0, description="Early stopping: validations without improvement; 0 = off."
    )
    seed: int = Field(0, ge=0, description="The one seed for init, sampling and augmentation.")
    device: Literal["auto", "cpu", "cuda", "mps"] = Field("auto", description="Device.")
    amp: bool = Field(
        True, description="Mixed precision (bf16 autocast on CPU, fp16 on CUDA) + channels_last."
    )
    num_threads: int | None = Field(None, ge=1, description="torch CPU threads; None: default.")
