"""Clicks that act in their direction: the model's answer to a click, accepted only where it
agrees with the click's sign.

A person who clicks on an error and sees the mask grow elsewhere, or shrink after a positive
click, stops using the tool; an interactive network (trained or not, any model) gives no such
promise. So after a click, whatever the network answered:

- a **positive** click never turns foreground into background: the new probability is the
  larger of the previous and the network's, and only in the region grown from the click (the
  pixels that became foreground, 8-connected to the click's disk); the click's disk (at least
  its pixel) is foreground;
- a **negative** click never turns background into foreground: the smaller of the two, only in
  the region grown from the click (the pixels that became background, connected to it); the
  click's disk is background.

Everything else keeps its previous probability and uncertainty, inside and outside the
click's window. ``RefineConfig.directional=False`` takes the network's answer as it is.
"""

from __future__ import annotations

import numpy as np

from ..inference._clicks import Click, disk

__all__ = ["click_region", "directional_update"]


def click_region(click: Click, changed: np.ndarray, *, radius_px: int) -> np.ndarray:
    """The region grown from `click`: its disk of `radius_px` (at least its pixel) and the
    `changed` pixels 8-connected to it; a (Y, X) bool array."""
    from scipy import ndimage

    h, w = changed.shape
    r = max(int(radius_px), 0)
    seed = np.zeros((h, w), bool)
    y0, y1 = max(click.row - r, 0), min(click.row + r + 1, h)
    x0, x1 = max(click.col - r, 0), min(click.col + r + 1, w)
    dy0, dx0 = y0 - click.row + r, x0 - click.col + r
    seed[y0:y1, x0:x1] = disk(r)[dy0 : dy0 + y1 - y0, dx0 : dx0 + x1 - x0]
    grown = np.asarray(changed, bool) | seed
    labels, _ = ndimage.label(grown, structure=np.ones((3, 3), bool))
    ids = np.unique(labels[seed])
    return np.isin(labels, ids[ids > 0])


def directional_update(
    before: tuple[np.ndarray, np.ndarray],
    after: tuple[np.ndarray, np.ndarray],
    click: Click,
    *,
    threshold: float,
    radius_px: int,
    box: tuple[int, int, int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(probability, uncertainty) after `click`: the network's answer `after` accepted only in
    the click's direction and region (module docstring), over the state `before`; new arrays.

    Parameters
    ----------
    before, after : ((Y, X) probability, (Y, X) uncertainty), before the click and the
        network's answer to it
    click : Click, the new click
    threshold : probability of foreground
    radius_px : the click's own region: its disk takes its label
    box : (row0, row1, col0, col1) outside which `after` equals `before` (a click's window),
        holding the click's disk, or None; the work is then done in the box only (the same
        answer: no region grows through pixels that did not change)
    """
    p0, u0 = (np.asarray(a, np.float32) for a in before)
    p1, u1 = (np.asarray(a, np.float32) for a in after)
    if box is not None:
        y0, y1, x0, x1 = box
        part = np.s_[y0:y1, x0:x1]
        shifted = Click(click.row - y0, click.col - x0, click.positive)
        kw = {"threshold": threshold, "radius_px": radius_px}
        pp, uu = directional_update((p0[part], u0[part]), (p1[part], u1[part]), shifted, **kw)
        prob, unc = p0.copy(), u0.copy()
        prob[part], unc[part] = pp, uu
        return prob, unc
    fg0, fg1 = p0 >= threshold, p1 >= threshold
    changed = (fg1 & ~fg0) if click.positive else (fg0 & ~fg1)
    region = click_region(click, changed, radius_px=radius_px)
    agree = np.maximum(p0, p1) if click.positive else np.minimum(p0, p1)
    prob, unc = p0.copy(), u0.copy()
    prob[region] = agree[region]
    unc[region] = u1[region]
    # The click's own disk takes its label, at least its pixel.
    seed = click_region(click, np.zeros_like(changed), radius_px=radius_px)
    prob[seed] = 1.0 if click.positive else 0.0
    unc[seed] = 0.0
    return prob, unc
