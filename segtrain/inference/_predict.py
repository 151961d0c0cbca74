"""Prediction of images of any size (by the tiles of `_tiles`), with test-time augmentation and
resampling to the network's pixel size (`_zoom`); EM stacks slice by slice; the mask of a
probability map (threshold, small objects and holes)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import torch

from shapelib import InputError

from ._clicks import with_zero_clicks
from ._config import TTA_MODES, InferenceConfig
from ._device import autocast_for, device_of
from ._normalise import normalize_channels
from ._tiles import blend_tiles
from ._zoom import zoomed

__all__ = [
    "postprocess_mask",
    "predict_image",
    "predict_stack",
    "stack_context",
    "tta_transforms",
]

log = logging.getLogger(__name__)


def tta_transforms(mode: str) -> list[tuple]:
    """(forward, inverse) pairs on (B, C, H, W) tensors of a TTA mode (`TTA_MODES`): the
    identity; the 4 flips; or those and the same after a transpose (the 8 symmetries of a
    square)."""
    if mode not in TTA_MODES:
        raise InputError(f"tta must be one of {', '.join(TTA_MODES)}; got {mode!r}.")

    def flip(dims):
        return (lambda t: torch.flip(t, dims)), (lambda t: torch.flip(t, dims))

    identity = (lambda t: t, lambda t: t)
    if mode == "none":
        return [identity]
    flips = [identity, flip((-1,)), flip((-2,)), flip((-2, -1))]
    if mode == "flips":
        return flips

    def transposed(fwd, inv):
        return (lambda t: fwd(t.transpose(-2, -1))), (lambda t: inv(t).transpose(-2, -1))

    return flips + [transposed(f, i) for f, i in flips]


@torch.no_grad()
def predict_image(
    model: torch.nn.Module,
    image: np.ndarray,
    config: InferenceConfig | None = None,
    *,
    normalize: tuple[float, float] | None = (1.0, 99.0),
    zoom: float | tuple[float, float] = 1.0,
    batch_size: int = 4,
) -> np.ndarray:
    """Foreground probability of one 2D image by overlapping tiles with smooth blending.

    The image is reflect-padded so the tiles start on a regular grid of stride
    ``tile_px - overlap_px`` (keep the stride a multiple of the network's down-sampling factor
    for exact agreement with untiled prediction), each tile is predicted, weighted by
    `blend_window`, summed and normalised, and the padding is cropped. The network runs on its
    own device.

    Parameters
    ----------
    model : network mapping (B, C, H, W) to logits (B, 1, H, W), in eval mode
    image : (Y, X) ndarray, raw intensities; or (C, Y, X) for a multi-channel (2.5D) input.
        An interactive network gets it without clicks (zero click and previous-mask channels;
        `segtrain.refine` takes clicks); a probabilistic one gives the probability of its mean
        output (`segtrain.sample_prediction` draws samples)
    config : InferenceConfig or None, the tiles (``tile_px``, ``overlap_px``), the test-time
        augmentation ``tta`` ("none"; "flips": the identity, horizontal, vertical and both
        flips; "d4": those and the same after a transpose, all 8 symmetries of the square;
        the probabilities of the transformed tiles are mapped back and averaged) and ``amp``
        (bf16/fp16 autocast); None: the defaults
    normalize : (low, high) percentiles applied per channel, or None when `image` is already
        normalised
    zoom : float or (y, x) factors; not 1: the image is resampled by them (linear
        interpolation, anti-aliased when shrinking) before prediction and the probabilities
        back to its shape, so a network sees objects at the size in pixels it was trained at
        (`resample_zoom` gives the factors from pixel sizes)
    batch_size : int, tiles per forward pass

    Returns
    -------
    prob : (Y, X) ndarray of float32 in [0, 1]

    Examples
    --------
    >>> from segtrain import InferenceConfig, build_model
    >>> net = build_model("unet", {"depth": 2, "width": 4}).eval()
    >>> image = np.random.default_rng(0).random((100, 70))
    >>> predict_image(net, image, InferenceConfig(tile_px=32, overlap_px=8)).shape
    (100, 70)
    """
    config = config or InferenceConfig()
    transforms = tta_transforms(config.tta)
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise InputError(
            f"predict_image needs a 2D (Y, X) image or a (C, Y, X) multi-channel image; got "
            f"shape {image.shape}."
        )

    def predict(image: np.ndarray) -> np.ndarray:
        device = device_of(model)

        def tiles(batch: np.ndarray) -> np.ndarray:
            # The mean probability of the transformed tiles, mapped back: (1, B, tile, tile).
            t = torch.from_numpy(batch).to(device)
            prob = torch.zeros((t.shape[0], 1, *t.shape[-2:]), device=device)
            for forward, inverse in transforms:
                with autocast_for(device, bool(config.amp)):
                    out = model(forward(t))
                prob += inverse(torch.sigmoid(out.float()))
            return (prob / len(transforms))[:, 0].cpu().numpy()[None]

        x = image[None] if image.ndim == 2 else image
        x = normalize_channels(x, normalize) if normalize else x
        x = with_zero_clicks(model, x.astype(np.float32))  # an interactive net without clicks
        return blend_tiles(x, config.tile_px, config.overlap_px, tiles, batch_size=batch_size)[0]

    return zoomed(image, zoom, predict)


def stack_context(stack: np.ndarray, z: int, context: int) -> np.ndarray:
    """Slice `z` of a (Z, Y, X) stack with `context` neighbours per side as (2k + 1, Y, X),
    the first and last slice repeated beyond the ends (as `segtrain.io.read_stack` does)."""
    zs = np.clip(np.arange(z - context, z + context + 1), 0, stack.shape[0] - 1)
    return stack[zs]


def predict_stack(
    model: torch.nn.Module,
    stack: np.ndarray,
    config: InferenceConfig | None = None,
    *,
    context: int = 0,
    normalize: tuple[float, float] | None = (1.0, 99.0),
    zoom: float | tuple[float, float] = 1.0,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Slice-by-slice `predict_image` over a (Z, Y, X) stack; returns (Z, Y, X) float32.

    With ``context = k > 0`` (2.5D) each slice goes in with its k neighbours per side as
    channels (`stack_context`), each normalised on its own as in training. `progress`, when
    given, is called as ``progress(slices done, slices in all)``; `config`, `normalize` and
    `zoom` go to `predict_image`.
    """
    stack = np.asarray(stack)
    if stack.ndim != 3:
        raise InputError(f"predict_stack needs a (Z, Y, X) stack; got shape {stack.shape}.")
    planes = []
    for z in range(stack.shape[0]):
        image = stack_context(stack, z, context) if context > 0 else stack[z]
        planes.append(predict_image(model, image, config, normalize=normalize, zoom=zoom))
        if progress is not None:
            progress(z + 1, stack.shape[0])
    return np.stack(planes)


def postprocess_mask(
    prob: np.ndarray, *, threshold: float = 0.5, min_size_px: int = 0, max_hole_px: int = 0
) -> np.ndarray:
    """Threshold a probability map, drop objects smaller than `min_size_px` and fill holes
    smaller than `max_hole_px` (scikit-image; 0 = off). Report metrics with and without it.

    Parameters
    ----------
    prob : (Y, X) ndarray, or (Z, Y, X) for a stack (cleaned slice by slice)

    Returns
    -------
    ndarray of uint8 {0, 1}, the shape of `prob`
    """
    from skimage.morphology import remove_small_holes, remove_small_objects

    if np.ndim(prob) == 3:
        kw = {"threshold": threshold, "min_size_px": min_size_px, "max_hole_px": max_hole_px}
        return np.stack([postprocess_mask(p, **kw) for p in prob])
    m = np.asarray(prob) >= threshold
    # scikit-image >= 0.26 names the limit max_size (removes sizes <= it); older: min_size /
    # area_threshold (removes sizes < it).
    if min_size_px > 0:
        try:
            m = remove_small_objects(m, max_size=min_size_px - 1)
        except TypeError:
            m = remove_small_objects(m, min_size=min_size_px)
    if max_hole_px > 0:
        try:
            m = remove_small_holes(m, max_size=max_hole_px - 1)
        except TypeError:
            m = remove_small_holes(m, area_threshold=max_hole_px)
    return m.astype(np.uint8)
