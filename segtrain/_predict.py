"""Prediction on images of any size: overlapping tiles blended by a smooth window; EM stacks."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import torch

from shapelib import InputError, check_array_size

from ._augment import normalize_percentile
from ._clicks import with_zero_clicks
from ._device import autocast_for, device_of
from ._inference_config import TTA_MODES, InferenceConfig

__all__ = [
    "blend_window",
    "check_zoom",
    "pad_for_tiles",
    "postprocess_mask",
    "predict_image",
    "predict_stack",
    "resample_zoom",
    "stack_context",
    "tta_transforms",
    "unzoom_probabilities",
    "zoom_planes",
]

log = logging.getLogger(__name__)


def blend_window(tile_px: int, overlap_px: int, *, floor: float = 1e-6) -> np.ndarray:
    """A (tile, tile) blending weight that ignores tile edges and ramps smoothly between tiles.

    Along each axis: (almost) zero over the outer quarter of the overlap, a raised-cosine ramp
    over the next half, then 1. Neighbouring tiles overlap by `overlap_px`, so every pixel is
    covered by some tile's trusted part, and pixels within ``overlap_px // 4`` of a tile's edge,
    where the network sees padding, do not count (beyond `floor`). The blend therefore equals the
    untiled prediction wherever the network's reach is shorter than ``overlap_px // 4``, and the
    smooth ramp leaves no seams.
    """
    ramp = np.ones(tile_px, dtype=np.float64)
    if overlap_px > 0:
        q = overlap_px // 4
        n = max(overlap_px - 2 * q, 1)
        t = (np.arange(n) + 0.5) / n
        r = np.concatenate(
            [np.zeros(q), 0.5 * (1 - np.cos(np.pi * t)), np.ones(overlap_px - q - n)]
        )
        r = np.maximum(r, floor)
        ramp[:overlap_px] = r
        ramp[-overlap_px:] = np.minimum(ramp[-overlap_px:], r[::-1])
    return np.outer(ramp, ramp).astype(np.float32)


def _starts(n: int, tile: int, stride: int) -> list[int]:
    if n <= tile:
        return [0]
    k = int(np.ceil((n - tile) / stride))
    return [i * stride for i in range(k + 1)]


def _check_tiles(tile_px: int, overlap_px: int) -> None:
    if overlap_px < 0 or overlap_px * 2 > tile_px:
        raise InputError(
            f"overlap_px must be in [0, tile_px/2]; got {overlap_px} with tile_px {tile_px}."
        )


def pad_for_tiles(
    x: np.ndarray, tile_px: int, overlap_px: int
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The tiling of `predict_image` (its one owner: explanations tile the same way).

    The last two axes (Y, X) of `x` are reflect-padded by a margin of `overlap_px` on the
    top/left, so the first tile's ramp falls on padding, and by enough at the bottom/right to
    complete a grid of stride ``tile_px - overlap_px``; the image starts at
    ``(overlap_px, overlap_px)`` of the padded array.

    Returns
    -------
    padded : ndarray, `x` padded on its last two axes
    coords : list of (y0, x0), the tiles' top-left corners in the padded array
    """
    _check_tiles(tile_px, overlap_px)
    h, w = x.shape[-2:]
    stride = tile_px - overlap_px
    m = overlap_px
    ny = len(_starts(h + 2 * m, tile_px, stride))
    nx = len(_starts(w + 2 * m, tile_px, stride))
    full_h = max(tile_px, (ny - 1) * stride + tile_px)
    full_w = max(tile_px, (nx - 1) * stride + tile_px)
    coords = [
        (y0, x0)
        for y0 in _starts(full_h, tile_px, stride)
        for x0 in _starts(full_w, tile_px, stride)
    ]
    pads = [(0, 0)] * (x.ndim - 2) + [(m, full_h - h - m), (m, full_w - w - m)]
    return np.pad(x, pads, mode="reflect" if min(h, w) > 1 else "edge"), coords


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


def resample_zoom(image_px_nm, model_px_nm, where: str = "image") -> tuple[float, float]:
    """Per-axis zoom (y, x) that brings an image of `image_px_nm` pixels to the pixel size the
    network was trained at, `model_px_nm` (each a side or a (y, x) pair in nm): image / model,
    so 48 nm pixels for a model of 109 nm pixels give 0.44 (the image shrinks)."""
    img = np.broadcast_to(np.asarray(image_px_nm, dtype=float), (2,))
    mod = np.broadcast_to(np.asarray(model_px_nm, dtype=float), (2,))
    if not all(np.all(np.isfinite(a)) and np.all(a > 0) for a in (img, mod)):
        raise InputError(
            f"pixel sizes must be positive numbers of nm; got {image_px_nm!r} for {where} and "
            f"{model_px_nm!r} for the network."
        )
    return float(img[0] / mod[0]), float(img[1] / mod[1])


def _zoomed_shape(shape: tuple[int, int], zoom: tuple[float, float]) -> tuple[int, int]:
    return tuple(max(1, int(round(n * z))) for n, z in zip(shape, zoom, strict=True))


def check_zoom(zoom) -> tuple[float, float]:
    """`zoom` (a factor or a (y, x) pair) as two positive floats; a one-line error otherwise."""
    zoom = tuple(float(z) for z in np.broadcast_to(np.asarray(zoom, dtype=float), (2,)))
    if not all(np.isfinite(z) and z > 0 for z in zoom):
        raise InputError(f"zoom must be positive factors; got {zoom!r}.")
    return zoom


def zoom_planes(image: np.ndarray, zoom: tuple[float, float]) -> np.ndarray:
    """Resample the last two axes of a (Y, X) or (C, Y, X) image by `zoom` (linear,
    anti-aliased when shrinking); float32, the same number of axes."""
    from skimage.transform import resize

    image = np.asarray(image)
    shape = _zoomed_shape(image.shape[-2:], zoom)
    planes = image[None] if image.ndim == 2 else image
    hint = "Check the zoom (the image's pixel size)."
    check_array_size((len(planes), *shape), np.float64, what="the resampled image", hint=hint)
    smooth = any(z < 1 for z in zoom)
    out = [
        resize(c.astype(np.float32), shape, order=1, anti_aliasing=smooth, preserve_range=True)
        for c in planes
    ]
    out = np.stack(out).astype(np.float32)
    return out[0] if image.ndim == 2 else out


def unzoom_probabilities(prob: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Probability maps (.., Y', X') of a resampled image back to its (Y, X) `shape` (linear),
    clipped to [0, 1]; float32."""
    from skimage.transform import resize

    prob = np.asarray(prob, np.float32)
    back = resize(prob, (*prob.shape[:-2], *shape), order=1, preserve_range=True)
    return np.clip(back, 0, 1).astype(np.float32)


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
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise InputError(
            f"predict_image needs a 2D (Y, X) image or a (C, Y, X) multi-channel image; got "
            f"shape {image.shape}."
        )
    zoom = check_zoom(zoom)
    if zoom != (1.0, 1.0):
        small = zoom_planes(image, zoom)
        prob = predict_image(model, small, config, normalize=normalize, batch_size=batch_size)
        return unzoom_probabilities(prob, image.shape[-2:])
    tile, m = config.tile_px, config.overlap_px
    transforms = tta_transforms(config.tta)
    device = device_of(model)
    chans = image[None] if image.ndim == 2 else image
    if normalize:
        x = np.stack([normalize_percentile(c, low=normalize[0], high=normalize[1]) for c in chans])
    else:
        x = chans.astype(np.float32)
    x = with_zero_clicks(model, x.astype(np.float32))  # an interactive net without clicks
    h, w = x.shape[-2:]
    xp, coords = pad_for_tiles(x, tile, m)
    win = blend_window(tile, m)
    acc = np.zeros(xp.shape[-2:], np.float32)
    wsum = np.zeros(xp.shape[-2:], np.float32)
    for k in range(0, len(coords), batch_size):
        chunk = coords[k : k + batch_size]
        batch = np.stack([xp[:, y0 : y0 + tile, x0 : x0 + tile] for y0, x0 in chunk])
        t = torch.from_numpy(batch).to(device)
        prob = torch.zeros((t.shape[0], 1, *t.shape[-2:]), device=device)
        for forward, inverse in transforms:
            with autocast_for(device, bool(config.amp)):
                out = model(forward(t))
            prob += inverse(torch.sigmoid(out.float()))
        prob = (prob / len(transforms))[:, 0].cpu().numpy()
        for (y0, x0), p in zip(chunk, prob, strict=True):
            acc[y0 : y0 + tile, x0 : x0 + tile] += p * win
            wsum[y0 : y0 + tile, x0 : x0 + tile] += win
    out = acc / np.maximum(wsum, 1e-12)
    return np.clip(out[m : m + h, m : m + w], 0, 1).astype(np.float32)


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
