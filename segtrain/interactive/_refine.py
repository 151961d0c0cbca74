"""Refinement by clicks: the prediction after a person's positive and negative clicks.

One click re-predicts a window around it (RITM's zoom-in): the box of the click's disk and of
the previous mask's objects that its disk touches, grown to at least `window_px` (192) per side
and cut to at most `max_window_px` (384) about the click, predicted with `context_px` of image
around it, and pasted into the previous probability and uncertainty with a feather of
`blend_px` (16) along its edges inside the image (`feather`: the old values at the edge, the new
ones `blend_px` inside, so neither map shows a square seam); the rest of the image keeps its
values. Clicks enter the network as input channels,
so its whole body reruns inside the window, but only there, and a probabilistic network runs its
body and prior once per window and only its 1x1 head per sample. ``window=None`` re-predicts the
whole image.

Without a previous probability, `refine` first predicts the image without clicks and then
applies the clicks in order, one window each, as a person clicking them one after the other.
With one (``prev_mask``), the last click is the new one and the earlier clicks are those the
previous probability already answered.

A click always acts in its direction (`_direction.py`, ``RefineConfig.directional``): a
positive click never removes foreground, a negative one never adds it, the network's change
is accepted only in the region grown from the click, and the click's pixel takes its label.
The probability within `enforce_px` of each click is set to its label (0 and
``directional=False`` show the network alone).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from shapelib import InputError

from ..inference._clicks import Click, check_clicks, disk, network_input, require_interactive
from ..inference._config import InferenceConfig, RefineConfig
from ..inference._normalise import prepare_image
from ..inference._sampling import draw_eps, is_probabilistic, samples_of_input
from ._direction import directional_update
from ._suggest import Suggestion, suggest_clicks

__all__ = [
    "Box",
    "Refinement",
    "click_window",
    "feather",
    "previous_state",
    "refine",
    "refine_input",
]

# (row0, row1, col0, col1), half-open.
Box = tuple[int, int, int, int]


@dataclass(frozen=True, eq=False)
class Refinement:
    """The state after some clicks.

    Attributes
    ----------
    mask : (Y, X) uint8 {0, 1}, probability >= threshold
    probability : (Y, X) float32, the mean probability (over samples)
    uncertainty : (Y, X) float32, the std across samples (flips for a deterministic network)
    suggestions : tuple of Suggestion, where to click next, best first
    seconds : float, wall time of the call
    clicks : tuple of Click, the clicks this state answers
    window : (row0, row1, col0, col1) re-predicted by the last step, or None (whole image)
    """

    mask: np.ndarray = field(repr=False)
    probability: np.ndarray = field(repr=False)
    uncertainty: np.ndarray = field(repr=False)
    suggestions: tuple[Suggestion, ...]
    seconds: float
    clicks: tuple[Click, ...] = ()
    window: Box | None = None


def click_window(
    prev_mask: np.ndarray,
    click: Click,
    *,
    radius_px: int,
    window_px: int = 192,
    max_window_px: int | None = 384,
) -> Box:
    """The box a click re-predicts: its disk and the previous mask's objects it touches
    (4-connected), grown about the click to at least `window_px` per side, at most
    `max_window_px` per side about the click (None: no limit; a larger object is then
    re-predicted near the click only), inside the image."""
    from scipy import ndimage

    h, w = prev_mask.shape
    r = int(radius_px)
    y0, y1 = max(click.row - r, 0), min(click.row + r + 1, h)
    x0, x1 = max(click.col - r, 0), min(click.col + r + 1, w)
    near = (
        np.asarray(prev_mask[y0:y1, x0:x1], bool)
        & disk(r)[y0 - click.row + r : y1 - click.row + r, x0 - click.col + r : x1 - click.col + r]
    )
    if near.any():
        labels, _ = ndimage.label(prev_mask)
        ids = np.unique(labels[y0:y1, x0:x1][near])
        rows, cols = np.nonzero(np.isin(labels, ids[ids > 0]))
        y0, y1 = min(y0, rows.min()), max(y1, rows.max() + 1)
        x0, x1 = min(x0, cols.min()), max(x1, cols.max() + 1)

    def grow(a: int, b: int, centre: int, n: int) -> tuple[int, int]:
        size = min(max(b - a, window_px), n)
        if b - a >= size:
            return a, b
        # centred on the click where the image allows, always holding [a, b)
        start = int(np.clip(centre - size // 2, max(0, b - size), min(a, n - size)))
        return start, start + size

    def cap(a: int, b: int, centre: int, n: int) -> tuple[int, int]:
        if max_window_px is None or b - a <= max_window_px:
            return a, b
        size = max(max_window_px, window_px)
        start = int(np.clip(centre - size // 2, a, b - size))
        return start, start + size

    y0, y1 = cap(*grow(y0, y1, click.row, h), click.row, h)
    x0, x1 = cap(*grow(x0, x1, click.col, w), click.col, w)
    return int(y0), int(y1), int(x0), int(x1)


def _expand(box: Box, m: int, shape: tuple[int, int]) -> Box:
    y0, y1, x0, x1 = box
    return max(y0 - m, 0), min(y1 + m, shape[0]), max(x0 - m, 0), min(x1 + m, shape[1])


def _enforce(prob, unc, clicks, enforce_px: int):
    if enforce_px <= 0:
        return
    d = disk(enforce_px)
    r = enforce_px
    h, w = prob.shape
    for c in clicks:
        y0, y1 = max(c.row - r, 0), min(c.row + r + 1, h)
        x0, x1 = max(c.col - r, 0), min(c.col + r + 1, w)
        part = d[y0 - c.row + r : y1 - c.row + r, x0 - c.col + r : x1 - c.col + r]
        prob[y0:y1, x0:x1][part] = 1.0 if c.positive else 0.0
        unc[y0:y1, x0:x1][part] = 0.0


def feather(window: Box, shape: tuple[int, int], blend_px: int) -> np.ndarray:
    """(rows, cols) weight of a window's new values: 0 on its edges inside the image, rising
    linearly to 1 at `blend_px` from them, 1 along the image's own borders (no seam there)."""

    def ramp(a: int, b: int, n: int) -> np.ndarray:
        i = np.arange(b - a, dtype=np.float32)
        r = np.ones(b - a, np.float32)
        if blend_px > 0 and a > 0:
            r = np.minimum(r, i / blend_px)
        if blend_px > 0 and b < n:
            r = np.minimum(r, (b - a - 1 - i) / blend_px)
        return r

    y0, y1, x0, x1 = window
    return np.minimum.outer(ramp(y0, y1, shape[0]), ramp(x0, x1, shape[1]))


def _step(x, clicks, prob, unc, window, *, radius_px, context_px, blend_px, run):
    """Re-predict `window` (a box) for `clicks` from previous `prob`, `unc`; new arrays. The
    window is pasted with a feather of `blend_px` (`feather`): no square seam in the maps."""
    y0, y1, x0, x1 = _expand(window, context_px, prob.shape)
    sub = network_input(
        x[:, y0:y1, x0:x1], clicks, prob[y0:y1, x0:x1], radius_px=radius_px, origin=(y0, x0)
    )
    wy0, wy1, wx0, wx1 = window
    s = run(sub, whole=True, crop=(wy0 - y0, wy1 - y0, wx0 - x0, wx1 - x0))
    a = feather(window, prob.shape, blend_px)
    prob, unc = prob.copy(), unc.copy()
    for old, new in ((prob, s.mean), (unc, s.std)):
        part = old[wy0:wy1, wx0:wx1]
        part += a * (new - part)  # in place: the window of the copy
    return prob, unc


def previous_state(previous, shape) -> tuple[np.ndarray, np.ndarray] | None:
    """(probability, uncertainty) of a previous state: a `Refinement` (or any state with a
    ``probability`` and an ``uncertainty``), a probability map (its uncertainty zeros) or None;
    a one-line error for another image's."""
    if previous is None:
        return None
    prob = getattr(previous, "probability", previous)
    if np.shape(prob) != tuple(shape):
        raise InputError(
            f"prev_mask has shape {np.shape(prob)}, the image {tuple(shape)}; pass the "
            "previous probability (or Refinement) of this image."
        )
    unc = getattr(previous, "uncertainty", None)
    unc = np.zeros(shape, np.float32) if unc is None else np.asarray(unc, np.float32)
    return np.asarray(prob, np.float32), unc


def refine_input(
    net,
    x: np.ndarray,
    clicks: Sequence[Click],
    previous: Refinement | np.ndarray | None = None,
    *,
    config: InferenceConfig | None = None,
    options: RefineConfig | None = None,
    window: str | Box | None = "auto",
    rng=0,
) -> Refinement:
    """`refine` on a normalised image (C, Y, X) with clicks already checked (the hot path of
    the web app and the simulated user, which normalise an image once)."""
    t0 = time.perf_counter()
    config, options = config or InferenceConfig(), options or RefineConfig()
    settings = require_interactive(net)
    r = settings.radius_px
    clicks = tuple(clicks)
    # The same latent draws for every window: coherent samples.
    eps = draw_eps(net, options.samples, rng) if is_probabilistic(net) else None

    def run(sub, *, whole, crop=None):
        # Mean and std only: the K maps of a whole image are never held at once.
        return samples_of_input(
            net,
            sub,
            config,
            samples=options.samples,
            eps=eps,
            whole=whole,
            crop=crop,
            keep_samples=False,
        )

    h, w = x.shape[-2:]
    before = previous_state(previous, (h, w))
    if before is None:
        # No previous state: the zero-click prediction, then the clicks in order.
        first = run(network_input(x, (), None, radius_px=r), whole=False)
        prob, unc = first.mean, first.std
        steps = [clicks[: i + 1] for i in range(len(clicks))]
    else:
        prob, unc = before
        steps = [clicks] if clicks else []
    box = None
    for given in steps:
        prev = (prob, unc)
        if window is None:
            box = (0, h, 0, w)
            full = run(network_input(x, given, prob, radius_px=r), whole=False)
            prob, unc = full.mean, full.std
        else:
            if isinstance(window, str):
                box = click_window(
                    prob >= config.threshold,
                    given[-1],
                    radius_px=r,
                    window_px=options.window_px,
                    max_window_px=options.max_window_px,
                )
            else:
                box = _check_box(window, (h, w))
            prob, unc = _step(
                x,
                given,
                prob,
                unc,
                box,
                radius_px=r,
                context_px=options.context_px,
                blend_px=options.blend_px,
                run=run,
            )
        if options.directional:  # the answer only where it agrees with the click's sign
            prob, unc = directional_update(
                prev,
                (prob, unc),
                given[-1],
                threshold=config.threshold,
                radius_px=options.enforce_px,
                box=None if window is None else _expand(box, options.enforce_px, (h, w)),
            )
    prob, unc = prob.copy(), unc.copy()
    _enforce(prob, unc, clicks, options.enforce_px)
    suggestions = suggest_clicks(unc, clicks=clicks, n=options.n_suggestions, radius_px=r)
    return Refinement(
        mask=(prob >= config.threshold).astype(np.uint8),
        probability=prob.astype(np.float32),
        uncertainty=unc.astype(np.float32),
        suggestions=suggestions,
        seconds=time.perf_counter() - t0,
        clicks=clicks,
        window=None if window is None or box is None else box,
    )


def _check_box(box, shape) -> Box:
    try:
        y0, y1, x0, x1 = (int(v) for v in box)
    except (TypeError, ValueError):
        raise InputError(
            f"window must be 'auto', None or (row0, row1, col0, col1); got {box!r}."
        ) from None
    if not (0 <= y0 < y1 <= shape[0] and 0 <= x0 < x1 <= shape[1]):
        raise InputError(f"window {box} is not inside the image of shape {shape}.")
    return y0, y1, x0, x1


def refine(
    net,
    image: np.ndarray,
    clicks: Sequence[Click],
    previous: Refinement | np.ndarray | None = None,
    *,
    config: InferenceConfig | None = None,
    options: RefineConfig | None = None,
    window: str | Box | None = "auto",
    normalize: tuple[float, float] | None = (1.0, 99.0),
    rng=0,
) -> Refinement:
    """The mask, probability and uncertainty of an interactive network after `clicks`, and the
    next suggestions.

    Parameters
    ----------
    net : an interactive network (a run trained with ``interactive: true``), eval mode
    image : (Y, X) ndarray (or (C, Y, X) for 2.5D runs), raw intensities; any size
    clicks : sequence of Click (row, col, positive), in the order they were given
    previous : Refinement, (Y, X) float or None; the previous state (or its probability, with
        zero uncertainty), which answered all clicks but the last (then only the last click is
        applied); None: predict without clicks first, then apply every click in order
    config : InferenceConfig or None, the tiles of a whole-image prediction, the threshold
        and the precision (``amp``)
    options : RefineConfig or None: ``samples`` (K prior samples of a probabilistic network; a
        deterministic one gives the spread of its 4 flips for more than 1, none for 1), the
        window's least and largest side (``window_px``, ``max_window_px``), the image margin
        the network sees around it (``context_px``), the radius about each click that takes
        its label (``enforce_px``) and the suggestions (``n_suggestions``)
    window : "auto" (around the click, RITM's zoom-in), None (whole image) or a box
        (row0, row1, col0, col1)
    normalize : percentiles per channel, or None when `image` is normalised already
    rng : seed of the latent draws (the same for every call: coherent samples across clicks)

    Returns
    -------
    Refinement

    Examples
    --------
    >>> out = refine(net, image, [Click(120, 300, True)])                   # doctest: +SKIP
    >>> out2 = refine(net, image, [*out.clicks, Click(40, 80, False)], out)  # doctest: +SKIP
    """
    require_interactive(net)
    x = prepare_image(net, image, normalize=normalize, where="image")
    clicks = check_clicks(clicks, x.shape[-2:], where="the image")
    previous_state(previous, x.shape[-2:])  # another image's state fails before any work
    return refine_input(
        net, x, clicks, previous, config=config, options=options, window=window, rng=rng
    )
