"""Training a segmenter (compute): the config and its recipe, the patches and their
augmentation, the hold-out, the losses and the schedule, and the loop as stages (data, step,
validate; the checkpoint stage is the workflow's), with interactive click feedback as a batch
hook."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._exports import attach

if TYPE_CHECKING:  # the public names, loaded on first use (segtrain._exports)
    from ._augment import augment_patch
    from ._augment_config import AugmentConfig
    from ._config import RECIPE, RECIPES, DataSource, Recipe, TrainConfig
    from ._data import Batch, PatchDataset, prepare_images
    from ._holdout import Holdout, split_holdout
    from ._losses import LOSSES
    from ._validate import PostprocessChoice, choose_postprocess

__getattr__, __dir__, __all__ = attach(__name__, __file__)
