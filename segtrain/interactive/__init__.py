"""Interaction by clicks (compute): refinement of a mask after clicks, suggested clicks from the
uncertainty, the simulated users (clickers) and their scores (mIoU@k, NoC, uncertainty
quality)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._exports import attach

if TYPE_CHECKING:  # the public names, loaded on first use (segtrain._exports)
    from ._clickers import CLICKERS, ClickTrace, next_click, simulate_clicks
    from ._clickeval import (
        SimulatedUser,
        UncertaintyScores,
        auroc,
        iou_curve,
        noc,
        summarize_traces,
        uncertainty_quality,
    )
    from ._refine import Refinement, refine, refine_input
    from ._suggest import Suggestion, suggest_clicks

__getattr__, __dir__, __all__ = attach(__name__, __file__)
