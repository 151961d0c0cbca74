"""The data stage of training: the patch stream of the training images (`PatchDataset`), the
material each validation scores (`ValData`: held-out images, fixed training patches) and the
record of what was held out, all from a split (`segtrain.training._holdout`) already read.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..inference._normalise import normalize_channels
from ._config import TrainConfig
from ._data import Batch, PatchDataset, as_channels, prepare_images
from ._holdout import Holdout
from ._prefetch import Prefetcher
from ._unlabelled import UnlabelledPatches

__all__ = ["TrainData", "ValData", "training_data", "with_zero_click_channels"]

log = logging.getLogger(__name__)


def with_zero_click_channels(batch: Batch) -> Batch:
    """The batch with zero click and previous-mask channels (the zero-click input)."""
    b, _, h, w = batch.image.shape
    zeros = batch.image.new_zeros((b, 3, h, w))
    return Batch(image=torch.cat([batch.image, zeros], dim=1), mask=batch.mask)


@dataclass(frozen=True, eq=False)
class ValData:
    """What each validation scores: held-out images (normalised) and fixed training patches."""

    images: list
    masks: list
    train_patches: Batch
    held_out: bool


@dataclass(frozen=True, eq=False)
class TrainData:
    """The data stage's material.

    Attributes
    ----------
    patches : PatchDataset, the seeded, augmented training patch stream
    val : ValData
    split : dict, what was held out (``split.json``)
    description : str, the validation in words (for logs and the curves)
    batch_size : int
    channels_last : bool, batches in channels-last memory format (`TrainConfig.channels_last`)
    unlabelled : UnlabelledPatches or None, the patch stream of the unlabelled images
    """

    patches: PatchDataset
    val: ValData
    split: dict
    description: str
    batch_size: int
    channels_last: bool
    unlabelled: UnlabelledPatches | None = None

    def cpu_batch(self, step: int) -> Batch:
        """Batch `step` of the patch stream, on the CPU (a pure function of the step)."""
        return self.patches.batch(step * self.batch_size, self.batch_size)

    def batch(
        self,
        step: int,
        device,
        *,
        model=None,
        hooks: Sequence = (),
        ahead: Prefetcher | None = None,
    ) -> Batch:
        """Batch `step` of the patch stream on `device` (from `ahead` when given: a
        `Prefetcher` of `cpu_batch`), through the batch `hooks` (each
        ``hook(model, batch, step) -> batch``, e.g. the simulated clicks of interactive
        training)."""
        cpu = ahead.get(step) if ahead is not None else self.cpu_batch(step)
        batch = cpu.to(device, channels_last=self.channels_last)
        for hook in hooks:
            batch = hook(model, batch, step).to(device, channels_last=self.channels_last)
        return batch


def training_data(
    cfg: TrainConfig, split: Holdout, record: dict, unlabelled: Sequence = ()
) -> TrainData:
    """The patch stream of the training images of `split` (seeded, augmented, weighted by
    source) and the validation material: its held-out images and fixed training patches;
    `record` is what was held out (``split.as_dict()``, written as ``split.json``);
    `unlabelled`, images without masks (each with a raw ``image``, as the training images'),
    become the patch stream of self-training."""
    images, masks, sources = prepare_images(split.train, percentiles=cfg.normalization)
    weights = {s.name or Path(s.path).stem: s.weight for s in cfg.train}
    kw = dict(patch_px=cfg.patch_px, sources=sources, source_weights=weights)
    n = cfg.max_steps * cfg.batch_size
    augment = {"fg_fraction": cfg.fg_fraction, "augment": cfg.augment, "seed": cfg.seed}
    stream = PatchDataset(images, masks, length=n, **augment, **kw)
    # Training IoU: fixed, un-augmented, uniformly placed patches (like crops of whole images).
    fixed = PatchDataset(
        images, masks, length=cfg.val_patches, fg_fraction=0.0, seed=cfg.seed + 1, **kw
    )
    train_patches = fixed.batch(0, cfg.val_patches)
    if cfg.interactive:  # scored without clicks (the held-out images too: predict_image)
        train_patches = with_zero_click_channels(train_patches)
    v_images, v_masks, _ = prepare_images(split.val, percentiles=cfg.normalization)
    if not split.held_out:
        log.warning("%s; the validation IoU cannot show overfitting.", split.description)
    else:
        log.info("validation: %s", split.description)
    val = ValData(v_images, v_masks, train_patches, split.held_out)
    more = None
    if unlabelled:
        raw = [normalize_channels(as_channels(it.image), cfg.normalization) for it in unlabelled]
        more = UnlabelledPatches(raw, patch_px=cfg.patch_px, augment=cfg.augment, seed=cfg.seed)
    return TrainData(
        stream, val, record, split.description, cfg.batch_size, cfg.channels_last, more
    )
