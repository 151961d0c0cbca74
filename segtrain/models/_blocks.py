"""Building blocks shared by the networks: conv-norm-act, padding to a multiple, up-sampling,
the U-Net encoder and decoder, and the U-Net frame."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

__all__ = [
    "ConvNormAct",
    "LevelParams",
    "Up",
    "decode",
    "encode",
    "encoder_levels",
    "pad_to_multiple",
]


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

    model_config = ConfigDict(extra="forbid", frozen=True)

    depth: int = Field(4, ge=1, le=6, description="Number of down-samplings.")
    width: int = Field(32, ge=2, le=256, description="Channels of the first level (x2 per level).")
    in_channels: int = Field(1, ge=1, le=16, description="Input channels.")


def encoder_levels(params: LevelParams, block) -> tuple[list[int], nn.ModuleList]:
    """Channels per level (width x 2**level, `depth` + 1 levels) and one encoder block per level,
    ``block(c_in, c_out)``, the first taking the input channels."""
    chans = [params.width * 2**i for i in range(params.depth + 1)]
    down = nn.ModuleList()
    cin = params.in_channels
    for c in chans:
        down.append(block(cin, c))
        cin = c
    return chans, down


def encode(x: torch.Tensor, down: nn.ModuleList, pool: nn.Module) -> list[torch.Tensor]:
    """U-Net encoder: each block's output (pooled before every block but the first)."""
    skips = []
    for i, block in enumerate(down):
        x = block(pool(x) if i else x)
        skips.append(x)
    return skips


def decode(
    skips: list[torch.Tensor],
    ups: nn.ModuleList,
    dec: nn.ModuleList,
    gates: nn.ModuleList | None = None,
) -> torch.Tensor:
    """U-Net decoder: from the deepest skip up, upsample, concatenate the skip (weighed by its
    attention gate when `gates` are given), convolve."""
    x = skips.pop()
    for k, (up, block) in enumerate(zip(ups, dec, strict=True)):
        s = skips.pop()
        u = up(x, s.shape[-2:])
        x = block(torch.cat([u, gates[k](s, u) if gates is not None else s], dim=1))
    return x


class UNetFrame(nn.Module):
    """The U-Net frame: one `block` per level down (max-pool between), bilinear up + skip +
    `block` back up, optional attention `gate` per skip; (B, C, H, W) -> logits (B, 1, H, W).

    Any H, W: the input is reflect-padded to a multiple of 2**depth and the output cropped.

    Parameters
    ----------
    params : LevelParams
    block : ``block(c_in, c_out) -> nn.Module``, the convolutions of a level
    gate : ``gate(c) -> nn.Module`` or None, an attention gate ``gate(skip, signal)`` per level
    """

    def __init__(self, params: LevelParams, block, *, gate=None):
        super().__init__()
        self.params = params
        chans, self.down = encoder_levels(params, block)
        self.pool = nn.MaxPool2d(2)
        self.ups = nn.ModuleList()
        self.gates = nn.ModuleList() if gate is not None else None
        self.dec = nn.ModuleList()
        # Created level by level (up, gate, block): the order fixes the seeded initial weights.
        for i in range(params.depth, 0, -1):
            c = chans[i - 1]
            self.ups.append(Up(chans[i], c))
            if gate is not None:
                self.gates.append(gate(c))
            self.dec.append(block(2 * c, c))
        self.head = nn.Conv2d(chans[0], 1, 1)
        self.multiple = 2**params.depth

    @staticmethod
    def min_input_px(params: LevelParams) -> int:
        """The smallest input side its levels support: each down-sampling halves it and the
        bottleneck keeps at least 2 x 2 pixels (batch norm needs more than one value)."""
        return 2 * 2**params.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, (h, w) = pad_to_multiple(x, self.multiple)
        skips = encode(x, self.down, self.pool)
        return self.head(decode(skips, self.ups, self.dec, self.gates))[..., :h, :w]
