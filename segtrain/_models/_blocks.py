"""Building blocks shared by the networks: conv-norm-act, padding to a multiple, up-sampling."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

__all__ = ["ConvNormAct", "pad_to_multiple", "Up"]


class ConvNormAct(nn.Sequential):
    """3x3 convolution, batch norm, activation (ReLU by default)."""

    def __init__(self, cin: int, cout: int, *, k: int = 3, act: type[nn.Module] = nn.ReLU):
        super().__init__(
            nn.Conv2d(cin, cout, k, padding=k // 2, bias=False),
            nn.BatchNorm2d(cout),
            act(inplace=True),
        )


class Up(nn.Module):
    """Bilinear x2 up-sampling followed by a 1x1 convolution to `cout` channels."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.proj = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor, size) -> torch.Tensor:
        return self.proj(F.interpolate(x, size=size, mode="bilinear", align_corners=False))


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad (B, C, H, W) at the bottom/right so H and W are multiples of `multiple`."""
    h, w = x.shape[-2:]
    ph = (-h) % multiple
    pw = (-w) % multiple
    if ph or pw:
        mode = "reflect" if (ph < h and pw < w) else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


class LevelParams(BaseModel):
    """Options shared by the encoder-decoder models: levels, width and input channels."""

    model_config = ConfigDict(extra="forbid")

    depth: int = Field(4, ge=1, le=6, description="Number of down-samplings.")
    width: int = Field(32, ge=2, le=256, description="Channels of the first level (x2 per level).")
    in_channels: int = Field(1, ge=1, le=16, description="Input channels.")


def encode(x: torch.Tensor, down: nn.ModuleList, pool: nn.Module) -> list[torch.Tensor]:
    """U-Net encoder: each block's output (pooled before every block but the first)."""
    skips = []
    for i, block in enumerate(down):
        x = block(pool(x) if i else x)
        skips.append(x)
    return skips


def decode(skips: list[torch.Tensor], ups: nn.ModuleList, dec: nn.ModuleList) -> torch.Tensor:
    """U-Net decoder: from the deepest skip up, upsample, concatenate the skip, convolve."""
    x = skips.pop()
    for up, block in zip(ups, dec, strict=True):
        s = skips.pop()
        x = block(torch.cat([up(x, s.shape[-2:]), s], dim=1))
    return x
