"""Clicks and their encoding as network input channels.

A click is a pixel (row, col) said to be object (positive) or background (negative). An
interactive network (`TrainConfig.interactive`) takes ``CLICK_CHANNELS`` = 3 channels after the
image channels: the disks of radius `ClickConfig.radius_px` around the positive clicks, around
the negative clicks (DeepPI-EM's encoding), and the previous probability (the prediction before
the newest click, RITM's extra channel; zeros when there is none). A network knows it is
interactive by its ``interactive_clicks`` attribute (a `ClickConfig`), set by
`mark_interactive` when a run is trained or loaded.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shapelib import InputError

__all__ = [
    "CLICK_CHANNELS",
    "Click",
    "ClickConfig",
    "check_clicks",
    "click_settings",
    "clicks_from_rows",
    "disk",
    "encode_clicks",
    "image_channels",
    "input_channels",
    "mark_interactive",
    "network_input",
    "parse_click",
    "require_interactive",
    "with_zero_clicks",
]


# Input channels an interactive run adds: positive click disks, negative click disks, and the
# previous probability (the mask before the newest click).
CLICK_CHANNELS = 3


class ClickConfig(BaseModel):
    """Clicks of an interactive run: their encoding and the simulated user of training.

    Each training patch gets, with probability ``1 - zero_click_p``, between 1 and `max_clicks`
    clicks: up to `iterative_clicks` of them chosen one at a time by `clicker` from the
    network's own current prediction (one extra forward pass each, in eval mode, as RITM does),
    the others placed at once on the errors of its zero-click prediction. The previous
    probability channel holds the prediction before the newest click (zeros without clicks).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    radius_px: int = Field(
        20, ge=1, le=256, description="Radius of the disk drawn around each click (DeepPI-EM: 20)."
    )
    max_clicks: int = Field(8, ge=1, le=64, description="Most clicks a training patch gets.")
    iterative_clicks: int = Field(
        2,
        ge=0,
        le=20,
        description="Of those, at most this many chosen from the current prediction, one "
        "forward pass each.",
    )
    zero_click_p: float = Field(
        0.25, ge=0, le=1, description="Share of training patches without clicks (automatic mode)."
    )
    clicker: Literal["error", "uncertainty"] = Field(
        "error",
        description="Training clicker: error (the centre of the largest error region, RITM) or "
        "uncertainty (the top suggestion of the uncertainty map, labelled from the truth).",
    )


@dataclass(frozen=True)
class Click:
    """One click: pixel `row`, `col` (0-based, image grid), object (True) or background."""

    row: int
    col: int
    positive: bool = True

    @property
    def sign(self) -> str:
        return "+" if self.positive else "-"


def parse_click(text: str) -> Click:
    """``"ROW,COL,+"`` (object) or ``"ROW,COL,-"`` (background) -> `Click`."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 3:
        raise InputError(
            f"a click looks like ROW,COL,+ or ROW,COL,- (pixel row and column, object or "
            f"background); got {text!r}."
        )
    row, col, sign = parts
    if sign not in ("+", "-"):
        raise InputError(
            f"click {text!r}: the sign must be + (object) or - (background); got {sign!r}."
        )
    try:
        return Click(int(row), int(col), sign == "+")
    except ValueError:
        raise InputError(
            f"click {text!r}: row and column must be whole pixel numbers; got {row!r}, {col!r}."
        ) from None


def _sign_of(value, where: str) -> bool:
    text = str(value).strip().lower()
    if text in ("+", "1", "true", "pos", "positive"):
        return True
    if text in ("-", "0", "false", "neg", "negative"):
        return False
    raise InputError(f"{where}: sign must be + or - (or positive/negative); got {value!r}.")


def clicks_from_rows(rows: Sequence[dict], *, where: str = "clicks file") -> tuple[Click, ...]:
    """Clicks from table rows with columns ``row``, ``col`` and ``sign`` (``+``/``-``; or a
    ``positive`` column of true/false), in order."""
    if not rows:
        return ()
    cols = set(rows[0])
    sign_col = "sign" if "sign" in cols else "positive" if "positive" in cols else None
    missing = [c for c in ("row", "col") if c not in cols] + ([] if sign_col else ["sign"])
    if missing:
        raise InputError(
            f"{where} misses the column(s) {missing}; it needs row, col and sign (+ or -); "
            f"it has {sorted(cols)}."
        )
    out = []
    for i, r in enumerate(rows):
        here = f"{where} line {i + 2}"
        try:
            row, col = int(float(r["row"])), int(float(r["col"]))
        except (TypeError, ValueError):
            raise InputError(
                f"{here}: row and col must be pixel numbers; got {r['row']!r}, {r['col']!r}."
            ) from None
        out.append(Click(row, col, _sign_of(r[sign_col], here)))
    return tuple(out)


def check_clicks(clicks: Iterable, shape: tuple[int, int], *, where: str = "the image"):
    """The clicks as a tuple of `Click`, each inside an image of `shape` (rows, cols)."""
    out = []
    h, w = shape
    for c in clicks:
        if not isinstance(c, Click):
            raise InputError(f"clicks must be segtrain.Click(row, col, positive); got {c!r}.")
        if not isinstance(c.positive, bool | np.bool_):
            raise InputError(f"click {c}: positive must be True (+) or False (-).")
        if not (0 <= c.row < h and 0 <= c.col < w):
            raise InputError(
                f"click ({c.row}, {c.col}, {c.sign}) is outside {where} of {h} rows x {w} "
                f"columns; rows go 0..{h - 1}, columns 0..{w - 1}."
            )
        out.append(Click(int(c.row), int(c.col), bool(c.positive)))
    return tuple(out)


@functools.lru_cache(maxsize=16)
def disk(radius_px: int) -> np.ndarray:
    """A boolean (2r + 1, 2r + 1) disk: the pixels whose centres are within `radius_px` of the
    centre pixel's (``dy^2 + dx^2 <= r^2``)."""
    r = int(radius_px)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    d = (yy * yy + xx * xx) <= r * r
    d.setflags(write=False)
    return d


def encode_clicks(
    clicks: Sequence[Click],
    shape: tuple[int, int],
    *,
    radius_px: int,
    origin: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """(2, h, w) float32: 1 inside the disk of each positive (channel 0) and negative
    (channel 1) click, 0 elsewhere. `origin` is the image position of pixel (0, 0) of the
    grid (for a window); clicks outside it draw the part of their disk that falls inside."""
    out = np.zeros((2, *shape), np.float32)
    d = disk(radius_px)
    r = int(radius_px)
    h, w = shape
    for c in clicks:
        y, x = c.row - origin[0], c.col - origin[1]
        y0, y1, x0, x1 = max(y - r, 0), min(y + r + 1, h), max(x - r, 0), min(x + r + 1, w)
        if y0 >= y1 or x0 >= x1:
            continue
        part = d[y0 - (y - r) : y1 - (y - r), x0 - (x - r) : x1 - (x - r)]
        ch = out[0 if c.positive else 1, y0:y1, x0:x1]
        ch[part] = 1.0
    return out


# --- interactive networks ---------------------------------------------------------------------


def mark_interactive(net, clicks: ClickConfig | None):
    """Say on the network object that it takes clicks (`clicks` settings) or not (None)."""
    net.interactive_clicks = clicks
    return net


def click_settings(net) -> ClickConfig | None:
    """The click settings of an interactive network; None for one that takes no clicks."""
    c = getattr(net, "interactive_clicks", None)
    return c if isinstance(c, ClickConfig) else None


def input_channels(net) -> int:
    """The number of input channels a network takes (its params, else its first convolution)."""
    import torch

    c = getattr(getattr(net, "params", None), "in_channels", None)
    if isinstance(c, int):
        return c
    conv = next((m for m in net.modules() if isinstance(m, torch.nn.Conv2d)), None)
    return conv.in_channels if conv is not None else 1


def image_channels(net) -> int:
    """Image channels a network takes (its input channels minus the click channels)."""
    return input_channels(net) - (CLICK_CHANNELS if click_settings(net) is not None else 0)


def require_interactive(net, what: str = "refining with clicks") -> ClickConfig:
    """The click settings, or a one-line error saying how to train an interactive run."""
    c = click_settings(net)
    if c is None:
        raise InputError(
            f"{what} needs an interactive run, and this {type(net).__name__} run takes no clicks; "
            "train one with `mitoshape train --interactive` (or `interactive: true` in the "
            "config), e.g. --model prob_unet --interactive."
        )
    return c


def load_plain_weights(net, state: dict, image_channels: int = 1) -> list[str]:
    """Start an interactive network from the weights of a plain (non-interactive) run of the
    same model: every tensor is copied, and the layers that read the input get zero weights for
    the click and previous-mask channels, so the network first predicts exactly what the plain
    run predicts and learns from there what the clicks mean (the pre-trained start RITM and
    DeepPI-EM use). Returns the names of the widened tensors.

    `state` must hold the same tensors as `net`, the input layers having exactly
    `CLICK_CHANNELS` fewer input channels; anything else is an `InputError`. The click channels
    follow the `image_channels` in every input (`network_input`; a posterior net's input is
    the image, the clicks, then the mask), so the zeros are inserted there.
    """
    import torch

    own = net.state_dict()
    if set(own) != set(state):
        raise InputError(
            "init_from holds another architecture: its weights do not match this model's "
            f"({len(set(own) ^ set(state))} tensors differ by name)."
        )

    def but_inputs(shape):
        return shape[:1] + shape[2:]

    widened, merged = [], {}
    for name, w in own.items():
        old = state[name]
        if old.shape == w.shape:
            merged[name] = old
            continue
        wider = old.dim() == w.dim() >= 2 and w.shape[1] - old.shape[1] == CLICK_CHANNELS
        if wider and but_inputs(old.shape) == but_inputs(w.shape):
            at = image_channels
            zeros = torch.zeros_like(w[:, :CLICK_CHANNELS])
            merged[name] = torch.cat([old[:, :at], zeros, old[:, at:]], dim=1)
            widened.append(name)
            continue
        raise InputError(
            f"init_from: tensor {name} has shape {tuple(old.shape)}, this model needs "
            f"{tuple(w.shape)}; only the input layers may differ, by the {CLICK_CHANNELS} click "
            "channels."
        )
    if not widened:
        raise InputError("init_from: no input layer to widen; is the init run interactive already?")
    net.load_state_dict(merged)
    return widened


def network_input(
    x: np.ndarray,
    clicks: Sequence[Click],
    prev: np.ndarray | None,
    *,
    radius_px: int,
    origin: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """(C + 3, h, w) float32: the normalised image channels `x` (C, h, w), the click disks and
    the previous probability `prev` (h, w) (zeros for None)."""
    h, w = x.shape[-2:]
    p = np.zeros((1, h, w), np.float32) if prev is None else np.asarray(prev, np.float32)[None]
    return np.concatenate(
        [
            np.asarray(x, np.float32),
            encode_clicks(clicks, (h, w), radius_px=radius_px, origin=origin),
            p,
        ]
    )


def with_zero_clicks(net, x: np.ndarray) -> np.ndarray:
    """`x` (C, h, w) with zero click and previous-mask channels appended when `net` is
    interactive and `x` holds only its image channels (the zero-click input); else `x`."""
    if click_settings(net) is None or x.shape[0] != image_channels(net):
        return x
    return np.concatenate([x, np.zeros((CLICK_CHANNELS, *x.shape[-2:]), x.dtype)])
