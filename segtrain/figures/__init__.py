"""Every figure of segtrain, as ``matplotlib.figure.Figure`` objects (no pyplot, no backend
switch); save them with `segtrain.io.write_figure`. One module per topic: training and
evaluation results (`_results`), explanations (`_explain`), the simulated user (`_clicks`),
the per-image and folder report (`_report`), the realism test (`_realism`), predictions on
real images (`_sheet`), and what they
share: image axes in um, scale bars, class colours (`_style`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._exports import attach

if TYPE_CHECKING:  # the public names, loaded on first use (segtrain._exports)
    from ._clicks import plot_click_curves
    from ._explain import plot_deletion_curves, plot_explanation
    from ._realism import plot_realism
    from ._report import plot_image_report, plot_report_summary
    from ._results import plot_bench_table, plot_fold_change, plot_predictions, plot_training_curves
    from ._sheet import plot_prediction_sheet

__getattr__, __dir__, __all__ = attach(__name__, __file__)
