"""Explanations of images of any size: the network input, the prediction, the explained
pixels (the predicted mask or one object), and heatmaps by tiles (the maps: `_cam`).

Large images are tiled exactly as `predict_image` tiles them (`pad_for_tiles`, `blend_window`).
Each tile explains its share of the image's score (the blending weights, which sum to one at
every pixel), so the tiles' gradients add up to the image's gradient: HiResCAM is the sum of the
tiles' maps, and Grad-CAM's channel weights are the tiles' gradient sums over the image pixels
divided by the image's layer pixels, applied to the activations blended as probabilities are.
Where the network's reach is shorter than a quarter of the overlap, this equals the untiled
explanation (tested).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from shapelib import InputError

from ..inference._clicks import with_zero_clicks
from ..inference._config import InferenceConfig
from ..inference._device import device_of
from ..inference._normalise import prepare_image
from ..inference._tiles import blend_tiles, blend_window, pad_for_tiles
from ._cam import (
    check_layer,
    check_method,
    combine_maps,
    default_layers,
    eval_mode,
    layer_gradient,
    stride_of,
    upsample_map,
)

__all__ = [
    "Explanation",
    "cam_tiled",
    "explain_image",
    "label_objects",
    "prepare_input",
    "target_mask",
    "tiled_probability",
]


@dataclass(frozen=True, eq=False)
class Explanation:
    """Heatmaps of one image at one layer, with the prediction they explain.

    Attributes
    ----------
    layer : str
    heatmaps : dict method -> (Y, X) ndarray of float32 >= 0, on the image grid
    prob : (Y, X) ndarray of float32, foreground probability
    mask : (Y, X) ndarray of bool, ``prob >= threshold``
    target : (Y, X) ndarray of bool, the pixels whose logits were summed (mask or one object)
    input : (C, Y, X) ndarray of float32, the normalised network input
    """

    layer: str
    heatmaps: dict[str, np.ndarray] = field(repr=False)
    prob: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)
    target: np.ndarray = field(repr=False)
    input: np.ndarray = field(repr=False)


# --- images of any size -----------------------------------------------------------------------


def prepare_input(model, image: np.ndarray, *, normalize=(1.0, 99.0), where: str = "image"):
    """The network input (C, Y, X) float32 of a raw image: `segtrain.prepare_image`, and for an
    interactive network its zero click and previous-mask channels (explained without clicks).
    """
    x = prepare_image(model, image, normalize=normalize, where=where)
    return with_zero_clicks(model, x)


def tiled_probability(
    model, x: np.ndarray, config: InferenceConfig | None = None, *, batch_size: int = 4
) -> np.ndarray:
    """Foreground probability (Y, X) of a normalised input (C, Y, X), tiled and blended as
    `predict_image` does with the tiles of `config` (no TTA, float32; equal to it for one
    channel)."""
    config = config or InferenceConfig()
    device = device_of(model)

    def tiles(batch: np.ndarray) -> np.ndarray:
        prob = torch.sigmoid(model(torch.from_numpy(batch).to(device)).float())
        return prob[:, 0].cpu().numpy()[None]

    with eval_mode(model), torch.no_grad():
        probs = blend_tiles(x, config.tile_px, config.overlap_px, tiles, batch_size=batch_size)
    return probs[0]


def cam_tiled(
    model,
    x: np.ndarray,
    target: np.ndarray,
    config: InferenceConfig | None = None,
    *,
    layer: str,
    methods=("gradcam",),
) -> dict[str, np.ndarray]:
    """Grad-CAM and/or HiResCAM of a normalised input (C, Y, X) of any size, by tiles.

    Parameters
    ----------
    x : (C, Y, X) ndarray of float32, the network input
    target : (Y, X) ndarray, weight of each pixel's logit in the explained score (0/1 mask)
    config : InferenceConfig or None, the tiling of `predict_image` (``tile_px``,
        ``overlap_px``)
    layer : str, a name from `list_layers`
    methods : "gradcam" and/or "hirescam"

    Returns
    -------
    dict method -> (Y, X) ndarray of float32 >= 0
    """
    config = config or InferenceConfig()
    for method in methods:
        check_method(method)
    check_layer(model, layer)
    device = device_of(model)
    h, w = x.shape[-2:]
    tile_px = config.tile_px
    m = config.overlap_px
    xp, coords = pad_for_tiles(np.asarray(x, np.float32), tile_px, m)
    grid = xp.shape[-2:]
    # Each tile's share of the score: blend weight / the weights' sum, zero in the padding.
    win = blend_window(tile_px, m)
    wsum = np.zeros(grid, np.float32)
    for y, x0 in coords:
        wsum[y : y + tile_px, x0 : x0 + tile_px] += win
    share = np.zeros(grid, np.float32)
    share[m : m + h, m : m + w] = np.asarray(target, np.float32)
    share /= np.maximum(wsum, 1e-12)
    inside = np.zeros(grid, np.float32)
    inside[m : m + h, m : m + w] = 1
    # Pass 1: per tile the activation and the gradient of its share.
    hires = np.zeros(grid, np.float32)
    gsum, acts, stride = None, [], 1
    with eval_mode(model):
        for y, x0 in coords:
            sl = (slice(y, y + tile_px), slice(x0, x0 + tile_px))
            t = torch.from_numpy(np.ascontiguousarray(xp[(slice(None), *sl)]))[None].to(device)
            wt = torch.from_numpy(win * share[sl])[None, None].to(device)
            act, grad, _ = layer_gradient(model, t, wt, layer)
            stride = stride_of(tile_px, act.shape[-2])
            frac = F.adaptive_avg_pool2d(
                torch.from_numpy(inside[sl])[None, None].to(device), act.shape[-2:]
            )
            g = (grad[0] * frac[0]).sum(dim=(1, 2))
            gsum = g if gsum is None else gsum + g
            if "hirescam" in methods:
                hr = upsample_map(combine_maps(act, grad, "hirescam"), (tile_px, tile_px))
                hires[sl] += hr[0].cpu().numpy()
            if "gradcam" in methods:
                acts.append(act[0].cpu())
    out = {}
    if "hirescam" in methods:
        out["hirescam"] = np.maximum(hires[m : m + h, m : m + w], 0)
    if "gradcam" in methods:
        # Pass 2: channel weights = the image's mean gradient; activations blended as in
        # prediction.
        weight = (gsum / (h * w / stride**2)).cpu()[:, None, None]
        acc = np.zeros(grid, np.float32)
        for (y, x0), act in zip(coords, acts, strict=True):
            cam = upsample_map((weight * act).sum(0)[None], (tile_px, tile_px))[0].numpy()
            acc[y : y + tile_px, x0 : x0 + tile_px] += cam * win
        out["gradcam"] = np.maximum(acc / np.maximum(wsum, 1e-12), 0)[m : m + h, m : m + w]
    return {k: out[k].astype(np.float32) for k in methods}


# --- targets ----------------------------------------------------------------------------------


def label_objects(mask: np.ndarray) -> np.ndarray:
    """Objects of a mask as 4-connected components numbered 1, 2, ... in raster order (the
    numbering of `quantify_mask`, so report numbers and ``--object`` ids agree)."""
    from skimage.measure import label

    return label(np.asarray(mask) > 0, connectivity=1)


def target_mask(mask: np.ndarray, object_id: int | None = None, *, where: str = "image"):
    """The pixels whose logits are summed: the whole mask, or object `object_id` of it."""
    mask = np.asarray(mask) > 0
    if object_id is None:
        return mask
    labels = label_objects(mask)
    n = int(labels.max())
    if not 1 <= object_id <= n:
        have = f"objects 1..{n}" if n else "no objects"
        raise InputError(
            f"object {object_id} is not in the predicted mask of {where} ({have}, numbered as "
            "in `mitoshape report`); pass one of those ids or leave --object out."
        )
    return labels == object_id


def explain_image(
    model,
    image: np.ndarray,
    config: InferenceConfig | None = None,
    *,
    layer: str | None = None,
    methods=("gradcam",),
    object_id: int | None = None,
    normalize: tuple[float, float] | None = (1.0, 99.0),
    where: str = "image",
) -> Explanation:
    """Explain a segmenter's mask of one image: predict, pick the target, compute heatmaps.

    Parameters
    ----------
    model : network (B, C, H, W) -> logits (B, 1, H, W) (any registered segtrain model)
    image : (Y, X) ndarray (one channel) or (C, Y, X), raw intensities
    config : InferenceConfig or None, the tiling of `predict_image` (``tile_px``,
        ``overlap_px``) and the ``threshold`` of the explained mask (its TTA and precision do
        not apply: explanations are float32, untransformed)
    layer : str or None, a name from `list_layers`; None: the first of `default_layers`
    methods : "gradcam" and/or "hirescam"
    object_id : int or None, explain one object (4-connected component, numbered as in the
        report) instead of the whole predicted mask
    normalize : (low, high) percentiles, or None when `image` is normalised already

    Returns
    -------
    Explanation

    Examples
    --------
    >>> from segtrain import InferenceConfig, build_model
    >>> net = build_model("unet", {"depth": 2, "width": 4}).eval()
    >>> img = np.random.default_rng(0).random((64, 48))
    >>> tiles = InferenceConfig(tile_px=64, overlap_px=16)
    >>> ex = explain_image(net, img, tiles, methods=("gradcam", "hirescam"))
    >>> ex.layer, ex.heatmaps["gradcam"].shape
    ('dec.1', (64, 48))
    """
    config = config or InferenceConfig()
    x = prepare_input(model, image, normalize=normalize, where=where)
    layer = layer or default_layers(model)[0]
    prob = tiled_probability(model, x, config)
    mask = prob >= config.threshold
    target = target_mask(mask, object_id, where=where)
    heat = cam_tiled(model, x, target, config, layer=layer, methods=tuple(methods))
    return Explanation(layer, heat, prob, mask, target, x)
