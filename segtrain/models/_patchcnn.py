"""The 2D CNN of the Lucchi line: four convolutions, three poolings, one fully connected layer.

The classic network classifies the centre pixel of a 32x32 block. Here it runs fully
convolutionally by the "a trous" trick: pooling with stride 1, later convolutions dilated by the
pooling factor, and the fully connected layer as a dilated 4x4 convolution. With the same
weights this gives, at every pixel, the block classifier's answer for the block centred there
(up to zero padding at borders), so training on dense patches is training on all 32x32 blocks of
the patch at once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

__all__ = ["PatchCNN", "PatchCNNParams"]


class PatchCNNParams(BaseModel):
    """Options of `patch_cnn`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    width: int = Field(
        32, ge=2, le=256, description="Channels of the convolutions (x2 after pool 2)."
    )
    fc: int = Field(128, ge=2, le=2048, description="Units of the fully connected layer.")
    in_channels: int = Field(1, ge=1, le=16, description="Input channels.")


class PatchCNN(nn.Module):
    """conv-pool-conv-pool-conv-pool-conv-FC-out; (B, C, H, W) -> logits (B, 1, H, W)."""

    Params = PatchCNNParams

    def __init__(self, params: PatchCNNParams):
        super().__init__()
        self.params = params
        w = params.width
        chans = [params.in_channels, w, w, 2 * w, 2 * w]
        self.convs = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], 3, dilation=2**i, padding=2**i) for i in range(4)
        )
        self.norms = nn.ModuleList(nn.BatchNorm2d(c) for c in chans[1:])
        # The fully connected layer over the 4x4 block that remains after three poolings.
        self.fc = nn.Conv2d(2 * w, params.fc, 4, dilation=8)
        self.out = nn.Conv2d(params.fc, 1, 1)
        self.multiple = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            x = F.relu(norm(conv(x)))
            if i < 3:
                d = 2**i
                # 2x2 max-pool with stride 1 and dilation d, padded to keep the size.
                x = F.max_pool2d(F.pad(x, (0, d, 0, d), mode="replicate"), 2, stride=1, dilation=d)
        # Dilated 4x4 "fully connected" layer: 12 px on each side of its 4 taps (pad 12/12).
        x = F.relu(self.fc(F.pad(x, (12, 12, 12, 12), mode="replicate")))
        return self.out(x)
