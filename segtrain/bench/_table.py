"""Benchmark tables (compute): per-seed rows -> mean +- std over seeds beside the per-image
spread, and their markdown.

A row of the per-seed table is one (model, training data, test set, output, seed) with the
`segtrain.summarize` figures of that run on that test set (per-image ``*_mean``/``*_std`` and
``*_pooled``) plus ``steps``, ``s_per_step`` and ``params``. The aggregated table has, per
metric ``m`` of `METRICS`:

- ``m_mean``: the mean over seeds of the per-image mean;
- ``m_seed_std``: the std over seeds (ddof=1; 0 for one seed) of the per-image mean, i.e. how
  much the figure moves with the seed;
- ``m_image_std``: the mean over seeds of the per-image std, i.e. how much images differ;
- ``m_pooled_mean`` / ``m_pooled_seed_std`` for the pixel and instance scores pooled over the
  images of a run.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GROUP", "METRICS", "aggregate_seeds", "format_table"]

GROUP = ("model", "training", "train_data", "test_set", "output")
METRICS = ("iou", "dice", "betti_error", "f1_50", "precision", "recall")


def _std(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(values.std(ddof=1)) if values.size > 1 else 0.0


def aggregate_seeds(per_seed):
    """Mean +- std over seeds per (model, training, train_data, test_set, output).

    Parameters
    ----------
    per_seed : pandas.DataFrame, one row per seed (columns of the module docstring)

    Returns
    -------
    pandas.DataFrame, one row per group, in the order the groups first appear
    """
    import pandas as pd

    rows = []
    for key, g in per_seed.groupby(list(GROUP), sort=False):
        row = dict(zip(GROUP, key, strict=True))
        row["seeds"] = int(len(g))
        row["seed_list"] = " ".join(str(int(s)) for s in g["seed"])
        for col in ("steps", "s_per_step", "params"):
            if col in g:
                row[col] = float(g[col].mean())
        for m in METRICS:
            if f"{m}_mean" in g:
                row[f"{m}_mean"] = float(g[f"{m}_mean"].mean())
                row[f"{m}_seed_std"] = _std(g[f"{m}_mean"])
                row[f"{m}_image_std"] = float(g[f"{m}_std"].mean())
            if f"{m}_pooled" in g:
                row[f"{m}_pooled_mean"] = float(g[f"{m}_pooled"].mean())
                row[f"{m}_pooled_seed_std"] = _std(g[f"{m}_pooled"])
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(r, m: str, digits: int = 3) -> str:
    mean, seed, image = (getattr(r, f"{m}_{k}", np.nan) for k in ("mean", "seed_std", "image_std"))
    if not np.isfinite(mean):
        return "n/a"
    return f"{mean:.{digits}f} +- {seed:.{digits}f} [{image:.{digits}f}]"


def format_table(table) -> str:
    """Markdown of an `aggregate_seeds` table.

    Per-image columns read ``mean +- std over seeds [mean per-image std]``; "IoU pooled" is
    ``mean +- std over seeds`` of the IoU pooled over each run's test pixels.
    """
    lines = [
        "Per-image metrics: mean over seeds of the per-image mean +- std over seeds "
        "[per-image std, mean over seeds]. IoU = foreground IoU.",
        "",
        "| model | training data | test set | output | seeds | steps | s/step | params | "
        "IoU pooled | IoU | Dice | Betti error (lower) | F1@0.5 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        pooled = f"{r.iou_pooled_mean:.3f} +- {r.iou_pooled_seed_std:.3f}"
        lines.append(
            f"| {r.model} | {r.training} ({r.train_data}) | {r.test_set} | {r.output} | "
            f"{r.seeds} | {r.steps:.0f} | {r.s_per_step:.3f} | {r.params / 1e6:.2f} M | "
            f"{pooled} | {_cell(r, 'iou')} | {_cell(r, 'dice')} | "
            f"{_cell(r, 'betti_error', 2)} | {_cell(r, 'f1_50')} |"
        )
    return "\n".join(lines) + "\n"
