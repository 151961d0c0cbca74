"""Typed training settings: where the data comes from, which model, how long, how to learn.

The defaults of `TrainConfig` are one named recipe, `RECIPE` (`RECIPES["cpu"]`): the model, its
size, the patches, the batch and the number of steps that train best on this project's 2-core
CPU in about 20-25 minutes. The CLI, `train_and_evaluate`, `run_bench` and the benchmark scripts
all start from it, so the figures in ``benchmarks/RESULTS.md`` come from the same training a user
gets from ``mitoshape train --data DIR``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shapelib import FileName, InputError

from ..inference._clicks import CLICK_CHANNELS, ClickConfig
from ..models._registry import PROBABILISTIC_MODELS, ModelName
from ._augment_config import AugmentConfig
from ._config_volume import VolumeFields
from ._losses import HardNegatives, LossName
from ._recipe import RECIPE, RECIPES, AmpChoice, Recipe, recipe_steps

__all__ = [
    "CLICK_CHANNELS",
    "CONFIG_VERSION",
    "ClickConfig",
    "DataSource",
    "RECIPE",
    "RECIPES",
    "Recipe",
    "TrainConfig",
    "model_build_params",
]

# Bumped when a field changes meaning; a run folder written with another version is refused.
# 2: recipe defaults (unet depth 4 width 16, batch 4), held-out validation by default,
# model_params merged over the recipe's, 2.5D context, the new augmentations.
CONFIG_VERSION = 2


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


HoldoutMode = Literal["auto", "images", "band", "none"]


class TrainConfig(VolumeFields):
    """Everything that defines a training run; written as config.yaml/config.json in the run.

    The fields for generalising along a volume (unlabelled sections, hard negatives) are
    `VolumeFields`'.

    Defaults are `RECIPE`'s. `model_params` are merged over the recipe's params for the model
    (given keys win), and the merged params are what config.yaml records.

    Examples
    --------
    >>> cfg = TrainConfig(train=[DataSource(path="data/train")], model="unet",
    ...                   model_params={"depth": 3}, max_steps=100)
    >>> cfg.model_params
    {'depth': 3, 'width': 16}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(CONFIG_VERSION, description="Config format version.")
    train: list[DataSource] = Field(min_length=1, description="Training sources (mixed by weight).")
    val: list[DataSource] = Field(
        default_factory=list, description="Validation sources; empty: hold out training data."
    )
    holdout: HoldoutMode = Field(
        "auto",
        description="Without `val`: what to hold out of the training data for validation. "
        "images: whole images (sections of a volume, EM stack slices or files whose names "
        "number them, as the block at its end with max(2 x context_slices, context_slices + 1) "
        "sections left out between; other images by seed); band: the bottom val_fraction of "
        "the rows of every image (up to holdout_gap_px rows, at most 1/8 of the rows, left "
        "out between); auto: images with 10 or more training images, else band; none: no "
        "held-out data (validates on training patches, with a warning). The run's config.yaml "
        "records the mode used.",
    )
    val_fraction: float = Field(
        0.2, gt=0, lt=1, description="Share held out: of the images, or of each image's rows."
    )
    val_names: list[str] = Field(
        default_factory=list,
        description="images mode: the names of the held-out images (empty: chosen by seed); "
        "the run's config.yaml lists the ones used.",
    )
    holdout_gap_px: int = Field(
        32,
        ge=0,
        description="band mode: rows dropped between training part and held-out band (at most "
        "1/8 of the image's rows).",
    )
    run_dir: str = Field("runs/run", description="Output folder for checkpoints and logs.")
    model: ModelName = Field(RECIPE.model, description="Model name (segtrain.MODELS).")
    model_params: dict[str, Any] = Field(
        default_factory=dict,
        description="Model options over the recipe's, e.g. {'depth': 4, 'width': 16}.",
    )
    context_slices: int = Field(
        0,
        ge=0,
        le=7,
        description="2.5D input: this many slices above and below each slice as extra "
        "channels (EM stacks only); the model gets 1 + 2 x context_slices input channels.",
    )
    init_from: str | None = Field(
        None,
        description="Checkpoint (.pt) or run folder whose weights start this run (fine-tune): "
        "the same model and params; an interactive run may start from a plain one (the click "
        "channels start at zero weight).",
    )
    patch_px: int = Field(RECIPE.patch_px, ge=16, le=4096, description="Patch side in pixels.")
    batch_size: int = Field(RECIPE.batch_size, ge=1, le=1024, description="Patches per step.")
    fg_fraction: float = Field(
        0.5, ge=0, le=1, description="Share of patches centred on a random foreground pixel."
    )
    normalize_percentiles: tuple[float, float] = Field(
        (1.0, 99.0), description="Per-image percentiles mapped to 0 and 1."
    )
    normalize_min_range_sigmas: float = Field(
        0.0,
        ge=0,
        le=10000,
        description="Least normalised range in noise stds (0: off): an image of pure noise "
        "stays dim instead of being stretched to full range (fluorescence: about 20).",
    )
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    loss: LossName = Field(
        "bce+dice",
        description="Training loss (segtrain.LOSSES); prob_unet trains with elbo+dice (its "
        "default: BCE + 10 KL + Dice) or elbo (DeepPI-EM's BCE + 10 KL).",
    )
    interactive: bool = Field(
        False,
        description="Interactive training: click and previous-mask channels are added to the "
        "input and filled by a simulated user (`clicks`); any model.",
    )
    clicks: ClickConfig = Field(
        default_factory=ClickConfig, description="Click encoding and training clicker."
    )
    plain_share: float = Field(
        0.5,
        ge=0,
        lt=1,
        description="Interactive run without init_from: this share of max_steps first trains "
        "the plain network (no clicks) as a run of its own, <run_dir>_plain, and the interactive "
        "run starts from it for the other steps; 0: from scratch.",
    )
    optimizer: Literal["adam", "adamw"] = Field("adamw", description="Optimiser.")
    lr: float = Field(RECIPE.lr, gt=0, le=1, description="Peak learning rate.")
    weight_decay: float = Field(1e-4, ge=0, le=1, description="Weight decay.")
    schedule: Literal["constant", "cosine"] = Field(
        "cosine",
        description="Learning rate over max_steps (over the time budget if that ends first).",
    )
    max_steps: int = Field(
        RECIPE.max_steps,
        ge=1,
        description="Optimiser steps in total; not given: the recipe's for the run's precision "
        f"({RECIPE.max_steps} in float32, {RECIPE.max_steps_mixed} in mixed precision).",
    )
    time_budget_min: float | None = Field(
        None,
        gt=0,
        description="Also stop after this many minutes of training (wall clock; runs are then "
        "not reproducible). None: steps only.",
    )
    val_every: int = Field(
        RECIPE.val_every, ge=1, description="Validate (and checkpoint) every N steps."
    )
    val_patches: int = Field(
        8,
        ge=1,
        description="Fixed un-augmented training patches scored for the training IoU (and "
        "validated on when holdout is none).",
    )
    patience: int = Field(
        0, ge=0, description="Early stopping: validations without improvement; 0 = off."
    )
    overfit_gap: float = Field(
        0.1, gt=0, le=1, description="Warn when training IoU exceeds held-out IoU by this much."
    )
    seed: int = Field(0, ge=0, description="The one seed for init, sampling and augmentation.")
    device: Literal["auto", "cpu", "cuda", "mps"] = Field("auto", description="Device.")
    amp: AmpChoice = Field(
        RECIPE.amp,
        description="Mixed precision (bf16 autocast on CPU, fp16 on CUDA) + channels_last; "
        "auto: on CUDA and on CPUs with native bf16 (AVX512-BF16, AMX), float32 elsewhere. "
        "The run's config.yaml records what was used.",
    )
    channels_last: bool = Field(
        True,
        description="The network and its batches in channels-last memory layout, in either "
        "precision (on the AMD EPYC of benchmarks/RESULTS.md a float32 U-Net step costs 0.63x "
        "of the contiguous one; bf16 needs it).",
    )
    num_threads: int | None = Field(None, ge=1, description="torch CPU threads; None: default.")
    prefetch_batches: int = Field(
        2,
        ge=0,
        le=64,
        description="Batches of patches prepared ahead on a thread beside the training (the "
        "same patches: each is a function of the seed and its index); 0: on the training thread.",
    )

    @model_validator(mode="before")
    @classmethod
    def _merge_recipe_params(cls, data):
        # The recipe's params of the chosen model, overridden by the given ones.
        if isinstance(data, dict):
            data = recipe_steps(data)
            model = data.get("model", RECIPE.model)
            given = data.get("model_params")
            if given is None:
                given = {}
            if isinstance(given, dict) and isinstance(model, str):
                data = {**data, "model_params": {**RECIPE.model_params.get(model, {}), **given}}
            if model in PROBABILISTIC_MODELS and data.get("loss") is None:
                # Dice beside the ELBO, as the recipe's bce+dice: sparse foreground (a few % of
                # the pixels) is otherwise learnt late (an all-background start)
                data = {**data, "loss": "elbo+dice"}
        return data

    @model_validator(mode="after")
    def _check_loss(self):
        from ._losses import LATENT_LOSSES

        latent = self.model in PROBABILISTIC_MODELS
        if latent != (self.loss in LATENT_LOSSES):
            want = (
                f"{self.model} trains with {' or '.join(LATENT_LOSSES)} (BCE of a posterior sample "
                "+ beta x KL)"
                if latent
                else f"loss {self.loss} needs a probabilistic model "
                f"({', '.join(PROBABILISTIC_MODELS)})"
            )
            raise InputError(f"{want}; got model {self.model} with loss {self.loss}.")
        return self

    @model_validator(mode="after")
    def _check_channels(self):
        given = self.model_params.get("in_channels")
        if given is not None and given != self.input_channels:
            raise InputError(
                f"model_params in_channels={given} but the input has {self.input_channels} "
                f"channel(s) (1 + 2 x context_slices={self.context_slices}"
                + (f", + {CLICK_CHANNELS} click channels" if self.interactive else "")
                + "); drop in_channels, it is derived from the config."
            )
        return self

    @property
    def mixed_precision(self) -> bool:
        """Whether the training runs in mixed precision: `amp` once resolved (`train` resolves
        ``"auto"`` for its device with `segtrain.resolve_amp` before anything runs)."""
        if self.amp == "auto":
            raise ValueError("TrainConfig.amp is 'auto'; resolve it with resolve_amp first.")
        return bool(self.amp)

    @property
    def hard(self) -> HardNegatives:
        """The loss's hard background pixels (`hard_negatives`, `hard_negative_weight`)."""
        return HardNegatives(share=self.hard_negatives, weight=self.hard_negative_weight)

    @property
    def normalization(self) -> tuple[float, float, float]:
        """The normalisation every face applies: (low, high percentiles, min range sigmas)."""
        lo, hi = self.normalize_percentiles
        return (float(lo), float(hi), float(self.normalize_min_range_sigmas))

    @property
    def image_channels(self) -> int:
        """Image channels of the network's input: the slice and its 2.5D neighbours."""
        return 1 + 2 * self.context_slices

    @property
    def input_channels(self) -> int:
        """Channels of the network's input: the image channels, and for an interactive run the
        click and previous-mask channels (`CLICK_CHANNELS`)."""
        return self.image_channels + (CLICK_CHANNELS if self.interactive else 0)

    @model_validator(mode="after")
    def _patch_fits_model(self) -> TrainConfig:
        """A depth the patch cannot support is an error now, not a failure mid-training."""
        from ..models._registry import min_input_px

        try:
            need = min_input_px(self.model, self.model_params)
        except ValueError:  # bad model_params: build_model reports them with its own message
            return self
        if self.patch_px < need:
            raise InputError(
                f"patch_px {self.patch_px} is too small for {self.model} with model_params "
                f"{self.model_params}: each down-sampling halves the patch and the bottleneck "
                f"needs 2 x 2 pixels, so patches must be >= {need} px. Use patch_px >= {need} "
                "or a smaller depth."
            )
        return self


def model_build_params(cfg: TrainConfig) -> dict[str, Any]:
    """The params the network of `cfg` is built with: its model_params and the input channels."""
    return {**cfg.model_params, "in_channels": cfg.input_channels}
