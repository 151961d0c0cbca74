"""Simulated feedback for interactive training: clicks and the previous mask of each patch,
given to the training loop as a batch hook (`ClickFeedback`).

For each patch of a batch (`ClickConfig`): with probability ``zero_click_p`` no clicks and a
zero previous mask (the automatic mode); otherwise n clicks, n uniform in 1..max_clicks, of
which ``m_b = min(m, n)`` are iterative (m uniform in 0..iterative_clicks for the batch).

1. P0 = the network's prediction without clicks (eval mode, no gradient, as RITM does; a
   probabilistic network at z = the prior's mean).
2. ``n - m_b`` clicks are placed at once on the errors of P0 (uniformly over the error pixels,
   none in an earlier click's disk; anywhere when P0 has no error), labelled from the truth.
3. The iterative clicks: the clicker (error: the centre of the largest error region;
   uncertainty: the top suggestion of the spread of 4 samples) picks each from the current
   prediction Q, which is then re-predicted with that click and Q as the previous mask.
4. The training input is the patch with its clicks and, as previous mask, the prediction before
   its newest click (P0 when all its clicks were placed at once).

Every patch of the batch goes through the same forward passes (at most ``m + 1``); a patch
whose clicks are done keeps its state.
"""

from __future__ import annotations

import numpy as np
import torch

from ..inference._clicks import Click, network_input
from ..inference._device import autocast_for
from ..interactive._clickers import next_click
from ..interactive._suggest import corrected_mask
from ._config import ClickConfig
from ._data import Batch

__all__ = ["ClickFeedback", "add_feedback"]


def _inputs(images, clicks, prevs, radius_px) -> torch.Tensor:
    return torch.from_numpy(
        np.stack(
            [
                network_input(x, c, p, radius_px=radius_px)
                for x, c, p in zip(images, clicks, prevs, strict=True)
            ]
        )
    )


@torch.no_grad()
def _predict(model, images, clicks, prevs, cfg, device, amp, *, spread: bool):
    """(probabilities (B, P, P), spread (B, P, P) or None) of the current inputs, eval mode."""
    t = _inputs(images, clicks, prevs, cfg.radius_px).to(device)
    t = t.contiguous(memory_format=torch.channels_last)
    latent = callable(getattr(model, "sample_logits", None))
    with autocast_for(device, amp):
        if not spread and latent:  # z at the prior's mean: one head pass, not the mean of 16
            z0 = torch.zeros(1, model.params.latent_dim)
            return torch.sigmoid(model.sample_logits(t, z0)[0].float())[:, 0].cpu().numpy(), None
        if not spread:
            return torch.sigmoid(model(t).float())[:, 0].cpu().numpy(), None
        if latent:
            eps = torch.randn(4, model.params.latent_dim)
            p = torch.sigmoid(model.sample_logits(t, eps).float())[:, :, 0]
        else:
            outs = []
            for d in ((), (-1,), (-2,), (-2, -1)):
                o = torch.sigmoid(model(torch.flip(t, d) if d else t).float())
                outs.append(torch.flip(o, d) if d else o)
            p = torch.stack(outs)[:, :, 0]
    return p.mean(0).cpu().numpy(), p.std(0).cpu().numpy()


def _placed(prob, truth, n, radius_px, rng) -> list[Click]:
    """n clicks at once on the errors of `prob` (none in an earlier click's disk)."""
    out: list[Click] = []
    err = (prob >= 0.5) != truth
    for _ in range(n):
        free = err & ~corrected_mask(truth.shape, out, radius_px) if out else err
        where = np.flatnonzero(free)
        if where.size == 0:
            where = np.arange(truth.size)
        r, c = np.unravel_index(int(where[rng.integers(where.size)]), truth.shape)
        out.append(Click(int(r), int(c), bool(truth[r, c])))
    return out


def add_feedback(model, batch: Batch, cfg: ClickConfig, *, rng, device, amp: bool) -> Batch:
    """The batch with its simulated clicks and previous masks as input channels (module doc).

    Parameters
    ----------
    model : the interactive network being trained (left in the mode it came in)
    batch : Batch with image (B, C, P, P), the image channels only, and mask (B, 1, P, P)
    cfg : ClickConfig
    rng : seed or Generator (the same seed and weights give the same clicks)
    """
    rng = np.random.default_rng(rng)
    images = list(batch.image.float().cpu().numpy())
    truth = batch.mask[:, 0].cpu().numpy() > 0.5
    b = len(images)
    n = [
        0 if rng.random() < cfg.zero_click_p else int(rng.integers(1, cfg.max_clicks + 1))
        for _ in range(b)
    ]
    m = int(rng.integers(0, cfg.iterative_clicks + 1))
    clicks: list[list[Click]] = [[] for _ in range(b)]
    prevs: list = [None] * b
    if max(n) > 0:
        was = model.training
        model.eval()
        try:
            iters = [min(m, k) for k in n]
            spread = cfg.clicker == "uncertainty"
            p0, _ = _predict(model, images, clicks, prevs, cfg, device, amp, spread=False)
            for i in range(b):
                if n[i]:
                    clicks[i] = _placed(p0[i], truth[i], n[i] - iters[i], cfg.radius_px, rng)
                    prevs[i] = p0[i]
            # Q: the current prediction of each patch (after its placed clicks).
            q, unc = p0, None
            if any(iters[i] and len(clicks[i]) for i in range(b)) or (spread and m):
                q, unc = _predict(model, images, clicks, prevs, cfg, device, amp, spread=spread)
                q = np.stack([q[i] if len(clicks[i]) else p0[i] for i in range(b)])
            for j in range(1, m + 1):
                for i in range(b):
                    if iters[i] < j:
                        continue
                    c = next_click(
                        q[i] >= 0.5,
                        truth[i],
                        clicker=cfg.clicker,
                        clicks=clicks[i],
                        uncertainty=None if unc is None else unc[i],
                        radius_px=cfg.radius_px,
                        rng=rng,
                    )
                    if c is None:  # a perfect prediction: a click that confirms it
                        c = _placed(q[i], truth[i], 1, cfg.radius_px, rng)[0]
                    clicks[i] = [*clicks[i], c]
                    prevs[i] = q[i]
                if j < m:
                    qn, un = _predict(model, images, clicks, prevs, cfg, device, amp, spread=spread)
                    keep = [iters[i] > j for i in range(b)]
                    q = np.stack([qn[i] if keep[i] else q[i] for i in range(b)])
                    if un is not None:
                        unc = np.stack([un[i] if keep[i] else unc[i] for i in range(b)])
        finally:
            model.train(was)
    x = _inputs(images, clicks, prevs, cfg.radius_px).to(batch.image.device, batch.image.dtype)
    return Batch(image=x, mask=batch.mask)


class ClickFeedback:
    """The batch hook of interactive training (`_loop.BatchHook`): every batch gets its
    simulated clicks and previous masks (`add_feedback`), drawn from ``(seed, 10, step)``,
    so a run repeats and a resumed run continues with the same clicks.

    Parameters
    ----------
    clicks : ClickConfig, the encoding and the simulated user
    seed : int, the run's seed
    device : torch.device of the network
    amp : bool, the forward passes in mixed precision
    """

    def __init__(self, clicks: ClickConfig, *, seed: int, device, amp: bool):
        self.clicks, self.seed, self.device, self.amp = clicks, seed, device, amp

    def __call__(self, model, batch: Batch, step: int) -> Batch:
        rng = np.random.default_rng((self.seed, 10, step))
        return add_feedback(model, batch, self.clicks, rng=rng, device=self.device, amp=self.amp)
