"""Figures are plain matplotlib Figures: curves with markers, fold change on a log axis."""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from segtrain import (
    plot_bench_table,
    plot_fold_change,
    plot_predictions,
    plot_training_curves,
)
from segtrain.io import write_figure


def test_fold_change_on_a_log_axis_with_the_one_line(tmp_path):
    c = pd.DataFrame(
        {"parameter": ["count", "mean_area_um2", "mean_width_um"], "fold_change": [2.0, 0.5, 0.0]}
    )
    fig = plot_fold_change(c)
    ax = fig.axes[0]
    assert isinstance(fig, Figure) and ax.get_yscale() == "log"
    lo, hi = ax.get_ylim()
    assert lo < 0.5 and hi > 2.0 and np.isclose(lo * hi, 1.0)  # symmetric about 1
    assert any(np.allclose(line.get_ydata(), 1.0) for line in ax.get_lines())
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[2] == "mean_width_um (n/a)"  # a zero fold change has no place on a log axis
    assert write_figure(tmp_path / "f.png", fig).stat().st_size > 0


def test_curves_mark_their_points_and_the_best_step():
    rows = [
        {"step": s, "train_loss": 1 / s, "val_loss": 1 / s, "val_dice": 0.5,
         "train_iou": 0.3 + 0.1 * s, "val_iou": iou}
        for s, iou in ((1, 0.4), (2, 0.6), (3, 0.5))
    ]  # fmt: skip
    fig = plot_training_curves(rows, note="held out a band")
    lines = [line for ax in fig.axes for line in ax.get_lines()]
    assert all(line.get_marker() not in (None, "None", "") for line in lines)
    labels = [line.get_label() for line in fig.axes[1].get_lines()]
    assert "training IoU (fg)" in labels and "validation IoU (fg)" in labels
    best = next(line for line in fig.axes[1].get_lines() if line.get_marker() == "*")
    assert list(best.get_xdata()) == [2] and "step 2" in best.get_label()
    assert fig._suptitle.get_text() == "held out a band"


def test_predictions_and_bench_figures():
    im = np.random.default_rng(0).random((8, 8))
    fig = plot_predictions([im, im], [im > 0.5] * 2, [im > 0.4] * 2, titles=["a", "b"])
    assert len(fig.axes) == 6 and fig.axes[0].get_title() == "a"
    t = pd.DataFrame(
        {"model": ["unet"], "training": ["real"], "test_set": ["t"], "output": ["plain"],
         "iou_mean": [0.5], "iou_seed_std": [0.01], "iou_image_std": [0.1]}
    )  # fmt: skip
    assert len(plot_bench_table(t).axes) == 1
