"""The classic U-Net (Ronneberger et al. 2015): conv blocks, max-pool down, up + concat skips."""

from __future__ import annotations

from torch import nn

from ._blocks import ConvNormAct, LevelParams, UNetFrame

__all__ = ["UNet", "UNetParams"]


class UNetParams(LevelParams):
    """Options of `unet`."""


def _double_conv(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(ConvNormAct(cin, cout), ConvNormAct(cout, cout))


class UNet(UNetFrame):
    """Encoder-decoder of double 3x3 conv-BN-ReLU blocks with skip connections;
    (B, C, H, W) -> logits (B, 1, H, W), any H, W."""

    Params = UNetParams

    def __init__(self, params: UNetParams):
        super().__init__(params, _double_conv)
