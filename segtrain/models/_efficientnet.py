"""U-Net with an EfficientNet-style encoder (MBConv blocks with squeeze-excitation), plain torch.

Written here because torchvision, timm and segmentation-models-pytorch do not install beside the
CPU torch used by this project; randomly initialised (no hub weights).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ._blocks import ConvNormAct, Up, decode, pad_to_multiple

__all__ = ["EfficientNetUNet", "EfficientNetUNetParams"]

# Channel multipliers of the encoder levels, shaped like EfficientNet-B0's 16-24-40-112-320.
_MULT = (1.0, 1.5, 2.5, 5.0, 10.0, 16.0, 24.0)


class EfficientNetUNetParams(BaseModel):
    """Options of `efficientnet_unet`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    depth: int = Field(4, ge=1, le=6, description="Number of down-samplings (encoder stages).")
    width: int = Field(16, ge=4, le=256, description="Channels at full resolution.")
    expand: int = Field(4, ge=1, le=8, description="MBConv expansion ratio.")
    repeats: int = Field(2, ge=1, le=6, description="MBConv blocks per encoder stage.")
    kernel: Literal[3, 5] = Field(3, description="Depthwise kernel size (3 or 5).")
    in_channels: int = Field(1, ge=1, le=16, description="Input channels.")


class SqueezeExcite(nn.Module):
    def __init__(self, c: int, c_mid: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(c, c_mid, 1),
            nn.SiLU(inplace=True),
            nn.Conv2d(c_mid, c, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.net(x)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, depthwise kxk (stride 1 or 2), SE, 1x1 project (+skip)."""

    def __init__(self, cin: int, cout: int, *, stride: int, expand: int, kernel: int):
        super().__init__()
        mid = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers += [
                nn.Conv2d(cin, mid, 1, bias=False),
                nn.BatchNorm2d(mid),
                nn.SiLU(inplace=True),
            ]
        layers += [
            nn.Conv2d(mid, mid, kernel, stride=stride, padding=kernel // 2, groups=mid, bias=False),
            nn.BatchNorm2d(mid),
            nn.SiLU(inplace=True),
            SqueezeExcite(mid, max(1, cin // 4)),
            nn.Conv2d(mid, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class EfficientNetUNet(nn.Module):
    """MBConv encoder + U-Net decoder; (B, C, H, W) -> logits (B, 1, H, W)."""

    Params = EfficientNetUNetParams

    def __init__(self, params: EfficientNetUNetParams):
        super().__init__()
        self.params = params
        d, w = params.depth, params.width
        chans = [max(4, int(round(w * m / 4)) * 4) for m in _MULT[: d + 1]]
        # Full-resolution stem: keeps thin boundaries sharp for the first skip.
        self.stem = nn.Sequential(ConvNormAct(params.in_channels, chans[0], act=nn.SiLU))
        self.stages = nn.ModuleList()
        for i in range(1, d + 1):
            blocks = [
                MBConv(chans[i - 1], chans[i], stride=2, expand=params.expand, kernel=params.kernel)
            ]
            blocks += [
                MBConv(chans[i], chans[i], stride=1, expand=params.expand, kernel=params.kernel)
                for _ in range(params.repeats - 1)
            ]
            self.stages.append(nn.Sequential(*blocks))
        self.ups = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in range(d, 0, -1):
            c = chans[i - 1]
            self.ups.append(Up(chans[i], c))
            self.dec.append(nn.Sequential(ConvNormAct(2 * c, c), ConvNormAct(c, c)))
        self.head = nn.Conv2d(chans[0], 1, 1)
        self.multiple = 2**d

    @staticmethod
    def min_input_px(params: EfficientNetUNetParams) -> int:
        """The smallest input side its stages support (a 2 x 2 bottleneck)."""
        return 2 * 2**params.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, (h, w) = pad_to_multiple(x, self.multiple)
        x = self.stem(x)
        skips = [x]
        for stage in self.stages:
            x = stage(x)
            skips.append(x)
        return self.head(decode(skips, self.ups, self.dec))[..., :h, :w]
