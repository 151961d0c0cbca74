"""Probabilistic U-Net (Kohl et al. 2018), as DeepPI-EM uses it, in plain torch.

A U-Net gives the last decoder features F (B, c, H, W). A prior net p(z | x) and, in training, a
posterior net q(z | x, mask) each give an axis-aligned Gaussian over a latent z of
`latent_dim` (6) dimensions: a few conv levels, a global mean, a 1x1 convolution to the mean and
the log variance. z is broadcast over the image and joined to F by `head_layers` 1x1
convolutions; the first of them on the concatenation [F; z] is written as ``W_F F + W_z z``, so
F is projected once and each sample only adds its own per-channel bias. The U-Net body and the
prior run once per input; only the small head runs per sample (`sample_logits`).

- ``forward(x)``: the logits of the mean probability over `mean_samples` fixed latent draws
  (antithetic pairs ``mu +- sigma eps``): deterministic and differentiable, the prediction of
  ``predict_image``, validation and Grad-CAM ("on its mean output").
- ``sample_logits(x, eps)``: (K, B, 1, H, W) logits for K draws ``z = mu + sigma eps`` of the
  prior.
- ``elbo(x, mask)``: the logits of one posterior sample and KL(q || p) per image, for the
  training loss (BCE + beta x KL, beta = `kl_beta`; `segtrain.training._losses`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from ._blocks import ConvNormAct, LevelParams, UNetFrame, decode, encode, pad_to_multiple

__all__ = ["ProbUNet", "ProbUNetParams", "kl_diag_gaussians"]


class ProbUNetParams(LevelParams):
    """Options of `prob_unet` (depth, width and input channels as `unet`)."""

    latent_dim: int = Field(6, ge=1, le=64, description="Dimensions of z (DeepPI-EM: 6).")
    prior_width: int = Field(
        8,
        ge=2,
        le=256,
        description="Channels of the prior/posterior nets' first level (x2 per level).",
    )
    head_layers: int = Field(
        3, ge=2, le=8, description="1x1 convolutions joining z to the decoder features."
    )
    kl_beta: float = Field(10.0, ge=0, le=1e6, description="Weight of KL(q || p) (DeepPI-EM: 10).")
    mean_samples: int = Field(
        16, ge=1, le=256, description="Fixed latent draws averaged by forward() (the mean output)."
    )


def kl_diag_gaussians(mu_q, logvar_q, mu_p, logvar_p) -> torch.Tensor:
    """KL(q || p) of axis-aligned Gaussians, summed over the last axis (nats).

    ``0.5 sum(logvar_p - logvar_q + (exp(logvar_q) + (mu_q - mu_p)^2) / exp(logvar_p) - 1)``
    """
    mu_q, logvar_q, mu_p, logvar_p = (t.float() for t in (mu_q, logvar_q, mu_p, logvar_p))
    var_ratio = torch.exp(logvar_q - logvar_p)
    maha = (mu_q - mu_p) ** 2 * torch.exp(-logvar_p)
    return 0.5 * (var_ratio + maha - 1 - (logvar_q - logvar_p)).sum(-1)


class LatentNet(nn.Module):
    """x -> (mu, log variance) of z: the input averaged over 4 x 4 pixels (z is global; this
    makes the net cheap beside the U-Net), then one conv per level (max-pool between), a global
    mean and a 1x1 convolution."""

    def __init__(self, cin: int, width: int, depth: int, latent: int):
        super().__init__()
        layers: list[nn.Module] = [nn.AvgPool2d(4, ceil_mode=True)]
        c = cin
        for i in range(depth + 1):
            if i:
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
            layers.append(ConvNormAct(c, width * 2**i))
            c = width * 2**i
        self.body = nn.Sequential(*layers)
        self.out = nn.Conv2d(c, 2 * latent, 1)
        # Start at N(0, 1): the posterior and prior agree until the data pull them apart.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.out(self.body(x).mean(dim=(2, 3), keepdim=True))[:, :, 0, 0].float()
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)


class LatentHead(nn.Module):
    """The 1x1 convolutions over [F; z]: ``relu(W_F F + W_z z)``, then 1x1 conv-ReLUs, then the
    logit."""

    def __init__(self, c: int, latent: int, layers: int):
        super().__init__()
        self.feat = nn.Conv2d(c, c, 1)
        self.z = nn.Linear(latent, c, bias=False)
        self.mid = nn.ModuleList(nn.Conv2d(c, c, 1) for _ in range(layers - 2))
        self.out = nn.Conv2d(c, 1, 1)

    def from_projected(self, a: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Logits (N, 1, H, W) from projected features a (N, c, H, W) and z (N, L)."""
        h = F.relu(a + self.z(z.to(a.dtype))[:, :, None, None])
        for m in self.mid:
            h = F.relu(m(h))
        return self.out(h)

    def forward(self, feats: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.from_projected(self.feat(feats), z)

    def samples(self, feats: torch.Tensor, z: torch.Tensor, *, chunk: int = 4) -> torch.Tensor:
        """Logits (K, B, 1, H, W) for z (K, B, L): F projected once, samples in chunks of at
        most `chunk` (sample, image) pairs per pass (one sample at a time for a batch of 4
        tiles: the head's activations stay the size of the batch's features)."""
        a = self.feat(feats).contiguous()
        k, b = z.shape[:2]
        step = max(1, chunk // b)
        out = []
        for s in range(0, k, step):
            zs = z[s : s + step]
            n = zs.shape[0]
            rep = a.unsqueeze(0).expand(n, *a.shape).reshape(n * b, *a.shape[1:])
            out.append(
                self.from_projected(rep, zs.reshape(n * b, -1)).reshape(n, b, 1, *a.shape[2:])
            )
        return torch.cat(out)


def _antithetic(k: int, latent: int, seed: int = 0) -> torch.Tensor:
    """k fixed standard-normal draws in +- pairs (their mean is exactly 0)."""
    g = torch.Generator().manual_seed(seed)
    e = torch.randn((k + 1) // 2, latent, generator=g)
    return torch.cat([e, -e])[:k]


class ProbUNet(UNetFrame):
    """U-Net + prior/posterior nets over z + 1x1 head; (B, C, H, W) -> logits (B, 1, H, W)."""

    Params = ProbUNetParams

    def __init__(self, params: ProbUNetParams):
        from ._unet import _double_conv

        super().__init__(params, _double_conv)
        c0 = params.width
        del self.head
        self.prior = LatentNet(
            params.in_channels, params.prior_width, params.depth, params.latent_dim
        )
        self.posterior = LatentNet(
            params.in_channels + 1, params.prior_width, params.depth, params.latent_dim
        )
        self.head = LatentHead(c0, params.latent_dim, params.head_layers)
        self.register_buffer(
            "mean_eps", _antithetic(params.mean_samples, params.latent_dim), persistent=False
        )
        # Grad-CAM's defaults: the last decoder stage and the bottleneck (the prior's layers
        # finish later in the forward pass and would be taken for the decoder otherwise).
        self.explain_layers = [f"dec.{params.depth - 1}", f"down.{params.depth}"]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last decoder features (B, width, H, W) of the U-Net body."""
        xp, (h, w) = pad_to_multiple(x, self.multiple)
        return decode(encode(xp, self.down, self.pool), self.ups, self.dec)[..., :h, :w]

    def sample_logits(self, x: torch.Tensor, eps: torch.Tensor, *, crop=None) -> torch.Tensor:
        """(K, B, 1, H, W) logits for the draws ``z = mu + sigma eps`` of the prior, eps (K, L);
        `crop` (row0, row1, col0, col1): the heads run on that part of the grid only."""
        feats = self.features(x)
        if crop is not None:
            feats = feats[..., crop[0] : crop[1], crop[2] : crop[3]]
        mu, logvar = self.prior(x)
        eps = eps.to(mu.device, mu.dtype)
        z = mu[None] + torch.exp(0.5 * logvar)[None] * eps[:, None, :]
        return self.head.samples(feats, z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.sample_logits(x, self.mean_eps).float()
        # log(mean p) - log(mean (1 - p)): the logit of the mean probability (log K cancels).
        return torch.logsumexp(F.logsigmoid(logits), 0) - torch.logsumexp(F.logsigmoid(-logits), 0)

    def elbo(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, 1, H, W) of one posterior sample (reparameterised) and KL(q || p) (B,)."""
        feats = self.features(x)
        mu_p, logvar_p = self.prior(x)
        mu_q, logvar_q = self.posterior(torch.cat([x, mask.to(x.dtype)], dim=1))
        z = mu_q + torch.exp(0.5 * logvar_q) * torch.randn_like(mu_q)
        return self.head(feats, z), kl_diag_gaussians(mu_q, logvar_q, mu_p, logvar_p)
