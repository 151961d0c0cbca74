"""The training data of a run (a workflow over `segtrain.io`): every source read once, the
validation images held out (or the given ones), and the data stage built from them."""

from __future__ import annotations

from .. import io
from ..training._batches import TrainData, training_data
from ..training._config import DataSource, TrainConfig
from ..training._holdout import Holdout, split_holdout

__all__ = ["read_training_data"]


def _read_sources(sources: list[DataSource], context: int) -> list:
    items = []
    for s in sources:
        items += io.read_source(s, context=context)
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
        split = split_holdout(
            train_items,
            mode=cfg.holdout,
            fraction=cfg.val_fraction,
            seed=cfg.seed,
            context=cfg.context_slices,
            gap_px=cfg.holdout_gap_px,
            names=cfg.val_names,
        )
        cfg = cfg.model_copy(update={"holdout": split.mode, "val_names": list(split.names)})
    record = split.as_dict()  # what was held out, for split.json
    return cfg, training_data(cfg, split, record)
