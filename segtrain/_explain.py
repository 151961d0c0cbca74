"""Grad-CAM and HiResCAM for any segmenter that maps (B, C, H, W) to logits (B, 1, H, W).

The explained score is a weighted sum of the foreground logit, ``S = sum_q T(q) logit(q)``, with
``T`` the predicted mask (or one object of it). A forward hook keeps the chosen layer's
activation ``A`` (B, K, h, w) and the backward pass gives ``G = dS/dA``; then

- Grad-CAM (Selvaraju et al. 2017): ``ReLU(sum_k mean_p(G_k) A_k)``, one weight per channel;
- HiResCAM (Draelos and Carin 2020): ``ReLU(sum_k G_k * A_k)``, element-wise, so a pixel is hot
  only where its own activation moved the score;

both upsampled bilinearly to the input grid before the ReLU, so zero crossings are interpolated
rather than spread by the up-sampling (raw values in logit units, not rescaled). captum's
``LayerGradCam`` gives the same map: with ``relu_attributions=True`` at the layer's resolution,
and with ``relu_attributions=False`` interpolated bilinearly then clipped at 0 on the input grid.

Large images are tiled exactly as `predict_image` tiles them (`pad_for_tiles`, `blend_window`).
Each tile explains its share of the image's score (the blending weights, which sum to one at
every pixel), so the tiles' gradients add up to the image's gradient: HiResCAM is the sum of the
tiles' maps, and Grad-CAM's channel weights are the tiles' gradient sums over the image pixels
divided by the image's layer pixels, applied to the activations blended as probabilities are.
Where the network's reach is shorter than a quarter of the overlap, this equals the untiled
explanation (tested).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from shapelib import InputError

from ._augment import normalize_percentile
from ._predict import blend_window, pad_for_tiles

__all__ = [
    "METHODS",
    "Explanation",
    "LayerInfo",
    "Method",
    "cam_batch",
    "cam_tiled",
    "default_layers",
    "explain_image",
    "input_channels",
    "label_objects",
    "list_layers",
    "prepare_input",
    "target_mask",
    "tiled_probability",
]

Method = Literal["gradcam", "hirescam"]
METHODS: tuple[str, ...] = ("gradcam", "hirescam")


@dataclass(frozen=True)
class LayerInfo:
    """A layer that can be explained: one (B, K, h, w) output per forward pass.

    Attributes
    ----------
    name : str, the module's name in ``model.named_modules()`` (e.g. ``dec.3``)
    kind : str, the module's class name
    channels : int, K
    stride : int, input pixels per layer pixel (1 = full resolution)
    """

    name: str
    kind: str
    channels: int
    stride: int


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


# --- the model's layers -----------------------------------------------------------------------


def _name(model) -> str:
    return type(model).__name__


def _device_of(model) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@contextmanager
def _eval_mode(model):
    """Run in eval mode (batch norm with running statistics), restoring the mode after."""
    was = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was)


def input_channels(model) -> int:
    """The number of input channels the model takes (its params, else its first convolution)."""
    c = getattr(getattr(model, "params", None), "in_channels", None)
    if isinstance(c, int):
        return c
    conv = next((m for m in model.modules() if isinstance(m, torch.nn.Conv2d)), None)
    return conv.in_channels if conv is not None else 1


def _stride(size: int, h: int) -> int:
    return max(1, 2 ** round(math.log2(size / h))) if h > 0 else 1


def list_layers(model) -> list[LayerInfo]:
    """Every layer that can be explained, in the order the forward pass finishes them.

    A dry run on a blank input records each module's output; modules that run more than once
    (a shared pooling layer) or give something other than one 4D tensor are left out. A
    container finishes after its children, so a stage (``dec.3``) comes after its parts.
    """
    size = max(128, 4 * int(getattr(model, "multiple", 1)))
    seen: dict[str, list] = {}
    order: list[str] = []

    def hook_for(name):
        def hook(_mod, _inp, out):
            seen.setdefault(name, []).append(
                tuple(out.shape) if isinstance(out, torch.Tensor) else None
            )
            order.append(name)

        return hook

    hooks = [m.register_forward_hook(hook_for(n)) for n, m in model.named_modules() if n]
    x = torch.zeros(1, input_channels(model), size, size, device=_device_of(model))
    try:
        with _eval_mode(model), torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    modules = dict(model.named_modules())
    out = []
    for name in order:
        shapes = seen[name]
        if len(shapes) != 1 or shapes[0] is None or len(shapes[0]) != 4:
            continue
        _, k, h, _ = shapes[0]
        out.append(LayerInfo(name, type(modules[name]).__name__, int(k), _stride(size, h)))
    return out


def default_layers(model) -> list[str]:
    """The layers explained by default: the last decoder stage before the head, and the
    bottleneck (the last layer at the coarsest resolution), or the model's own
    ``explain_layers`` when it names them.

    Found from the forward pass (`list_layers`): the decoder stage is the last layer with more
    than one channel; the bottleneck the last one at the largest stride (global poolings to
    1 x 1 do not count). A network without down-sampling has only the first.
    """
    named = getattr(model, "explain_layers", None)
    if named:
        return list(named)
    infos = [i for i in list_layers(model) if i.channels > 1]
    size = max(128, 4 * int(getattr(model, "multiple", 1)))
    infos = [i for i in infos if i.stride < size]
    if not infos:
        raise InputError(
            f"{_name(model)} has no layer with several channels to explain; pass --layer NAME "
            "(see --list-layers)."
        )
    decoder = infos[-1].name
    top = max(i.stride for i in infos)
    bottleneck = [i for i in infos if i.stride == top][-1].name
    return [decoder] if top == 1 or bottleneck == decoder else [decoder, bottleneck]


def _check_layer(model, layer: str) -> None:
    infos = list_layers(model)
    names = [i.name for i in infos]
    if layer in names:
        return
    known = {n for n, _ in model.named_modules() if n}
    why = (
        "gives no single (B, K, h, w) output per forward pass in"
        if layer in known
        else "is not a layer of"
    )
    short = [n for n in names if n.count(".") <= 1]
    more = len(names) - len(short)
    tail = f" (and {more} sub-layers; --list-layers shows them all)" if more else ""
    raise InputError(
        f"layer {layer!r} {why} {_name(model)}; valid layers: {', '.join(short)}{tail}."
    )


# --- gradients at a layer ---------------------------------------------------------------------


def _no_gradient(model, layer: str, why: str) -> InputError:
    return InputError(
        f"{_name(model)} cannot give gradients at layer {layer!r}: {why}. Explanations need a "
        "model whose logits (B, 1, H, W) are differentiable (not computed under torch.no_grad, "
        "detached or in NumPy); wrap a sampling model so it returns its mean logits."
    )


def _layer_gradient(model, x: torch.Tensor, weights: torch.Tensor, layer: str):
    """Activation A, gradient dS/dA and logits for ``S = sum(weights * logits)``.

    A forward hook keeps the layer's output and hands a copy on, so in-place operations after
    the layer (``ReLU(inplace=True)``) do not change the kept activation.
    """
    module = dict(model.named_modules())[layer]
    kept: list[torch.Tensor] = []

    def hook(_mod, _inp, out):
        if isinstance(out, torch.Tensor):
            kept.append(out)
            return out.clone()
        return None

    handle = module.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            logits = model(x.detach().requires_grad_(True))
            if len(kept) != 1:
                raise InputError(
                    f"layer {layer!r} of {_name(model)} ran {len(kept)} times in one forward "
                    "pass; choose a layer that runs once (see --list-layers)."
                )
            act = kept[0]
            if (
                not isinstance(logits, torch.Tensor)
                or logits.ndim != 4
                or logits.shape[1] != 1
                or logits.shape[-2:] != x.shape[-2:]
            ):
                got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits)
                raise InputError(
                    f"{_name(model)} must map (B, C, H, W) to logits (B, 1, H, W) to be "
                    f"explained; it gave {got} for input {tuple(x.shape)}."
                )
            if not logits.requires_grad:
                raise _no_gradient(model, layer, "its output carries no gradient")
            if not act.requires_grad:
                raise _no_gradient(model, layer, "no gradient reaches the layer")
            score = (weights * logits.float()).sum()
            (grad,) = torch.autograd.grad(score, act, allow_unused=True)
    finally:
        handle.remove()
    if grad is None:
        raise _no_gradient(model, layer, "the output does not depend on it")
    if act.ndim != 4:
        raise InputError(f"layer {layer!r} gives shape {tuple(act.shape)}, not (B, K, h, w).")
    return act.detach().float(), grad.detach().float(), logits.detach().float()


def _combine(act: torch.Tensor, grad: torch.Tensor, method: str) -> torch.Tensor:
    """(B, h, w) pre-ReLU map of one method from activation and gradient (B, K, h, w)."""
    if method == "gradcam":
        return (grad.mean(dim=(2, 3), keepdim=True) * act).sum(1)
    return (grad * act).sum(1)


def _upsample(m: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, h, w) layer map -> (B, H, W) input grid, bilinear.

    A layer of stride s covers ``(h s, w s)`` input pixels; a network that pads its input at
    the bottom/right (to a multiple of its down-sampling) covers more than the input, so the
    map is upsampled to the covered size and cropped.
    """
    h, w = m.shape[-2:]
    s = _stride(size[0], h)
    cover = (h * s, w * s) if h * s >= size[0] and w * s >= size[1] else size
    up = F.interpolate(m[:, None], size=cover, mode="bilinear", align_corners=False)[:, 0]
    return up[:, : size[0], : size[1]]


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}.")


def cam_batch(
    model,
    x: torch.Tensor,
    weights: torch.Tensor,
    *,
    layer: str,
    method: Method = "gradcam",
    upsample: bool = True,
) -> torch.Tensor:
    """Grad-CAM or HiResCAM of a batch, untiled.

    Parameters
    ----------
    model : network (B, C, H, W) -> logits (B, 1, H, W); run in eval mode
    x : (B, C, H, W) tensor, the network input
    weights : (B, 1, H, W) tensor, the target: score = sum(weights * logits) per batch
    layer : str, a name from `list_layers`
    method : "gradcam" or "hirescam"
    upsample : bool, to the input grid (else the layer's own (h, w))

    Returns
    -------
    (B, H, W) (or (B, h, w)) tensor of float32 >= 0
    """
    _check_method(method)
    _check_layer(model, layer)
    with _eval_mode(model):
        act, grad, _ = _layer_gradient(model, x, weights, layer)
    cam = _combine(act, grad, method)
    return F.relu(_upsample(cam, tuple(x.shape[-2:])) if upsample else cam)


# --- images of any size -----------------------------------------------------------------------


def prepare_input(model, image: np.ndarray, *, normalize=(1.0, 99.0), where: str = "image"):
    """The network input (C, Y, X) float32 of a raw image, checked against the model's channels.

    A 2D image is one channel; a 3D array is (C, Y, X). Each channel is normalised to its
    `normalize` percentiles (None: used as given).
    """
    image = np.asarray(image)
    c = input_channels(model)
    got = 1 if image.ndim == 2 else image.shape[0] if image.ndim == 3 else None
    if got != c:
        what = f"{got} channel(s)" if got is not None else f"{image.ndim} dimensions"
        raise InputError(
            f"{where} has shape {image.shape} ({what}), but the run's {_name(model)} takes "
            f"{c} input channel(s): pass {'2D grey images' if c == 1 else f'({c}, Y, X) images'}"
            + (" (split a stack into its slices)" if c == 1 and image.ndim == 3 else "")
            + "."
        )
    x = image[None] if image.ndim == 2 else image
    if normalize:
        x = np.stack([normalize_percentile(ch, low=normalize[0], high=normalize[1]) for ch in x])
    return x.astype(np.float32)


def tiled_probability(
    model,
    x: np.ndarray,
    *,
    tile_px: int = 256,
    overlap_px: int = 64,
    batch_size: int = 4,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Foreground probability (Y, X) of a normalised input (C, Y, X), tiled and blended as
    `predict_image` does (no TTA; equal to it for one channel)."""
    device = torch.device(device) if device is not None else _device_of(model)
    h, w = x.shape[-2:]
    m = overlap_px
    xp, coords = pad_for_tiles(np.asarray(x, np.float32), tile_px, overlap_px)
    win = blend_window(tile_px, overlap_px)
    acc = np.zeros(xp.shape[-2:], np.float32)
    wsum = np.zeros(xp.shape[-2:], np.float32)
    with _eval_mode(model), torch.no_grad():
        for k in range(0, len(coords), batch_size):
            chunk = coords[k : k + batch_size]
            batch = np.stack([xp[:, y : y + tile_px, x0 : x0 + tile_px] for y, x0 in chunk])
            prob = torch.sigmoid(model(torch.from_numpy(batch).to(device)).float())
            for (y, x0), p in zip(chunk, prob[:, 0].cpu().numpy(), strict=True):
                acc[y : y + tile_px, x0 : x0 + tile_px] += p * win
                wsum[y : y + tile_px, x0 : x0 + tile_px] += win
    out = acc / np.maximum(wsum, 1e-12)
    return np.clip(out[m : m + h, m : m + w], 0, 1).astype(np.float32)


def cam_tiled(
    model,
    x: np.ndarray,
    target: np.ndarray,
    *,
    layer: str,
    methods=("gradcam",),
    tile_px: int = 256,
    overlap_px: int = 64,
    device: str | torch.device | None = None,
) -> dict[str, np.ndarray]:
    """Grad-CAM and/or HiResCAM of a normalised input (C, Y, X) of any size, by tiles.

    Parameters
    ----------
    x : (C, Y, X) ndarray of float32, the network input
    target : (Y, X) ndarray, weight of each pixel's logit in the explained score (0/1 mask)
    layer : str, a name from `list_layers`
    methods : "gradcam" and/or "hirescam"
    tile_px, overlap_px : the tiling of `predict_image`

    Returns
    -------
    dict method -> (Y, X) ndarray of float32 >= 0
    """
    for method in methods:
        _check_method(method)
    _check_layer(model, layer)
    device = torch.device(device) if device is not None else _device_of(model)
    h, w = x.shape[-2:]
    m = overlap_px
    xp, coords = pad_for_tiles(np.asarray(x, np.float32), tile_px, overlap_px)
    grid = xp.shape[-2:]
    # Each tile's share of the score: blend weight / the weights' sum, zero in the padding.
    win = blend_window(tile_px, overlap_px)
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
    with _eval_mode(model):
        for y, x0 in coords:
            sl = (slice(y, y + tile_px), slice(x0, x0 + tile_px))
            t = torch.from_numpy(np.ascontiguousarray(xp[(slice(None), *sl)]))[None].to(device)
            wt = torch.from_numpy(win * share[sl])[None, None].to(device)
            act, grad, _ = _layer_gradient(model, t, wt, layer)
            stride = _stride(tile_px, act.shape[-2])
            frac = F.adaptive_avg_pool2d(
                torch.from_numpy(inside[sl])[None, None].to(device), act.shape[-2:]
            )
            g = (grad[0] * frac[0]).sum(dim=(1, 2))
            gsum = g if gsum is None else gsum + g
            if "hirescam" in methods:
                hr = _upsample(_combine(act, grad, "hirescam"), (tile_px, tile_px))
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
            cam = _upsample((weight * act).sum(0)[None], (tile_px, tile_px))[0].numpy()
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
    *,
    layer: str | None = None,
    methods=("gradcam",),
    object_id: int | None = None,
    threshold: float = 0.5,
    normalize: tuple[float, float] | None = (1.0, 99.0),
    tile_px: int = 256,
    overlap_px: int = 64,
    device: str | torch.device | None = None,
    where: str = "image",
) -> Explanation:
    """Explain a segmenter's mask of one image: predict, pick the target, compute heatmaps.

    Parameters
    ----------
    model : network (B, C, H, W) -> logits (B, 1, H, W) (any registered segtrain model)
    image : (Y, X) ndarray (one channel) or (C, Y, X), raw intensities
    layer : str or None, a name from `list_layers`; None: the first of `default_layers`
    methods : "gradcam" and/or "hirescam"
    object_id : int or None, explain one object (4-connected component, numbered as in the
        report) instead of the whole predicted mask
    threshold : float, probability -> mask
    normalize : (low, high) percentiles, or None when `image` is normalised already
    tile_px, overlap_px : the tiling of `predict_image`

    Returns
    -------
    Explanation

    Examples
    --------
    >>> from segtrain import build_model
    >>> net = build_model("unet", {"depth": 2, "width": 4}).eval()
    >>> img = np.random.default_rng(0).random((64, 48))
    >>> ex = explain_image(net, img, methods=("gradcam", "hirescam"), tile_px=64, overlap_px=16)
    >>> ex.layer, ex.heatmaps["gradcam"].shape
    ('dec.1', (64, 48))
    """
    x = prepare_input(model, image, normalize=normalize, where=where)
    layer = layer or default_layers(model)[0]
    kw = dict(tile_px=tile_px, overlap_px=overlap_px, device=device)
    prob = tiled_probability(model, x, **kw)
    mask = prob >= threshold
    target = target_mask(mask, object_id, where=where)
    heat = cam_tiled(model, x, target, layer=layer, methods=tuple(methods), **kw)
    return Explanation(layer, heat, prob, mask, target, x)
