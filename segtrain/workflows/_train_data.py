"""The training data of a run (a workflow over `segtrain.io`): every source read once (2.5D
windows from EM stacks or from files that number consecutive sections), the validation images
held out (or the given ones), the unlabelled images read, and the data stage built from them."""

from __future__ import annotations

import logging

import numpy as np

from shapelib import InputError

from .. import io
from ..training._batches import TrainData, training_data
from ..training._config import DataSource, TrainConfig
from ..training._holdout import Holdout, split_holdout
from ..training._sections import with_section_context

__all__ = [
    "check_unlabelled",
    "check_val_foreground",
    "hold_out",
    "read_source_2p5d",
    "read_training_data",
    "read_unlabelled_2p5d",
]

log = logging.getLogger(__name__)


def read_source_2p5d(source: DataSource, context: int) -> list:
    """The `LabeledImage` s of `source` with `context` neighbours per side as channels: an
    EM stack's slices (`io.read_source`), or a folder's files whose names number consecutive
    sections (`segtrain.training._sections`)."""
    if context == 0 or io.source_kind(source) == "stack":
        return io.read_source(source, context=context)
    return with_section_context(io.read_source(source), context, where=source.path)


def read_unlabelled_2p5d(paths: list[str], context: int) -> list:
    """The unlabelled images of `paths` (`io.read_unlabelled`), each path's with its numbered
    neighbours as channels for 2.5D input."""
    items = []
    for p in paths:
        items += with_section_context(io.read_unlabelled(p), context, where=p)
    return items


def _centre(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    return image[image.shape[0] // 2] if image.ndim == 3 else image


def check_unlabelled(unlabelled: list, val: list) -> None:
    """Refuse unlabelled images that hold a validation image (the same pixels, or as its
    bottom rows: a held-out band): self-training on them would leak into the held-out score."""
    held: dict[int, list] = {}
    for it in val:
        c = _centre(it.image)
        held.setdefault(c.shape[-1], []).append((it.name, c))
    for u in unlabelled:
        c = _centre(u.image)
        for name, v in held.get(c.shape[-1], []):
            if c.shape[0] >= v.shape[0] and np.array_equal(c[c.shape[0] - v.shape[0] :], v):
                raise InputError(
                    f"unlabelled image {u.name} ({u.source}) holds the validation image {name}: "
                    "learning from it would leak into the held-out score; leave the validation "
                    "images out of unlabelled, or give another validation set (val)."
                )


def check_val_foreground(split: Holdout, cfg: TrainConfig) -> None:
    """Refuse validation images without one foreground pixel, before training: their IoU is 0
    at every check (1 when the prediction is empty too), so best.pt would stay at the first
    check and the overfitting warning would blame the network."""
    if _has_foreground(split):
        return
    sources = ", ".join(s.path for s in (cfg.val if split.mode == "given" else cfg.train))
    names = ", ".join(split.names[:6]) + (" ..." if len(split.names) > 6 else "")
    what, fix = {
        "given": (
            f"the validation set {sources} holds",
            "give a validation set whose masks hold mitochondria (--val)",
        ),
        "band": (
            f"the held-out band (the bottom {cfg.val_fraction:.0%} of the rows of every image) "
            f"of {sources} holds",
            "hold out whole images (--holdout images), a larger band (--val-fraction), or give "
            "a validation set (--val)",
        ),
        "images": (
            f"the held-out images ({names}) of {sources} hold",
            "hold out other or more images (--seed, --val-fraction, val_names in a --config), "
            "a band of every image (--holdout band), or give a validation set (--val)",
        ),
        "none": (
            f"the training images of {sources} hold",
            "give training masks that hold mitochondria",
        ),
    }[split.mode]
    raise InputError(
        f"{what} no foreground pixel ({len(split.val)} mask(s)): the validation IoU would be 0 "
        f"at every check and could not choose best.pt; {fix}."
    )


def _has_foreground(split: Holdout) -> bool:
    return any(np.any(it.mask) for it in split.val)


def hold_out(items: list, cfg: TrainConfig) -> Holdout:
    """The held-out validation of `items` by `cfg` (`split_holdout`). With holdout ``auto``,
    a choice whose validation holds no foreground (a band below the objects, an empty image)
    gives way to the other mode (whole images for a band, a band for images) when that one
    holds some, said in one line; `check_val_foreground` refuses what is left."""
    kw = {
        "fraction": cfg.val_fraction,
        "seed": cfg.seed,
        "context": cfg.context_slices,
        "gap_px": cfg.holdout_gap_px,
        "names": cfg.val_names,
    }
    split = split_holdout(items, mode=cfg.holdout, **kw)
    if cfg.holdout != "auto" or split.mode not in ("band", "images") or _has_foreground(split):
        return split
    other = "images" if split.mode == "band" else "band"
    try:
        alt = split_holdout(items, mode=other, **kw)
    except InputError:  # too few images or rows for the other mode
        return split
    if not _has_foreground(alt):
        return split
    log.warning(
        "validation: holdout auto chose %s, whose held-out pixels hold no foreground; "
        "holding out %s instead (%s)",
        split.mode,
        "whole images" if other == "images" else "a band of every image",
        alt.description,
    )
    return alt


def _read_sources(sources: list[DataSource], context: int) -> list:
    items = []
    for s in sources:
        items += read_source_2p5d(s, context)
    return items


def read_training_data(cfg: TrainConfig) -> tuple[TrainConfig, TrainData]:
    """Read the sources of `cfg`, hold out the validation images and build the data stage;
    the config with the hold-out mode and images used recorded in it, and the data."""
    train_items = _read_sources(cfg.train, cfg.context_slices)
    if cfg.val:
        val = _read_sources(cfg.val, cfg.context_slices)
        text = f"validation on the given set ({len(val)} images)"
        split = Holdout(train_items, val, "given", (), text)
    else:
        split = hold_out(train_items, cfg)
        cfg = cfg.model_copy(update={"holdout": split.mode, "val_names": list(split.names)})
    check_val_foreground(split, cfg)
    record = split.as_dict()  # what was held out, for split.json
    unlabelled = read_unlabelled_2p5d(cfg.unlabelled, cfg.context_slices)
    check_unlabelled(unlabelled, split.val if split.held_out else [])
    if unlabelled:
        log.info("self-training on %d unlabelled image(s) from %s", len(unlabelled), cfg.unlabelled)
        record["unlabelled"] = [{"name": it.name, "source": it.source} for it in unlabelled]
    return cfg, training_data(cfg, split, record, unlabelled)
