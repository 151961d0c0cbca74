"""Held-out validation data cut from the training data: whole images, or a band of every image.

Never patches of training images: validation pixels are never training pixels, and the
network never sees them as input during training.

- **images**: whole images are held out. Sections of one volume, the slices of an EM stack or
  files whose names number them (a common prefix and suffix around an integer:
  ``training_010.png ... training_029.png``), are held out as the contiguous block at the end
  of the volume, and the ``max(2 x context, context + 1)`` sections before it are dropped from
  training: neighbouring sections are near-copies (a seeded, interleaved choice would validate
  on the neighbours of training sections, a score that leaks), and no 2.5D input window holds
  pixels of both sides. Other images (names that number nothing): chosen by seed. Names given
  (``val_names``) are held out as given, their neighbouring sections dropped the same way.
- **band**: the bottom ``fraction`` of the rows of every image is held out, and
  ``min(gap_px, rows // 8)`` rows between the training part and the band are dropped, so fewer
  objects lie on both sides.
- **auto**: images when there are 10 or more training images, else band (with 5 images, one
  held-out image would take a fifth of the data and leave a validation score of one image).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shapelib import InputError

__all__ = ["AUTO_IMAGES_MIN", "Holdout", "gap_sections", "numbered_sections", "split_holdout"]

log = logging.getLogger(__name__)

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
        """The (y, x) pixel size the run was trained at: `training_pixel_size`."""
        return training_pixel_size([it.pixel_size_nm for it in self.train])

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


# Training images whose pixel sizes spread at most this much (max / min per axis) were trained
# at one scale with variation (a simulated set's pixel size +-20 %): the run's size is the middle
# of their range.
PIXEL_SIZE_SPREAD = 1.6


def training_pixel_size(sizes: Sequence) -> list[float] | None:
    """The (y, x) pixel size a run was trained at, from its training images' sizes: the middle
    of their range per axis (geometric: sqrt(min x max); a simulated set draws its sizes from a
    few microscope variants, so a median follows the draw, not the range) when every image
    carries one and they lie within PIXEL_SIZE_SPREAD of each other (one microscope, or a
    simulated set varied around one size), else None (the run then cannot resample images to
    its scale).

    >>> training_pixel_size([(80.0, 80.0), (64.0, 64.0), (100.0, 100.0)])
    [80.0, 80.0]
    >>> training_pixel_size([(5.0, 5.0), (80.0, 80.0)]) is None
    True
    """
    if not sizes or any(s is None for s in sizes):
        return None
    arr = np.asarray(sizes, dtype=float)
    if np.any(arr.max(axis=0) > PIXEL_SIZE_SPREAD * arr.min(axis=0)):
        return None
    return [float(v) for v in np.sqrt(arr.min(axis=0) * arr.max(axis=0))]


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


# A name that numbers a section: prefix, integer, suffix (``training_010``, ``z0040_em``).
_NUMBERED = re.compile(r"^(.*?)(\d+)(\D*)$")


def gap_sections(context: int) -> int:
    """Sections dropped between training and a held-out block of one volume: at least
    ``context + 1``, and ``2 x context`` so no 2.5D window of ``context`` neighbours per side
    holds a section of both sides."""
    return max(2 * context, context + 1)


def numbered_sections(names: Sequence[str]) -> list[int] | None:
    """The section numbers of `names` when they number sections of one volume (at least two
    names, one prefix and suffix around distinct integers), else None.

    Examples
    --------
    >>> numbered_sections(["training_010", "training_011", "training_029"])
    [10, 11, 29]
    >>> numbered_sections(["cell_a", "cell_b"]) is None
    True
    """
    parts = [_NUMBERED.match(n) for n in names]
    if len(parts) < 2 or any(m is None for m in parts):
        return None
    frames = {(m.group(1), m.group(3)) for m in parts if m is not None}
    numbers = [int(m.group(2)) for m in parts if m is not None]
    if len(frames) != 1 or len(set(numbers)) != len(numbers):
        return None
    return numbers


def _volumes(items: Sequence) -> tuple[list[list], list]:
    """(the volumes: per EM stack or set of numbered names, its items in section order; the
    other images)."""
    groups: dict[tuple, list] = {}
    for it in items:
        if it.index is not None:
            groups.setdefault(("stack", it.source), []).append((it.index, it))
            continue
        m = _NUMBERED.match(it.name)
        key = ("names", it.source, m.group(1), m.group(3)) if m else ("plain", it.source)
        groups.setdefault(key, []).append((int(m.group(2)) if m else 0, it))
    volumes, plain = [], []
    for key, members in groups.items():
        names = [it.name for _, it in members]
        if key[0] == "stack" or (key[0] == "names" and numbered_sections(names) is not None):
            volumes.append([it for _, it in sorted(members, key=lambda p: p[0])])
        else:
            plain += [it for _, it in members]
    return volumes, plain


def _key(it) -> tuple:
    """An image's identity among all sources (two sources may both hold an ``img_000001``)."""
    return (it.source, it.index, it.name)


def _pick_images(items: Sequence, fraction: float, seed: int) -> set[tuple]:
    """Held-out images (`_key`): the last sections of each volume, a seeded choice of the
    other images."""
    chosen: set[tuple] = set()
    volumes, plain = _volumes(items)
    for members in volumes:
        n_val = max(1, int(round(fraction * len(members))))
        chosen |= {_key(it) for it in members[-n_val:]}
    if plain:
        order = np.random.default_rng(seed).permutation(len(plain))
        n_val = max(1, int(round(fraction * len(plain))))
        chosen |= {_key(plain[i]) for i in sorted(order[:n_val])}
    return chosen


def _near_held_out(items: Sequence, chosen: set[tuple], gap: int) -> set[tuple]:
    """Training sections (`_key`) within `gap` sections (in a volume's order) of a held-out
    one of the same volume."""
    near: set[tuple] = set()
    for members in _volumes(items)[0]:
        held = [k for k, it in enumerate(members) if _key(it) in chosen]
        for k, it in enumerate(members):
            if _key(it) not in chosen and any(abs(k - h) <= gap for h in held):
                near.add(_key(it))
    return near


def _span(names: Sequence[str]) -> str:
    return ", ".join(names) if len(names) <= 6 else f"{names[0]} ... {names[-1]}"


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
        chosen = {_key(it) for it in items if it.name in set(names)}
    else:
        chosen = _pick_images(items, fraction, seed)
    val = [it for it in items if _key(it) in chosen]
    # Sections of a volume next to a held-out one are near-copies: dropped from training.
    gap = gap_sections(context)
    near = _near_held_out(items, chosen, gap)
    train = [it for it in items if _key(it) not in chosen and _key(it) not in near]
    if not train:
        raise InputError(
            f"holding out {len(val)} of {len(items)} images leaves none to train on; lower "
            "val_fraction, use holdout 'band', or give a validation set (val)."
        )
    volumes = _volumes(items)[0]
    in_volumes = {_key(it) for members in volumes for it in members}
    shown = _span([it.name for it in val])
    text = f"held out {len(val)} of the {len(items)} training images ({shown})"
    if chosen & in_volumes:
        how = "as given" if names else "the contiguous block at the end of each volume"
        text += (
            f": sections of {len(volumes)} volume(s) (EM stack slices or numbered names), "
            f"{how}, since neighbouring sections are near-copies; {len(near)} section(s) "
            f"within {gap} slices of them not used for training"
        )
        if near:
            text += f" ({_span(sorted(k[2] for k in near))})"
    elif not names:
        text += ": chosen by seed (the names number no sections)"
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
        split = _images(items, fraction, seed, context, names)
        log.info("validation: %s", split.description)
        return split
    raise InputError(f"holdout must be auto, images, band or none; got {mode!r}.")
