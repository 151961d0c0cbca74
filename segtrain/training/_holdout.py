"""Held-out validation data cut from the training data: whole images, or a band of every image.

Never patches of training images: validation pixels are never training pixels, and the
network never sees them as input during training.

- **images**: whole images are held out. From an EM stack, the last ``fraction`` of its slices
  (a contiguous block), and training slices closer than ``2 x context + 1`` slices to a held-out
  one are dropped, so no 2.5D input window holds pixels of both sides. Other images: chosen by
  seed (or by name).
- **band**: the bottom ``fraction`` of the rows of every image is held out, and
  ``min(gap_px, rows // 8)`` rows between the training part and the band are dropped, so fewer
  objects lie on both sides.
- **auto**: images when there are 10 or more training images, else band (with 5 images, one
  held-out image would take a fifth of the data and leave a validation score of one image).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shapelib import InputError

__all__ = ["AUTO_IMAGES_MIN", "Holdout", "split_holdout"]

# From this many training images on, `auto` holds out whole images.
AUTO_IMAGES_MIN = 10


@dataclass(frozen=True, eq=False)
class Holdout:
    """Training and validation images of a run, and what was held out.

    Attributes
    ----------
    train, val : lists of `LabeledImage` (band mode: row crops of the training images)
    mode : "images", "band", "none" (validation = training images) or "given" (a val set)
    names : the held-out image names (images mode), else ()
    description : one sentence for the log and ``split.json``
    """

    train: list
    val: list
    mode: str
    names: tuple[str, ...]
    description: str

    @property
    def held_out(self) -> bool:
        return self.mode != "none"

    @property
    def pixel_size_nm(self) -> list[float] | None:
        """The (y, x) pixel size of the training images when every one carries one and they
        agree within 1 %, else None (the run then cannot resample images to its scale)."""
        sizes = [it.pixel_size_nm for it in self.train]
        if not sizes or any(s is None for s in sizes):
            return None
        arr = np.asarray(sizes, dtype=float)
        if not np.allclose(arr, arr[0], rtol=0.01):
            return None
        return [float(v) for v in arr[0]]

    def as_dict(self) -> dict:
        """``split.json``: the mode, the sentence, the training images' pixel size, and per
        image its name, size and pixel size."""

        def entry(it) -> dict:
            px = None if it.pixel_size_nm is None else [float(v) for v in it.pixel_size_nm]
            return {"name": it.name, "shape": list(it.mask.shape), "pixel_size_nm": px}

        return {
            "mode": self.mode,
            "description": self.description,
            "pixel_size_nm": self.pixel_size_nm,
            "validation": [entry(it) for it in self.val],
            "training": [entry(it) for it in self.train],
        }


def _crop_rows(item, start: int, stop: int, suffix: str = ""):
    rows = slice(start, stop)
    inst = None if item.instances is None else item.instances[rows]
    return dataclasses.replace(
        item,
        name=item.name + suffix,
        image=item.image[..., rows, :],
        mask=item.mask[rows],
        instances=inst,
    )


def _band(items: Sequence, fraction: float, gap_px: int) -> Holdout:
    train, val = [], []
    for it in items:
        h = it.mask.shape[0]
        n_val = max(1, int(round(fraction * h)))
        gap = min(gap_px, h // 8)
        if h - n_val - gap < 1:
            raise InputError(
                f"image {it.name!r} has {h} rows: too few for a held-out band of {n_val} rows "
                f"and a gap of {gap_px}; use holdout 'images', a smaller holdout_gap_px, or a "
                "validation set (val)."
            )
        train.append(_crop_rows(it, 0, h - n_val - gap))
        val.append(_crop_rows(it, h - n_val, h, ":band"))

    def span(values) -> str:
        lo, hi = min(values), max(values)
        return str(lo) if lo == hi else f"{lo}-{hi}"

    n_rows = [v.mask.shape[0] for v in val]
    gaps = [
        it.mask.shape[0] - t.mask.shape[0] - v.mask.shape[0]
        for it, t, v in zip(items, train, val, strict=True)
    ]
    text = (
        f"held out the bottom {fraction:.0%} of the rows ({span(n_rows)} rows) of each of the "
        f"{len(items)} training images, with {span(gaps)} rows between them and the training "
        "part left out"
    )
    return Holdout(train, val, "band", (), text)


def _pick_images(items: Sequence, fraction: float, seed: int) -> set[str]:
    """Held-out names: the last slices of each stack, a seeded choice of the other images."""
    chosen: set[str] = set()
    stacks: dict[str, list] = {}
    plain = []
    for it in items:
        if it.index is not None:
            stacks.setdefault(it.source, []).append(it)
        else:
            plain.append(it)
    for members in stacks.values():
        members = sorted(members, key=lambda it: it.index)
        n_val = max(1, int(round(fraction * len(members))))
        chosen |= {it.name for it in members[-n_val:]}
    if plain:
        order = np.random.default_rng(seed).permutation(len(plain))
        n_val = max(1, int(round(fraction * len(plain))))
        chosen |= {plain[i].name for i in sorted(order[:n_val])}
    return chosen


def _images(
    items: Sequence, fraction: float, seed: int, context: int, names: Sequence[str]
) -> Holdout:
    if len(items) < 2:
        raise InputError(
            f"holdout 'images' needs at least 2 training images; got {len(items)}. Use holdout "
            "'band' or give a validation set (val)."
        )
    all_names = [it.name for it in items]
    if names:
        unknown = sorted(set(names) - set(all_names))
        if unknown:
            raise InputError(
                f"val_names {unknown[:5]} are not training images; the training images are "
                f"{all_names[:8]}{' ...' if len(all_names) > 8 else ''}."
            )
        chosen = set(names)
    else:
        chosen = _pick_images(items, fraction, seed)
    val = [it for it in items if it.name in chosen]
    # Stack slices too close to a held-out slice of the same stack are dropped from training.
    gap = 2 * context + 1
    held = {(it.source, it.index) for it in val if it.index is not None}
    train = []
    dropped = 0
    for it in items:
        if it.name in chosen:
            continue
        if it.index is not None and any(
            s == it.source and abs(z - it.index) < gap for s, z in held
        ):
            dropped += 1
            continue
        train.append(it)
    if not train:
        raise InputError(
            f"holding out {len(val)} of {len(items)} images leaves none to train on; lower "
            "val_fraction, use holdout 'band', or give a validation set (val)."
        )
    shown = ", ".join(it.name for it in val[:6]) + (" ..." if len(val) > 6 else "")
    text = f"held out {len(val)} of the {len(items)} training images ({shown})"
    if held:
        text += f"; {dropped} stack slices within {gap - 1} slices of them not used for training"
    return Holdout(train, val, "images", tuple(it.name for it in val), text)


def split_holdout(
    items: Sequence,
    *,
    mode: str = "auto",
    fraction: float = 0.2,
    seed: int = 0,
    context: int = 0,
    gap_px: int = 32,
    names: Sequence[str] = (),
) -> Holdout:
    """Split training images into training and held-out validation images.

    Parameters
    ----------
    items : sequence of `LabeledImage` (any dataclass with name, image, mask, instances,
        source, index)
    mode : "auto", "images", "band" or "none" (module docstring)
    fraction : share held out (of the images, or of each image's rows)
    seed : int, picks the held-out images (images mode, not from a stack)
    context : int, 2.5D neighbours per side (sets the slice gap of stacks)
    gap_px : int, rows dropped between training part and band (band mode)
    names : held-out image names (images mode); empty: chosen as above

    Returns
    -------
    Holdout
    """
    items = list(items)
    if mode == "auto":
        mode = "images" if len(items) >= AUTO_IMAGES_MIN else "band"
    if mode == "none":
        text = "no held-out data: validation uses fixed patches of the training images"
        return Holdout(items, items, "none", (), text)
    if mode == "band":
        return _band(items, fraction, gap_px)
    if mode == "images":
        return _images(items, fraction, seed, context, names)
    raise InputError(f"holdout must be auto, images, band or none; got {mode!r}.")
