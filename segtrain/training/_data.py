"""Patch datasets for training: foreground-aware sampling from a weighted mixture of sources,
multi-channel input (2.5D neighbours), and the `Batch` the training loop and losses consume."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from shapelib import InputError

from ..inference._normalise import normalize_channels
from ._augment import random_geometry, sample_patch
from ._augment_config import AugmentConfig
from ._intensity import augment_intensity, augment_sections

__all__ = ["Batch", "PatchDataset", "as_channels", "prepare_images"]


@dataclass(frozen=True, eq=False)
class Batch:
    """One training batch. Losses read what they need; new inputs (clicks, a previous mask)
    become new channels of `image` or new fields here.

    Attributes
    ----------
    image : (B, C, P, P) float32 tensor, the network input (C = TrainConfig.input_channels)
    mask : (B, 1, P, P) float32 tensor in {0, 1}, the target
    """

    image: torch.Tensor
    mask: torch.Tensor

    def to(self, device, *, channels_last: bool = False) -> Batch:
        """The batch on `device` (the image in channels-last memory format when asked)."""
        image = self.image.to(device)
        if channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
        return Batch(image=image, mask=self.mask.to(device))


def as_channels(image: np.ndarray) -> np.ndarray:
    """A (Y, X) image as (1, Y, X); a (C, Y, X) image unchanged."""
    image = np.asarray(image)
    return image[None] if image.ndim == 2 else image


def prepare_images(items, *, percentiles=(1.0, 99.0)):
    """Normalise each `LabeledImage` (per-image, per-channel percentiles).

    Returns
    -------
    images : list of (C, Y, X) float32; masks : list of (Y, X) uint8; sources : list of str
    """
    images = [normalize_channels(as_channels(it.image), percentiles) for it in items]
    masks = [np.asarray(it.mask, dtype=np.uint8) for it in items]
    sources = [it.source for it in items]
    return images, masks, sources


def _pad_to(image: np.ndarray, mask: np.ndarray, size: int):
    """Reflect-pad (C, Y, X) image and (Y, X) mask together so both sides are >= size."""
    py = max(0, size - image.shape[-2])
    px = max(0, size - image.shape[-1])
    if py == 0 and px == 0:
        return image, mask
    pads = ((py // 2, py - py // 2), (px // 2, px - px // 2))
    mode = "reflect" if min(mask.shape) > 1 else "edge"
    return np.pad(image, ((0, 0), *pads), mode=mode), np.pad(mask, pads, mode=mode)


class PatchDataset(torch.utils.data.Dataset):
    """Square training patches cut from normalised images, deterministic per (seed, index).

    Patch ``i`` is drawn with ``np.random.default_rng((seed, i))``: a source by weight, an image
    in it by area, then a centre: with probability `fg_fraction` near a random foreground pixel,
    else uniform; then (if `augment`) its geometry, intensity and EM-section changes
    (`_augment`). The dataset is therefore reproducible, and a resumed training sees the
    patches it would have seen.

    Parameters
    ----------
    images : list of (Y, X) or (C, Y, X) float32 arrays, normalised (all with the same C)
    masks : list of (Y, X) uint8 arrays {0, 1}
    patch_px : int, side of the square patches
    length : int, nominal number of patches (indices may exceed it: patches are generated)
    sources : list of str, source name per image (for the mixture); None = one source
    source_weights : dict name -> weight; None = equal by source
    fg_fraction : float in [0, 1]
    augment : AugmentConfig or None (None: no augmentation)
    seed : int

    Returns (per item)
    ------------------
    image : (C, P, P) float32 tensor; mask : (1, P, P) float32 tensor {0, 1}

    Examples
    --------
    >>> import numpy as np
    >>> ds = PatchDataset([np.zeros((64, 64), np.float32)], [np.zeros((64, 64), np.uint8)],
    ...                   patch_px=32, length=4)
    >>> ds[0][0].shape
    torch.Size([1, 32, 32])
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        masks: Sequence[np.ndarray],
        *,
        patch_px: int = 256,
        length: int = 1000,
        sources: Sequence[str] | None = None,
        source_weights: dict[str, float] | None = None,
        fg_fraction: float = 0.5,
        augment: AugmentConfig | None = None,
        seed: int = 0,
    ):
        if len(images) == 0 or len(images) != len(masks):
            raise InputError(
                f"PatchDataset needs as many masks as images, at least one; got {len(images)} "
                f"images and {len(masks)} masks."
            )
        chans = [as_channels(im) for im in images]
        if len({c.shape[0] for c in chans}) != 1:
            raise InputError(
                f"all images need the same number of channels; got {[c.shape[0] for c in chans]}."
            )
        padded = [_pad_to(im, m, patch_px) for im, m in zip(chans, masks, strict=True)]
        self.images = [p[0] for p in padded]
        self.masks = [p[1] for p in padded]
        self.channels = int(self.images[0].shape[0])
        self.patch_px = int(patch_px)
        self.length = int(length)
        self.fg_fraction = float(fg_fraction)
        self.augment = augment
        self.seed = int(seed)
        sources = list(sources) if sources is not None else [""] * len(images)
        names = sorted(set(sources))
        weights = source_weights or {}
        w = np.array([float(weights.get(n, 1.0)) for n in names])
        self._source_p = w / w.sum()
        self._source_members = [[i for i, s in enumerate(sources) if s == n] for n in names]
        self._member_p = []
        for members in self._source_members:
            area = np.array([self.masks[i].size for i in members], dtype=float)
            self._member_p.append(area / area.sum())
        # Foreground pixel coordinates per image, for foreground-aware centres.
        self._fg = [np.flatnonzero(m) for m in self.masks]

    def __len__(self) -> int:
        return self.length

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Patch `index` as numpy arrays: image (C, P, P) float32, mask (P, P) uint8."""
        rng = np.random.default_rng((self.seed, int(index)))
        # Where: a source by weight, an image by area, a corner near foreground or anywhere.
        s = int(rng.choice(len(self._source_p), p=self._source_p))
        members = self._source_members[s]
        i = members[int(rng.choice(len(members), p=self._member_p[s]))]
        image, mask = self.images[i], self.masks[i]
        h, w = mask.shape
        p = self.patch_px
        fg = self._fg[i]
        if fg.size and rng.random() < self.fg_fraction:
            cy, cx = np.unravel_index(fg[int(rng.integers(fg.size))], (h, w))
            y0 = int(np.clip(cy - p // 2 + rng.integers(-p // 4, p // 4 + 1), 0, h - p))
            x0 = int(np.clip(cx - p // 2 + rng.integers(-p // 4, p // 4 + 1), 0, w - p))
        else:
            y0 = int(rng.integers(0, h - p + 1))
            x0 = int(rng.integers(0, w - p + 1))
        centre = (y0 + (p - 1) / 2, x0 + (p - 1) / 2)
        if self.augment is None:
            return sample_patch(image, mask, centre, p)
        # How: geometry on image and mask together, then the image-only changes.
        geometry = random_geometry(rng, self.augment, p)
        im, m = sample_patch(image, mask, centre, p, geometry)
        im = augment_intensity(im, rng, self.augment)
        im = augment_sections(im, rng, self.augment)
        return im, m

    def __getitem__(self, index: int):
        im, m = self.sample(index)
        return torch.from_numpy(im), torch.from_numpy(m.astype(np.float32))[None]

    def batch(self, start: int, size: int) -> Batch:
        """Patches ``start .. start+size-1`` stacked: (B, C, P, P) image, (B, 1, P, P) mask."""
        pairs = [self[start + k] for k in range(size)]
        return Batch(
            image=torch.stack([a for a, _ in pairs]), mask=torch.stack([b for _, b in pairs])
        )
