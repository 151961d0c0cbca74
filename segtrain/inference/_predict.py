"""Prediction of images of any size (by the tiles of `_tiles`), with test-time augmentation and
resampling to the network's pixel size (`_zoom`); EM stacks slice by slice; the mask of a
probability map (threshold, small objects and holes)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import torch

from shapelib import InputError

from ._clicks import with_zero_clicks
from ._config import TTA_MODES, InferenceConfig
from ._device import autocast_for, device_of
from ._normalise import normalize_channels
from ._tiles import blend_tiles_many, pad_for_tiles
from ._zoom import check_zoom, unzoom_probabilities, zoom_planes

__all__ = [
    "postprocess_mask",
    "predict_image",
    "predict_images",
    "predict_stack",
    "stack_context",
    "tiles_per_call",
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


def tiles_per_call(config: InferenceConfig, views: int = 1) -> int:
    """Tiles per forward call: as many as fill ``config.batch_px`` input pixels with `views`
    test-time views each (at least 1)."""
    return max(1, config.batch_px // (views * config.tile_px * config.tile_px))


def _tile_predictor(model: torch.nn.Module, config: InferenceConfig) -> Callable:
    """``tiles(batch) -> (1, B, tile, tile)``: the mean probability of the test-time views of a
    batch of tiles (B, C, tile, tile), every view of every tile in one forward call."""
    transforms = tta_transforms(config.tta)
    device = device_of(model)

    def tiles(batch: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(batch).to(device)
        n = t.shape[0]
        views = torch.cat([forward(t) for forward, _ in transforms])
        with autocast_for(device, bool(config.amp)):
            out = model(views)
        probs = torch.sigmoid(out.float())
        prob = sum(inv(probs[i * n : (i + 1) * n]) for i, (_, inv) in enumerate(transforms))
        return (prob / len(transforms))[:, 0].cpu().numpy()[None]

    return tiles


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise InputError(
            f"predict_image needs a 2D (Y, X) image or a (C, Y, X) multi-channel image; got "
            f"shape {image.shape}."
        )
    return image


@torch.no_grad()
def predict_images(
    model: torch.nn.Module,
    images: Sequence[np.ndarray],
    config: InferenceConfig | None = None,
    *,
    normalize: tuple[float, float] | None = (1.0, 99.0),
    zoom: float | tuple[float, float] = 1.0,
    batch_size: int | None = None,
) -> list[np.ndarray]:
    """`predict_image` of several images (any sizes, one channel count) whose tiles share the
    forward calls; one (Y, X) float32 probability per image."""
    config = config or InferenceConfig()
    images = [_check_image(im) for im in images]
    z = check_zoom(zoom)
    xs = []
    for image in images:
        x = zoom_planes(image, z) if z != (1.0, 1.0) else image
        x = x[None] if x.ndim == 2 else x
        x = normalize_channels(x, normalize) if normalize else x
        xs.append(with_zero_clicks(model, x.astype(np.float32)))  # an interactive net: no clicks
    n = batch_size or tiles_per_call(config, len(tta_transforms(config.tta)))
    probs = blend_tiles_many(
        xs, config.tile_px, config.overlap_px, _tile_predictor(model, config), batch_size=n
    )
    if z == (1.0, 1.0):
        return [p[0] for p in probs]
    return [unzoom_probabilities(p[0], im.shape[-2:]) for p, im in zip(probs, images, strict=True)]


def predict_image(
    model: torch.nn.Module,
    image: np.ndarray,
    config: InferenceConfig | None = None,
    *,
    normalize: tuple[float, float] | None = (1.0, 99.0),
    zoom: float | tuple[float, float] = 1.0,
    batch_size: int | None = None,
) -> np.ndarray:
    """Foreground probability of one 2D image by overlapping tiles with smooth blending.

    The image is reflect-padded so the tiles start on a regular grid of stride
    ``tile_px - overlap_px`` (keep the stride a multiple of the network's down-sampling factor
    for exact agreement with untiled prediction), each tile is predicted, weighted by
    `blend_window`, summed and normalised, and the padding is cropped. The network runs on its
    own device; the tiles and their test-time views go in batches of ``config.batch_px`` input
    pixels (one forward call for an image that fits), which gives the same probabilities as
    one tile at a time (within float rounding).

    Parameters
    ----------
    model : network mapping (B, C, H, W) to logits (B, 1, H, W), in eval mode
    image : (Y, X) ndarray, raw intensities; or (C, Y, X) for a multi-channel (2.5D) input.
        An interactive network gets it without clicks (zero click and previous-mask channels;
        `segtrain.refine` takes clicks); a probabilistic one gives the probability of its mean
        output (`segtrain.sample_prediction` draws samples)
    config : InferenceConfig or None, the tiles (``tile_px``, ``overlap_px``, ``batch_px``),
        the test-time augmentation ``tta`` ("none"; "flips": the identity, horizontal,
        vertical and both flips; "d4": those and the same after a transpose, all 8 symmetries
        of the square; the probabilities of the transformed tiles are mapped back and
        averaged) and ``amp`` (bf16/fp16 autocast); None: the defaults
    normalize : (low, high) percentiles applied per channel, or None when `image` is already
        normalised
    zoom : float or (y, x) factors; not 1: the image is resampled by them (linear
        interpolation, anti-aliased when shrinking) before prediction and the probabilities
        back to its shape, so a network sees objects at the size in pixels it was trained at
        (`resample_zoom` gives the factors from pixel sizes)
    batch_size : int or None, tiles per forward call (None: from ``config.batch_px``)

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
    kw = {"normalize": normalize, "zoom": zoom, "batch_size": batch_size}
    return predict_images(model, [_check_image(image)], config, **kw)[0]


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
    channels (`stack_context`), each normalised on its own as in training. The tiles of
    consecutive slices share forward calls (``config.batch_px``: small slices go in
    together). `progress`, when given, is called as ``progress(slices done, slices in all)``;
    `config`, `normalize` and `zoom` go to `predict_image`.
    """
    stack = np.asarray(stack)
    if stack.ndim != 3:
        raise InputError(f"predict_stack needs a (Z, Y, X) stack; got shape {stack.shape}.")
    config = config or InferenceConfig()
    # Slices per group: as many whole slices as one forward call takes (at least one).
    z_all = stack.shape[0]
    one = [stack_context(stack, 0, context) if context > 0 else stack[0]]
    tiles = len(pad_for_tiles(one[0], config.tile_px, config.overlap_px)[1])
    group = max(1, tiles_per_call(config, len(tta_transforms(config.tta))) // tiles)
    planes: list[np.ndarray] = []
    for z0 in range(0, z_all, group):
        zs = range(z0, min(z0 + group, z_all))
        images = [stack_context(stack, z, context) if context > 0 else stack[z] for z in zs]
        planes += predict_images(model, images, config, normalize=normalize, zoom=zoom)
        if progress is not None:
            progress(len(planes), z_all)
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
