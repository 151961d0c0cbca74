"""Grad-CAM and HiResCAM at one layer of any segmenter (B, C, H, W) -> logits (B, 1, H, W).

The explained score is a weighted sum of the foreground logit, ``S = sum_q T(q) logit(q)``. A
forward hook keeps the chosen layer's activation ``A`` (B, K, h, w) and autograd gives
``G = dS/dA``; then

- Grad-CAM (Selvaraju et al. 2017): ``ReLU(sum_k mean_p(G_k) A_k)``, one weight per channel;
- HiResCAM (Draelos and Carin 2020): ``ReLU(sum_k G_k * A_k)``, element-wise, so a pixel is hot
  only where its own activation moved the score;

both upsampled bilinearly to the input grid before the ReLU, so zero crossings are interpolated
rather than spread by the up-sampling (raw values in logit units, not rescaled). captum's
``LayerGradCam`` gives the same map: with ``relu_attributions=True`` at the layer's resolution,
and with ``relu_attributions=False`` interpolated bilinearly then clipped at 0 on the input grid.

Layers are found by a dry forward pass (`list_layers`); images of any size: `_explain`.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from shapelib import InputError

from ..inference._clicks import input_channels
from ..inference._device import device_of

__all__ = [
    "METHODS",
    "LayerInfo",
    "Method",
    "cam_batch",
    "check_layer",
    "check_method",
    "combine_maps",
    "default_layers",
    "eval_mode",
    "input_channels",
    "layer_gradient",
    "list_layers",
    "model_label",
    "stride_of",
    "upsample_map",
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


# --- the model's layers -----------------------------------------------------------------------


def model_label(model) -> str:
    return type(model).__name__


@contextmanager
def eval_mode(model):
    """Run in eval mode (batch norm with running statistics), restoring the mode after."""
    was = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was)


def stride_of(size: int, h: int) -> int:
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
    x = torch.zeros(1, input_channels(model), size, size, device=device_of(model))
    try:
        with eval_mode(model), torch.no_grad():
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
        out.append(LayerInfo(name, type(modules[name]).__name__, int(k), stride_of(size, h)))
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
            f"{model_label(model)} has no layer with several channels to explain; pass --layer "
            "NAME (see --list-layers)."
        )
    decoder = infos[-1].name
    top = max(i.stride for i in infos)
    bottleneck = [i for i in infos if i.stride == top][-1].name
    return [decoder] if top == 1 or bottleneck == decoder else [decoder, bottleneck]


def check_layer(model, layer: str) -> None:
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
        f"layer {layer!r} {why} {model_label(model)}; valid layers: {', '.join(short)}{tail}."
    )


# --- gradients at a layer ---------------------------------------------------------------------


def _no_gradient(model, layer: str, why: str) -> InputError:
    return InputError(
        f"{model_label(model)} cannot give gradients at layer {layer!r}: {why}. Explanations need "
        "a model whose logits (B, 1, H, W) are differentiable (not computed under torch.no_grad, "
        "detached or in NumPy); wrap a sampling model so it returns its mean logits."
    )


def layer_gradient(model, x: torch.Tensor, weights: torch.Tensor, layer: str):
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
                    f"layer {layer!r} of {model_label(model)} ran {len(kept)} times in one forward "
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
                    f"{model_label(model)} must map (B, C, H, W) to logits (B, 1, H, W) to be "
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


def combine_maps(act: torch.Tensor, grad: torch.Tensor, method: str) -> torch.Tensor:
    """(B, h, w) pre-ReLU map of one method from activation and gradient (B, K, h, w)."""
    if method == "gradcam":
        return (grad.mean(dim=(2, 3), keepdim=True) * act).sum(1)
    return (grad * act).sum(1)


def upsample_map(m: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, h, w) layer map -> (B, H, W) input grid, bilinear.

    A layer of stride s covers ``(h s, w s)`` input pixels; a network that pads its input at
    the bottom/right (to a multiple of its down-sampling) covers more than the input, so the
    map is upsampled to the covered size and cropped.
    """
    h, w = m.shape[-2:]
    s = stride_of(size[0], h)
    cover = (h * s, w * s) if h * s >= size[0] and w * s >= size[1] else size
    up = F.interpolate(m[:, None], size=cover, mode="bilinear", align_corners=False)[:, 0]
    return up[:, : size[0], : size[1]]


def check_method(method: str) -> None:
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
    check_method(method)
    check_layer(model, layer)
    with eval_mode(model):
        act, grad, _ = layer_gradient(model, x, weights, layer)
    cam = combine_maps(act, grad, method)
    return F.relu(upsample_map(cam, tuple(x.shape[-2:])) if upsample else cam)
