"""The networks by name: the registry (`build_model`, `MODELS`) and one module per architecture
in plain torch, each with its params model (`_blocks`: the U-Net frame they share). A network's
module is imported when it is first built, so the registry does not import torch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._exports import attach

if TYPE_CHECKING:  # the public names, loaded on first use (segtrain._exports)
    from ._prob_unet import kl_diag_gaussians
    from ._registry import MODELS, PROBABILISTIC_MODELS, ModelName, build_model, model_names

__getattr__, __dir__, __all__ = attach(__name__, __file__)
