"""segtrain: train, predict, evaluate and benchmark segmenters and morphology quantifiers.

One sub-package per idea, each a layer over the ones before it: `models` (the networks by
name), `inference` (how a network predicts), `interactive` (clicks), `explain` (heatmaps),
`evaluate` (metrics, morphology, realism), `training` (the config, the data, the loop as
stages), `bench` (the benchmark grid), `figures`; `io` reads and writes files (a leaf);
`workflows` run files through them (`Run`, `train`, `predict_folder`, ...). Only `io` and
`workflows` touch the disk.

``import segtrain`` is cheap: a name loads its module on first use (torch only when a name
needs it); every name below is one of a sub-package's (`segtrain._exports`).

Examples
--------
>>> import segtrain
>>> cfg = segtrain.TrainConfig(train=[segtrain.DataSource(path="data/train")],
...                            run_dir="runs/unet")  # the recipe: segtrain.RECIPE
>>> run = segtrain.Run.open(segtrain.train(cfg))                           # doctest: +SKIP
>>> segtrain.predict_folder(run, "data/test/images", "out/pred")       # doctest: +SKIP
>>> segtrain.evaluate_folders("out/pred/masks", "data/test/masks").summary  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._exports import attach

# segtrain's names: its sub-packages', lowest layer first (the order is the layering,
# tests/test_architecture.py); loaded on first use.
if TYPE_CHECKING:  # isort: off
    from .io import read_postprocess, read_split
    from .figures import *
    from .models import *
    from .evaluate import *
    from .inference import *
    from .interactive import *
    from .explain import *
    from .training import *
    from .bench import *
    from .workflows import *
    # isort: on

__getattr__, __dir__, __all__ = attach(__name__, __file__)
