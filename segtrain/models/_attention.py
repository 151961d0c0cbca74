"""Attention-gated residual U-Net (as XM-DL): residual conv blocks, attention gates on skips."""

from __future__ import annotations

import torch
from torch import nn

from ._blocks import LevelParams, UNetFrame

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


class AttentionResUNet(UNetFrame):
    """Residual U-Net whose skips pass attention gates; (B, C, H, W) -> logits (B, 1, H, W)."""

    Params = AttentionResUNetParams

    def __init__(self, params: AttentionResUNetParams):
        super().__init__(params, ResBlock, gate=lambda c: AttentionGate(c, c, max(c // 2, 1)))
