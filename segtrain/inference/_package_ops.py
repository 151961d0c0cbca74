"""What a foreign bioimage.io model needs around its TorchScript weights: the preprocessing its
description declares (applied to one whole 2D image, as bioimage.io computes its statistics per
sample), and a wrapper that feeds the network its axes and gives back logits of one channel, so
`predict_image` tiles, blends and applies its sigmoid as for our own networks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from shapelib import InputError

__all__ = ["PREPROCESSING", "PackageNet", "Step", "preprocess_image"]

# The preprocessing mitoshape runs (bioimage.io names of spec 0.4 and 0.5).
PREPROCESSING = (
    "ensure_dtype",
    "zero_mean_unit_variance",
    "fixed_zero_mean_unit_variance",
    "scale_range",
    "scale_linear",
    "binarize",
    "clip",
    "sigmoid",
)


@dataclass(frozen=True)
class Step:
    """One preprocessing step: its bioimage.io name and kwargs."""

    name: str
    kwargs: dict


def _one(value, what: str) -> float:
    """A scalar of a kwarg that may be given per channel (one channel here)."""
    values = np.ravel(np.asarray(value, dtype=np.float64))
    if values.size != 1:
        raise InputError(f"{what} is given for {values.size} channels; the model input is grey.")
    return float(values[0])


def _zmuv(x: np.ndarray, kw: dict) -> np.ndarray:
    eps = float(kw.get("eps", 1e-6))
    if kw.get("mode") == "fixed":  # spec 0.4's fixed mean and std
        return (x - _one(kw["mean"], "mean")) / (_one(kw["std"], "std") + eps)
    return (x - x.mean()) / (x.std() + eps)


def _scale_range(x: np.ndarray, kw: dict) -> np.ndarray:
    lo, hi = np.percentile(x, [kw.get("min_percentile", 0.0), kw.get("max_percentile", 100.0)])
    return (x - lo) / (hi - lo + float(kw.get("eps", 1e-6)))


def preprocess_image(image: np.ndarray, steps: tuple[Step, ...]) -> np.ndarray:
    """A 2D image through the package's preprocessing `steps`, as float32.

    Statistics (mean, std, percentiles) are of the whole image: one sample, one channel.
    """
    x = np.asarray(image, dtype=np.float64)
    for step in steps:
        kw = step.kwargs or {}
        if step.name == "ensure_dtype":
            continue
        if step.name == "zero_mean_unit_variance":
            x = _zmuv(x, kw)
        elif step.name == "fixed_zero_mean_unit_variance":
            x = (x - _one(kw["mean"], "mean")) / (_one(kw["std"], "std") + kw.get("eps", 1e-6))
        elif step.name == "scale_range":
            x = _scale_range(x, kw)
        elif step.name == "scale_linear":
            x = x * _one(kw.get("gain", 1.0), "gain") + _one(kw.get("offset", 0.0), "offset")
        elif step.name == "binarize":
            x = (x > _one(kw["threshold"], "threshold")).astype(np.float64)
        elif step.name == "clip":
            x = np.clip(x, kw.get("min"), kw.get("max"))
        elif step.name == "sigmoid":
            x = 1.0 / (1.0 + np.exp(-x))
        else:
            raise InputError(
                f"preprocessing {step.name!r} is not one mitoshape runs "
                f"({', '.join(PREPROCESSING)})."
            )
    return x.astype(np.float32)


class PackageNet(torch.nn.Module):
    """A TorchScript network of a package, taking (B, 1, Y, X) tiles and giving (B, 1, Y, X)
    logits: the tiles are laid out in the package's input axes (e.g. ``bcyx``, ``byxc``,
    ``yx``), the output's first channel is taken, and a network whose description applies no
    sigmoid (it gives probabilities) has them turned into logits."""

    def __init__(self, net, in_axes: str, out_axes: str, *, gives_logits: bool) -> None:
        super().__init__()
        self.net = net
        self.in_axes, self.out_axes = in_axes, out_axes
        self.gives_logits = gives_logits

    def _one(self, tile: torch.Tensor) -> torch.Tensor:
        """(1, Y, X) -> (1, 1, Y, X) logits through the network (one batch item)."""
        x = tile[0]  # (Y, X)
        for _ in [a for a in self.in_axes if a not in "yx"]:
            x = x.unsqueeze(0)  # b and c of size 1 in front, then moved into place
        order = [a for a in self.in_axes if a not in "yx"] + ["y", "x"]
        x = x.permute(*[order.index(a) for a in self.in_axes])
        out = self.net(x)
        if isinstance(out, (tuple, list)):
            out = out[0]
        if out.ndim != len(self.out_axes):
            raise InputError(
                f"the package's network gave a {out.ndim}D output; its description says axes "
                f"{self.out_axes!r}."
            )
        keep = [self.out_axes.index(a) for a in self.out_axes if a not in "yx"]
        out = out.permute(*keep, self.out_axes.index("y"), self.out_axes.index("x"))
        out = out.reshape(-1, *out.shape[-2:])[0]  # the first channel
        if tuple(out.shape) != tuple(tile.shape[-2:]):
            raise InputError(
                f"the package's network gave a {tuple(out.shape)} output for a "
                f"{tuple(tile.shape[-2:])} tile; mitoshape runs networks whose output has the "
                "input's size."
            )
        if not self.gives_logits:
            out = torch.logit(out.float().clamp(1e-7, 1 - 1e-7))
        return out[None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self._one(x[i]) for i in range(x.shape[0])])
