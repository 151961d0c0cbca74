"""Attention-gated residual U-Net (as XM-DL): residual conv blocks, attention gates on skips."""

from __future__ import annotations

import torch
from torch import nn

from ._blocks import LevelParams, Up, encode, pad_to_multiple

__all__ = ["AttentionResUNet", "AttentionResUNetParams"]


class AttentionResUNetParams(LevelParams):
    """Options of `attention_res_unet`."""


class ResBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity (or 1x1) shortcut, then ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.short = (
            nn.Identity()
            if cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.short(x))


class AttentionGate(nn.Module):
    """Additive attention (Oktay et al. 2018): the decoder signal g weighs the skip x per pixel."""

    def __init__(self, c_skip: int, c_gate: int, c_mid: int):
        super().__init__()
        self.wx = nn.Conv2d(c_skip, c_mid, 1, bias=False)
        self.wg = nn.Conv2d(c_gate, c_mid, 1)
        self.psi = nn.Sequential(nn.ReLU(inplace=True), nn.Conv2d(c_mid, 1, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return x * self.psi(self.wx(x) + self.wg(g))


class AttentionResUNet(nn.Module):
    """Residual U-Net whose skips pass attention gates; (B, C, H, W) -> logits (B, 1, H, W)."""

    Params = AttentionResUNetParams

    def __init__(self, params: AttentionResUNetParams):
        super().__init__()
        self.params = params
        d, w = params.depth, params.width
        chans = [w * 2**i for i in range(d + 1)]
        self.down = nn.ModuleList()
        cin = params.in_channels
        for c in chans:
            self.down.append(ResBlock(cin, c))
            cin = c
        self.pool = nn.MaxPool2d(2)
        self.ups = nn.ModuleList()
        self.gates = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in range(d, 0, -1):
            c = chans[i - 1]
            self.ups.append(Up(chans[i], c))
            self.gates.append(AttentionGate(c, c, max(c // 2, 1)))
            self.dec.append(ResBlock(2 * c, c))
        self.head = nn.Conv2d(chans[0], 1, 1)
        self.multiple = 2**d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, (h, w) = pad_to_multiple(x, self.multiple)
        skips = encode(x, self.down, self.pool)
        x = skips.pop()
        for up, gate, dec in zip(self.ups, self.gates, self.dec, strict=True):
            s = skips.pop()
            g = up(x, s.shape[-2:])
            x = dec(torch.cat([g, gate(s, g)], dim=1))
        return self.head(x)[..., :h, :w]
