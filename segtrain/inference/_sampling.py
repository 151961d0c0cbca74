"""Sampled predictions: K masks of a probabilistic network, their mean and spread.

A probabilistic network (``prob_unet``) draws K latent vectors ``z = mu + sigma eps`` from its
prior; the prediction is the mean of the K probabilities (thresholded at 0.5 for the mask) and
the uncertainty their per-pixel standard deviation (population std, exactly 0 where all K agree).
The K draws ``eps`` are made once per image and shared by all its tiles, so a sample is one
latent vector over the whole image. A deterministic network has no latent: its spread is that of
the four flip test-time augmentations (identity, left-right, up-down, both), the baseline the
probabilistic uncertainty is measured against.

Images of any size are tiled exactly as `predict_image` tiles them; a window of an image (for a
refinement) is predicted in one pass (`whole=True`). Without ``keep_samples`` the tiles are
blended a band of rows at a time and each band is reduced to its mean and std as it comes
(`blend_tile_rows`), so the K maps of the whole image are never held at once: the same mean and
std (per-pixel operations on the same values), a fraction of the memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from shapelib import InputError

from ._clicks import Click, check_clicks, click_settings, network_input
from ._config import SAMPLES, InferenceConfig
from ._device import autocast_for, device_of
from ._normalise import prepare_image
from ._predict import tta_transforms
from ._tiles import blend_tile_rows

__all__ = [
    "Samples",
    "draw_eps",
    "flip_samples",
    "is_probabilistic",
    "sample_prediction",
    "sample_kind",
    "samples_of_input",
]


@dataclass(frozen=True, eq=False)
class Samples:
    """K sampled probability maps of one image and their summary.

    Attributes
    ----------
    mean : (Y, X) float32, mean probability (the prediction; mask = mean >= 0.5)
    std : (Y, X) float32, per-pixel std across the samples (the uncertainty); 0 where all agree
    samples : (K, Y, X) float32, the probability maps; None when they were not kept
        (``keep_samples=False``: only their mean and std)
    kind : "latent" (prior samples), "flips" (4 flip TTA predictions) or "single" (K = 1)
    """

    mean: np.ndarray = field(repr=False)
    std: np.ndarray = field(repr=False)
    samples: np.ndarray | None = field(repr=False)
    kind: str


def is_probabilistic(net) -> bool:
    """True for a network that draws latent samples (``sample_logits``)."""
    return callable(getattr(net, "sample_logits", None))


def draw_eps(net, samples: int, rng=None) -> torch.Tensor:
    """(K, latent) standard-normal draws for `net`'s latent, from `rng`."""
    rng = np.random.default_rng(rng)
    return torch.from_numpy(
        rng.standard_normal((samples, net.params.latent_dim)).astype(np.float32)
    )


def summarize_samples(stack: np.ndarray, kind: str) -> Samples:
    """`Samples` of a (K, Y, X) stack: mean and population std (0 where all K agree)."""
    stack = np.asarray(stack, np.float32)
    mean = stack.mean(0)
    std = stack.std(0)
    std[stack.max(0) == stack.min(0)] = 0.0
    f32 = np.float32
    return Samples(mean.astype(f32, copy=False), std.astype(f32, copy=False), stack, kind)


def _probabilities(net, t: torch.Tensor, eps, kind: str, amp: bool, crop=None) -> torch.Tensor:
    """(K, B, H, W) probabilities of a batch of inputs t (B, C, H, W) (of its `crop`)."""
    with autocast_for(t.device, amp):
        if kind == "latent":
            return torch.sigmoid(net.sample_logits(t, eps, crop=crop).float())[:, :, 0]
        if kind == "flips":
            outs = [inv(torch.sigmoid(net(fwd(t)).float())) for fwd, inv in tta_transforms("flips")]
            p = torch.stack(outs)[:, :, 0]
        else:
            p = torch.sigmoid(net(t).float())[None, :, 0]
    return p if crop is None else p[..., crop[0] : crop[1], crop[2] : crop[3]]


def sample_kind(net, samples: int) -> str:
    """What `samples` draws of `net` are: "latent" (a probabilistic net), "flips" (the 4 flips
    of a deterministic one, for more than 1) or "single"."""
    if is_probabilistic(net):
        return "latent"
    return "flips" if samples > 1 else "single"


@torch.no_grad()
def samples_of_input(
    net,
    x: np.ndarray,
    config: InferenceConfig | None = None,
    *,
    samples: int = SAMPLES,
    eps: torch.Tensor | None = None,
    rng=None,
    whole: bool = False,
    crop=None,
    batch_size: int = 1,
    keep_samples: bool = True,
) -> Samples:
    """`Samples` of a prepared network input `x` (C, Y, X) (normalised image channels, and the
    click channels of an interactive network), on the network's device.

    Probabilistic nets: `samples` prior draws (`eps`, or drawn from `rng`); deterministic nets:
    the 4 flips when ``samples > 1``, else one pass. `whole`: one pass over all of `x` (a
    window; `crop` (row0, row1, col0, col1): only that part is returned, and a probabilistic
    net runs its heads there only), else the tiles of `config` as `predict_image` (its
    ``tta`` does not apply: samples are the augmentation; ``amp`` does). `keep_samples`:
    False gives mean and std only (``samples`` None), computed a band of tiles at a time.
    """
    config = config or InferenceConfig()
    if samples < 1:
        raise InputError(f"samples must be >= 1; got {samples}.")
    kind = sample_kind(net, samples)
    if kind == "latent" and eps is None:
        eps = draw_eps(net, samples, rng)
    device, amp = device_of(net), bool(config.amp)
    was = net.training
    net.eval()
    try:
        if whole:
            t = torch.from_numpy(np.ascontiguousarray(x, np.float32))[None].to(device)
            t = t.contiguous(memory_format=torch.channels_last)
            stack = _probabilities(net, t, eps, kind, amp, crop)[:, 0].cpu().numpy()
            out = summarize_samples(np.clip(stack, 0, 1, out=stack), kind)
            return out if keep_samples else Samples(out.mean, out.std, None, kind)

        def tiles(batch: np.ndarray) -> np.ndarray:
            t = torch.from_numpy(batch).to(device).contiguous(memory_format=torch.channels_last)
            return _probabilities(net, t, eps, kind, amp).cpu().numpy()

        bands = blend_tile_rows(x, config.tile_px, config.overlap_px, tiles, batch_size=batch_size)
        if keep_samples:
            return summarize_samples(np.concatenate([b for _, b in bands], axis=1), kind)
        mean = np.empty(x.shape[-2:], np.float32)
        std = np.empty(x.shape[-2:], np.float32)
        for row0, band in bands:  # each band's summary as it comes; the band is then freed
            part = summarize_samples(band, kind)
            mean[row0 : row0 + band.shape[1]] = part.mean
            std[row0 : row0 + band.shape[1]] = part.std
            del band, part  # freed before the next band is made
        return Samples(mean, std, None, kind)
    finally:
        net.train(was)


def _input(net, image, clicks, prev_mask, normalize, where) -> np.ndarray:
    x = prepare_image(net, image, normalize=normalize, where=where)
    settings = click_settings(net)
    if settings is None:
        if clicks or prev_mask is not None:
            raise InputError(
                f"this {type(net).__name__} run takes no clicks or previous mask; train an "
                "interactive one with `mitoshape train --interactive`."
            )
        return x
    clicks = check_clicks(clicks, x.shape[-2:], where=where)
    if prev_mask is not None and np.shape(prev_mask) != x.shape[-2:]:
        raise InputError(
            f"prev_mask has shape {np.shape(prev_mask)}, the image {x.shape[-2:]}; pass the "
            "previous probability of this image."
        )
    return network_input(x, clicks, prev_mask, radius_px=settings.radius_px)


def sample_prediction(
    net,
    image: np.ndarray,
    config: InferenceConfig | None = None,
    *,
    samples: int = SAMPLES,
    clicks: Sequence[Click] = (),
    prev_mask: np.ndarray | None = None,
    normalize: tuple[float, float] | None = (1.0, 99.0),
    rng=None,
) -> Samples:
    """K samples of a probabilistic network's prediction of one 2D image, by tiles.

    Parameters
    ----------
    net : a probabilistic network (``prob_unet``), in eval mode
    image : (Y, X) ndarray (or (C, Y, X) for 2.5D runs), raw intensities
    config : InferenceConfig or None, the tiles and the precision (``amp``)
    samples : int, K draws from the prior (DeepPI-EM: 16)
    clicks, prev_mask : for an interactive network: the clicks so far and the previous
        probability (Y, X) (None: zeros)
    normalize : percentiles per channel, or None when `image` is normalised already
    rng : seed or Generator of the latent draws (the same seed gives the same samples)

    Returns
    -------
    Samples (mean, std, samples (K, Y, X), kind "latent")

    Examples
    --------
    >>> from segtrain import InferenceConfig, build_model
    >>> net = build_model("prob_unet", {"depth": 2, "width": 4}).eval()
    >>> image = np.random.default_rng(0).random((40, 30))
    >>> tiles = InferenceConfig(tile_px=32, overlap_px=8)
    >>> s = sample_prediction(net, image, tiles, samples=4, rng=0)
    >>> s.samples.shape, s.mean.shape
    ((4, 40, 30), (40, 30))
    """
    if not is_probabilistic(net):
        raise InputError(
            f"this run is not probabilistic ({type(net).__name__} draws no samples); --samples "
            "needs a prob_unet run (mitoshape train --model prob_unet)."
        )
    x = _input(net, image, clicks, prev_mask, normalize, "image")
    return samples_of_input(net, x, config, samples=samples, rng=rng)


def flip_samples(
    net,
    image: np.ndarray,
    config: InferenceConfig | None = None,
    *,
    normalize: tuple[float, float] | None = (1.0, 99.0),
) -> Samples:
    """The 4 flip TTA predictions of a deterministic network as `Samples` (kind "flips"): the
    baseline uncertainty (their spread). Interactive networks get the zero-click input."""
    if is_probabilistic(net):
        raise InputError("flip_samples is the deterministic baseline; use sample_prediction.")
    x = _input(net, image, (), None, normalize, "image")
    return samples_of_input(net, x, config, samples=4)
