"""The classic U-Net (Ronneberger et al. 2015): conv blocks, max-pool down, up + concat skips."""

from __future__ import annotations

import torch
from torch import nn

from ._blocks import ConvNormAct, LevelParams, Up, decode, encode, pad_to_multiple

__all__ = ["UNet", "UNetParams"]


class UNetParams(LevelParams):
    """Options of `unet`."""


class UNet(nn.Module):
    """Encoder-decoder with skip connections; input (B, C, H, W) -> logits (B, 1, H, W).

    Any H, W: the input is reflect-padded to a multiple of 2**depth and the output cropped.
    """

    Params = UNetParams

    def __init__(self, params: UNetParams):
        super().__init__()
        self.params = params
        d, w = params.depth, params.width
        chans = [w * 2**i for i in range(d + 1)]
        self.down = nn.ModuleList()
        cin = params.in_channels
        for c in chans:
            self.down.append(nn.Sequential(ConvNormAct(cin, c), ConvNormAct(c, c)))
            cin = c
        self.pool = nn.MaxPool2d(2)
        self.ups = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in range(d, 0, -1):
            self.ups.append(Up(chans[i], chans[i - 1]))
            self.dec.append(
                nn.Sequential(
                    ConvNormAct(2 * chans[i - 1], chans[i - 1]),
                    ConvNormAct(chans[i - 1], chans[i - 1]),
                )
            )
        self.head = nn.Conv2d(chans[0], 1, 1)
        self.multiple = 2**d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, (h, w) = pad_to_multiple(x, self.multiple)
        skips = encode(x, self.down, self.pool)
        return self.head(decode(skips, self.ups, self.dec))[..., :h, :w]
