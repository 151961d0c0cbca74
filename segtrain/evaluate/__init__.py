"""Measuring masks (compute): per-image metrics (Dice, IoU, Betti numbers, instance F1/PQ), 2D
and 3D morphology and its comparison with the truth, and the realism of synthetic images
(a classifier two-sample test)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._exports import attach

if TYPE_CHECKING:  # the public names, loaded on first use (segtrain._exports)
    from ._instances import InstanceScores, match_instances
    from ._metrics import (
        Connectivity,
        EvaluationResult,
        betti_error,
        betti_numbers,
        binary_scores,
        evaluate_images,
        evaluate_pair,
        summarize,
    )
    from ._morphology import (
        QuantifyParams,
        compare_morphology,
        label_objects,
        min_area_rect,
        quantify_mask,
        quantify_masks,
    )
    from ._morphology3d import quantify_volume
    from ._realism import (
        Crops,
        RealismResult,
        RealismScore,
        realism_test,
        region_crops,
        roc_auc,
        two_sample_auc,
    )

__getattr__, __dir__, __all__ = attach(__name__, __file__)
