"""Learning from the unlabelled sections of a volume: self-training with confident
pseudo-labels under augmentation (`TrainConfig`'s `VolumeFields`).

A teacher (the network's exponential moving average, or a frozen snapshot) predicts each
unlabelled patch as it is cut (geometry only); the network learns, from the same patch with the
intensity augmentations, the teacher's confident pixels. Patches are a pure function of
``(seed, 20, index)``, so a run repeats to the byte in float32; the teacher's weights go into
the checkpoints so a resumed run continues with the same teacher.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence

import numpy as np
import torch

from shapelib import InputError

from ._augment import random_geometry, sample_patch
from ._augment_config import AugmentConfig
from ._data import _pad_to, as_channels
from ._intensity import augment_intensity, augment_sections
from ._prefetch import Prefetcher

__all__ = ["PseudoLabels", "UnlabelledPatches", "pseudo_label_loss", "self_training"]

log = logging.getLogger(__name__)

# The stream tag of the unlabelled patches in their seed (labelled patches: (seed, index)).
_STREAM = 20


class UnlabelledPatches:
    """Square patches of normalised unlabelled images, deterministic per (seed, index).

    Patch ``i``: an image by area and a uniform centre from ``default_rng((seed, 20, i))``,
    cut with a random geometry (the teacher's view, ``weak``), then the intensity and EM-section
    augmentations on top (the network's view, ``strong``).

    Parameters
    ----------
    images : list of (Y, X) or (C, Y, X) float32 arrays, normalised (all with the same C)
    patch_px : int
    augment : AugmentConfig
    seed : int
    """

    def __init__(
        self, images: Sequence[np.ndarray], *, patch_px: int, augment: AugmentConfig, seed: int
    ):
        if not images:
            raise InputError("self-training needs at least one unlabelled image; got none.")
        chans = [as_channels(im) for im in images]
        if len({c.shape[0] for c in chans}) != 1:
            raise InputError(
                "all unlabelled images need the same number of channels; got "
                f"{[c.shape[0] for c in chans]}."
            )
        blank = [np.zeros(c.shape[-2:], np.uint8) for c in chans]
        padded = [_pad_to(c, b, patch_px) for c, b in zip(chans, blank, strict=True)]
        self.images = [p[0] for p in padded]
        self._blank = [p[1] for p in padded]
        area = np.array([b.size for b in self._blank], dtype=float)
        self._p = area / area.sum()
        self.patch_px, self.augment, self.seed = int(patch_px), augment, int(seed)

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(weak, strong) views of patch `index`, each (C, P, P) float32."""
        rng = np.random.default_rng((self.seed, _STREAM, int(index)))
        i = int(rng.choice(len(self.images), p=self._p))
        h, w = self._blank[i].shape
        p = self.patch_px
        y0, x0 = int(rng.integers(0, h - p + 1)), int(rng.integers(0, w - p + 1))
        centre = (y0 + (p - 1) / 2, x0 + (p - 1) / 2)
        geometry = random_geometry(rng, self.augment, p)
        weak, _ = sample_patch(self.images[i], self._blank[i], centre, p, geometry)
        strong = augment_sections(augment_intensity(weak, rng, self.augment), rng, self.augment)
        return weak, strong

    def batch(self, start: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Patches ``start .. start+size-1``: (weak, strong), each (B, C, P, P) float32."""
        pairs = [self.sample(start + k) for k in range(size)]
        weak = torch.from_numpy(np.stack([a for a, _ in pairs]))
        return weak, torch.from_numpy(np.stack([b for _, b in pairs]))


def pseudo_label_loss(logits, teacher_prob, *, hi: float, lo: float):
    """BCE (with logits) of `logits` against the teacher's confident pixels, and their count.

    Pixels with ``teacher_prob > hi`` are foreground, ``< lo`` background; the others carry
    no loss (weight 0). The sum is divided by all the pixels of the batch, so the term grows
    with the teacher's confident share.

    Parameters
    ----------
    logits : (B, 1, H, W) tensor, the network's on the augmented view
    teacher_prob : (B, 1, H, W) tensor in [0, 1], the teacher's on the plain view

    Returns
    -------
    loss : 0-d float32 tensor; n_confident : int
    """
    import torch.nn.functional as F

    fg = teacher_prob > hi
    confident = (fg | (teacher_prob < lo)).float()
    per = F.binary_cross_entropy_with_logits(logits.float(), fg.float(), reduction="none")
    return (per * confident).sum() / per.numel(), int(confident.sum())


class PseudoLabels:
    """The self-training `LossTerm` (module docstring).

    Parameters
    ----------
    patches : UnlabelledPatches
    batch_size : int, patches per step
    start_step : int, the first step with the term (the teacher starts as the network then)
    teacher : "ema" or "snapshot"
    decay : float, the moving average's decay per step
    hi, lo : float, the confidence thresholds
    weight : float, the term's weight
    extra_channels : int, zero channels appended to the input (an interactive network's click
        and previous-mask channels: the unlabelled images have no clicks)
    ahead : int, batches cut ahead on a thread (`Prefetcher`; 0: on the caller's)
    stop : int, the step the training ends at (nothing is cut ahead from it on)
    """

    def __init__(
        self,
        patches: UnlabelledPatches,
        *,
        batch_size: int,
        start_step: int,
        teacher: str,
        decay: float,
        hi: float,
        lo: float,
        weight: float,
        extra_channels: int = 0,
        ahead: int = 0,
        stop: int = 0,
    ):
        self.patches, self.batch_size, self.start_step = patches, batch_size, start_step
        self.kind, self.decay, self.hi, self.lo, self.weight = teacher, decay, hi, lo, weight
        self.extra_channels = extra_channels
        self.teacher: torch.nn.Module | None = None
        self._pixels, self._steps = 0, 0
        self._ahead = Prefetcher(self._cut, ahead=ahead, stop=stop) if ahead else None

    def _cut(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.patches.batch(step * self.batch_size, self.batch_size)

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.close()

    def _input(self, x: torch.Tensor, device) -> torch.Tensor:
        if self.extra_channels:
            b, _, h, w = x.shape
            x = torch.cat([x, x.new_zeros((b, self.extra_channels, h, w))], dim=1)
        return x.to(device)

    def _start_teacher(self, model) -> torch.nn.Module:
        teacher = copy.deepcopy(model).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        return teacher

    def __call__(self, model, step: int) -> torch.Tensor | None:
        if step < self.start_step:
            return None
        if self.teacher is None:
            self.teacher = self._start_teacher(model)
            log.info("self-training from step %d: %s teacher", step, self.kind)
        device = next(model.parameters()).device
        weak, strong = self._ahead.get(step) if self._ahead is not None else self._cut(step)
        with torch.no_grad():
            prob = torch.sigmoid(self.teacher(self._input(weak, device)).float())
        logits = model(self._input(strong, device))
        loss, n = pseudo_label_loss(logits, prob, hi=self.hi, lo=self.lo)
        self._pixels += n
        self._steps += 1
        return self.weight * loss

    @torch.no_grad()
    def after_step(self, model, step: int) -> None:
        if self.teacher is None or self.kind != "ema":
            return
        d = self.decay
        for t, s in zip(self.teacher.parameters(), model.parameters(), strict=True):
            t.mul_(d).add_(s.detach(), alpha=1 - d)
        for t, s in zip(self.teacher.buffers(), model.buffers(), strict=True):
            t.copy_(s)

    def report(self) -> dict:
        """``pseudo_px_per_step``: pseudo-labelled pixels per step since the last report (0
        before the term starts)."""
        per_step = self._pixels / self._steps if self._steps else 0.0
        if self._steps:
            log.info("self-training: %.0f pseudo-labelled pixels per step", per_step)
        self._pixels, self._steps = 0, 0
        return {"pseudo_px_per_step": round(per_step, 1)}

    def state_dict(self) -> dict:
        return {} if self.teacher is None else {"teacher": self.teacher.state_dict()}

    def load_state_dict(self, state: dict, *, model=None) -> None:
        """The teacher of a checkpoint (`model` gives its architecture)."""
        if "teacher" in state and model is not None:
            self.teacher = self._start_teacher(model)
            self.teacher.load_state_dict(state["teacher"])


def self_training(cfg, patches: UnlabelledPatches | None) -> list[PseudoLabels]:
    """The self-training terms of a `TrainConfig` `cfg` on the unlabelled `patches` (none
    without them)."""
    from ..inference._clicks import CLICK_CHANNELS

    if patches is None:
        return []
    term = PseudoLabels(
        patches,
        batch_size=cfg.batch_size,
        start_step=int(round(cfg.unlabelled_start * cfg.max_steps)),
        teacher=cfg.teacher,
        decay=cfg.teacher_ema,
        hi=cfg.pseudo_hi,
        lo=cfg.pseudo_lo,
        weight=cfg.unlabelled_weight,
        extra_channels=CLICK_CHANNELS if cfg.interactive else 0,
        ahead=cfg.prefetch_batches,
        stop=cfg.max_steps,
    )
    return [term]
