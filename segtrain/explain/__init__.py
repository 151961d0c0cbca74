"""Why a segmenter decided (compute): Grad-CAM and HiResCAM at any layer, heatmaps of images of
any size by tiles, and their faithfulness by deletion curves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._exports import attach

if TYPE_CHECKING:  # the public names, loaded on first use (segtrain._exports)
    from ._cam import LayerInfo, cam_batch, default_layers, list_layers
    from ._explain import Explanation, cam_tiled, explain_image
    from ._faithfulness import DeletionConfig, Faithfulness, measure_faithfulness

__getattr__, __dir__, __all__ = attach(__name__, __file__)
