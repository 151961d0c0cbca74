"""Files through the interactive tools (a workflow): refine one image with clicks, and evaluate
a simulated user on a test folder, each with a `Run`.

Everything that can be refused (a run that is not interactive or not probabilistic, a click
outside the image, a bad click file, an image with the wrong channels) is checked before the
output folder is opened, so a refused command writes nothing. Outputs go through the output
guard (`shapelib.io.open_output_folder`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shapelib import InputError
from shapelib.io import atomic_write, open_output_folder

from .. import io
from ..inference._clicks import Click, check_clicks, clicks_from_rows
from ..inference._config import RefineConfig
from ..interactive._clickeval import (
    THRESHOLDS,
    SimulatedUser,
    run_image_scope,
    run_object_scope,
    summarize_traces,
    trace_rows,
    uncertainty_quality,
)
from ..interactive._microsam import run_microsam
from ..interactive._refine import Refinement
from ._run import Run

__all__ = ["ClicksResult", "RefineResult", "clicks_folder", "refine_image"]

log = logging.getLogger(__name__)


def _sources(run: Run) -> list:
    return [run.source] if run.source is not None else []


# --- refine -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RefineResult:
    """What `refine_image` wrote (``out``) and the final `Refinement`."""

    out: Path
    refinement: Refinement


def refine_image(
    run: Run,
    image: str | Path,
    out: str | Path,
    *,
    clicks: Sequence[Click] = (),
    clicks_csv: str | Path | None = None,
    options: RefineConfig | None = None,
    overwrite: bool = False,
    rng=0,
) -> RefineResult:
    """Refine one image of an interactive run with clicks, as a person clicking them in order.

    The clicks are the rows of `clicks_csv` (columns row, col, sign) followed by `clicks`. Writes
    ``masks/NAME.tif``, ``probabilities/NAME.tif``, ``uncertainty/NAME.tif`` (float32, the std
    of the samples; with the image's pixel size), ``suggestions.csv`` (image, row, col, score:
    the next clicks), ``clicks.csv`` (the clicks used) and ``refine.json`` (settings, time).
    `options`: the samples, window and suggestions (`RefineConfig`); the run's config gives the
    tiles, threshold and threads. See `segtrain.refine`.
    """
    options = options or RefineConfig()
    # Everything that can be refused, before anything is written.
    if run.clicks is None:
        raise InputError(
            f"refine needs an interactive run, and {run.source} ({run.train_config.model}) was "
            "trained without clicks; train one with `mitoshape train --interactive` (or "
            "`interactive: true`)."
        )
    image = Path(image)
    img = io.read_scaled_image(image)
    x = run.prepare(img.data, where=str(image))
    given = ()
    if clicks_csv is not None:
        given = clicks_from_rows(io.read_clicks_csv(clicks_csv), where=str(clicks_csv))
    all_clicks = check_clicks((*given, *clicks), x.shape[-2:], where=str(image))
    window = {
        k: getattr(options, k) for k in ("window_px", "context_px", "enforce_px", "directional")
    }
    details = {"run": str(run.source), "image": str(image), "samples": options.samples, **window}
    details["clicks"] = [[c.row, c.col, c.sign] for c in all_clicks]
    inputs = [*_sources(run), image] + ([clicks_csv] if clicks_csv is not None else [])
    folder = open_output_folder(
        out, command="refine", inputs=inputs, overwrite=overwrite, details=details
    )
    res = run.refine(x, all_clicks, options=options, rng=rng, prepared=True, where=str(image))
    _write_refinement(folder, image.stem, res, img.pixel_size_nm)
    details |= {"seconds": round(res.seconds, 3), "last_window": res.window}
    details |= {"threshold": run.config.threshold, "model": run.train_config.model}
    atomic_write(folder.path("refine.json"), json.dumps(details, indent=2) + "\n")
    return RefineResult(Path(out), res)


def _write_refinement(folder, name: str, res: Refinement, pixel) -> None:
    import pandas as pd

    io.write_tiff(folder.path(f"masks/{name}.tif"), res.mask, pixel_size_nm=pixel)
    for sub, arr in (("probabilities", res.probability), ("uncertainty", res.uncertainty)):
        io.write_tiff(folder.path(f"{sub}/{name}.tif"), arr.astype(np.float32), pixel_size_nm=pixel)
    sugg = [[name, s.row, s.col, s.score] for s in res.suggestions]
    sugg = pd.DataFrame(sugg, columns=["image", "row", "col", "score"])
    io.write_csv(folder.path("suggestions.csv"), sugg)
    rows = [[i + 1, c.row, c.col, c.sign] for i, c in enumerate(res.clicks)]
    rows = pd.DataFrame(rows, columns=["order", "row", "col", "sign"])
    io.write_csv(folder.path("clicks.csv"), rows)


# --- the simulated user -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ClicksResult:
    """Tables of `clicks_folder`: per (scope, clicker) ``summary``, the mIoU ``curves`` and the
    per-image and pooled ``uncertainty`` quality (DataFrames), and the output folder."""

    out: Path
    summary: object
    curves: object
    uncertainty: object


def clicks_folder(
    run: Run,
    data: str | Path,
    out: str | Path,
    *,
    user: SimulatedUser | None = None,
    options: RefineConfig | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    rng=0,
):
    """Evaluate a run with a simulated user on a test folder (conventions:
    `segtrain.interactive._clickeval`).

    Writes ``clicks.csv`` (per scope, clicker, image, object and click count: IoU, pixel
    counts, the click, seconds), ``summary.csv`` / ``summary.md`` (mIoU@k, pooled IoU@k,
    NoC@85/90/95 and how many never reach them), ``miou.csv`` and ``miou.png`` (mIoU against
    clicks, one curve per clicker), ``uncertainty.csv`` (AUROC and wrong pixels in the top 1 % /
    5 % most uncertain, per image and pooled) and ``clicks.json`` (settings and summary).
    With the ``microsam`` scope (micro-sam's protocol, `segtrain.interactive._microsam`) also
    ``msa.csv`` (mean segmentation accuracy per image and click count) and ``msa@k`` columns
    in the summary. ``user.max_clicks=0`` scores a run without clicks (any run: IoU@0 and
    uncertainty quality; a deterministic run's uncertainty is its flip spread).

    Parameters
    ----------
    run : Run, its config gives the tiles, threshold and threads
    data : a test folder with images/ and masks/
    user : SimulatedUser or None, the clicks, clickers, scopes, stop and objects (None: the
        defaults: 20 clicks, the error and uncertainty clickers, the image scope)
    options : RefineConfig or None, the samples, window and context of each click

    Returns
    -------
    ClicksResult
    """
    import pandas as pd

    from ..figures import plot_click_curves

    user, options = user or SimulatedUser(), options or RefineConfig()
    clickers = ("none",) if user.max_clicks == 0 else user.clickers
    # Everything that can be refused, before anything is written.
    if user.max_clicks > 0 and run.clicks is None:
        raise InputError(
            f"clicks needs an interactive run, and {run.source} ({run.train_config.model}) was "
            "trained without clicks; train one with `mitoshape train --interactive`, or pass "
            "--max-clicks 0 to score it without clicks."
        )
    items = io.read_pairs_folder(data)
    for it in items:
        run.prepare(it.image[:2, :2], where=it.name)  # channel check
    uncertainty = "latent samples" if run.probabilistic else "4 flips"
    details = {"run": str(run.source), "data": str(data), "model": run.train_config.model}
    details |= {"interactive": run.clicks is not None, **user.model_dump(mode="json")}
    details |= {"clickers": list(clickers), "uncertainty": uncertainty}
    details |= {**options.model_dump(mode="json"), "threshold": run.config.threshold}
    folder = open_output_folder(
        out, command="clicks", inputs=[*_sources(run), data], overwrite=overwrite, details=details
    )
    rows, unc_rows, pooled, msa_rows = [], [], ([], [], []), []
    seq = np.random.SeedSequence(rng if isinstance(rng, int) else 0)
    for k, it in enumerate(items):
        # The zero-click prediction and its uncertainty.
        x = run.prepare(it.image, where=it.name)
        s = run.sample(x, samples=options.samples, rng=rng, prepared=True)
        mask = (s.mean >= run.config.threshold).astype(np.uint8)
        first = Refinement(mask, s.mean, s.std, (), 0.0)
        q = uncertainty_quality(s.std, first.mask, it.mask)
        unc_rows.append({"image": it.name, **q.row()})
        for a, v in zip(pooled, (s.std, first.mask, it.mask), strict=True):
            a.append(np.ravel(v))
        # The simulated users.
        for scope in user.scopes:
            for clicker in clickers:
                who = "error" if clicker == "none" else clicker
                kw = {"clicker": who, "user": user, "options": options, "rng": rng}
                kw["click_rng"] = seq.spawn(1)[0]
                if scope == "image":
                    traces = [(0, run_image_scope(run, x, it.mask, first, **kw))]
                elif scope == "object":
                    traces = run_object_scope(run, x, it.mask, first, **kw)
                else:  # micro-sam's protocol: per object from nothing; mSA per click count
                    ms = run_microsam(run, x, it.mask, **kw)
                    traces = ms.traces
                    keys = {"clicker": clicker, "image": it.name, "objects": ms.n_objects}
                    msa_rows += [{**keys, "clicks": k, "msa": v} for k, v in enumerate(ms.msa)]
                for oid, tr in traces:
                    keys = {"scope": scope, "clicker": clicker, "image": it.name, "object": oid}
                    rows += trace_rows(tr, user.max_clicks, **keys)
        if progress is not None:
            progress(k + 1, len(items))
    # Tables, figure, settings.
    table = pd.DataFrame(rows)
    summary, curves = summarize_traces(table, max_clicks=user.max_clicks)
    if msa_rows:  # mean segmentation accuracy after k clicks per object, over images
        msa = pd.DataFrame(msa_rows)
        io.write_csv(folder.path("msa.csv"), msa)
        means = msa.groupby(["clicker", "clicks"])["msa"].mean()
        for k in range(user.max_clicks + 1):
            at = [means.get((c, k), np.nan) for c in summary["clicker"]]
            summary[f"msa@{k}"] = np.where(summary["scope"] == "microsam", at, np.nan)
    allq = uncertainty_quality(*(np.concatenate(a) for a in pooled))
    unc = pd.DataFrame(unc_rows + [{"image": "pooled", **allq.row()}])
    io.write_csv(folder.path("clicks.csv"), table)
    io.write_csv(folder.path("summary.csv"), summary)
    io.write_csv(folder.path("miou.csv"), curves)
    io.write_csv(folder.path("uncertainty.csv"), unc)
    md = summary_markdown(summary, user.max_clicks, allq.row())
    if msa_rows:
        md += _msa_markdown(summary, user.max_clicks)
    atomic_write(folder.path("summary.md"), md)
    title = f"{run.train_config.model}: {Path(data).name}"
    io.write_figure(folder.path("miou.png"), plot_click_curves(curves, title=title))
    details |= {"summary": summary.to_dict(orient="records"), "uncertainty_pooled": allq.row()}
    details["images"] = [it.name for it in items]
    atomic_write(folder.path("clicks.json"), json.dumps(details, indent=2, default=str) + "\n")
    return ClicksResult(Path(out), summary, curves, unc)


def summary_markdown(summary, max_clicks: int, uncertainty: dict) -> str:
    """The issue's table: IoU@0, mIoU@1/3/5/10/20, NoC@85/90/95 (failures) per scope and clicker."""
    ks = [k for k in (1, 3, 5, 10, 20) if k <= max_clicks]
    head = ["scope", "clicker", "n", "IoU@0 (pooled)", "mIoU@0"] + [f"mIoU@{k}" for k in ks]
    if max_clicks:
        head += [f"NoC@{round(100 * t)} (NoF)" for t in THRESHOLDS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in summary.to_dict(orient="records"):
        cells = [
            r["scope"],
            r["clicker"],
            str(r["n"]),
            f"{r['pooled_iou@0']:.3f}",
            f"{r['miou@0']:.3f}",
        ]
        cells += [f"{r[f'miou@{k}']:.3f}" for k in ks]
        if max_clicks:
            for t in THRESHOLDS:
                tag = round(100 * t)
                cells.append(f"{r[f'noc@{tag}']:.2f} ({r[f'nof@{tag}']})")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"Uncertainty at 0 clicks (pooled over pixels): AUROC {uncertainty['auroc']:.3f}; wrong "
        f"pixels in the top 1 % {uncertainty['wrong_in_top1pct']:.3f}, top 5 % "
        f"{uncertainty['wrong_in_top5pct']:.3f} (wrong pixels: {uncertainty['wrong_fraction']:.4f} "
        "of all)."
    )
    return "\n".join(lines) + "\n"


def _msa_markdown(summary, max_clicks: int) -> str:
    """micro-sam's protocol: mean segmentation accuracy after a point and after the
    corrections, per clicker."""
    lines = [
        "",
        "micro-sam protocol (per object: a point, then corrections at the centre of the "
        "largest error; mean segmentation accuracy over IoU 0.50-0.95, mean over images):",
    ]
    for r in summary.to_dict(orient="records"):
        if r["scope"] == "microsam":
            ks = ", ".join(f"mSA@{k} {r[f'msa@{k}']:.3f}" for k in range(1, max_clicks + 1))
            lines.append(f"- {r['clicker']}: {ks}")
    return "\n".join(lines) + "\n"
