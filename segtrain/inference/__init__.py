"""How a trained network predicts (compute): the settings (`InferenceConfig`, `RefineConfig`),
the device and precision, the input (normalisation, the click channels of an interactive
network), images of any size by tiles, resampling to the training pixel size, test-time
augmentation, EM stacks, masks, and K samples with their spread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._exports import attach

if TYPE_CHECKING:  # the public names, loaded on first use (segtrain._exports)
    from ._clicks import Click, ClickConfig, encode_clicks, parse_click
    from ._config import SAMPLES, TTA_MODES, InferenceConfig, RefineConfig, TTAMode
    from ._device import autocast_for, native_bf16, pick_device, resolve_amp, torch_threads
    from ._normalise import noise_sigma, normalize_percentile, prepare_image
    from ._predict import postprocess_mask, predict_image, predict_stack, stack_context
    from ._sampling import Samples, flip_samples, is_probabilistic, sample_prediction
    from ._tiles import blend_window
    from ._zoom import resample_zoom, unzoom_probabilities, zoom_planes

__getattr__, __dir__, __all__ = attach(__name__, __file__)
