"""Every figure of segtrain, as ``matplotlib.figure.Figure`` objects (no pyplot, no backend
switch); save them with `segtrain.io.write_figure`. One module per topic: training and
evaluation results (`_results`), predictions on real images (`_sheet`), explanations
(`_explain`), the simulated user (`_clicks`), the per-image and folder report (`_report`), and
what they share: image axes in um, scale bars, class colours (`_style`)."""

from ._clicks import plot_click_curves
from ._explain import plot_deletion_curves, plot_explanation
from ._report import plot_image_report, plot_report_summary
from ._results import plot_bench_table, plot_fold_change, plot_predictions, plot_training_curves
from ._sheet import plot_prediction_sheet
from ._style import CLASS_COLORS

__all__ = [
    "CLASS_COLORS",
    "plot_bench_table",
    "plot_click_curves",
    "plot_deletion_curves",
    "plot_explanation",
    "plot_fold_change",
    "plot_image_report",
    "plot_prediction_sheet",
    "plot_predictions",
    "plot_report_summary",
    "plot_training_curves",
]
