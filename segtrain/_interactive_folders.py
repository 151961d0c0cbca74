"""Files through the interactive tools (a workflow): refine one image with clicks, evaluate a
simulated user on a test folder, and the sampling predictor of ``predict --samples``.

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

from . import io
from ._clickers import CLICKERS, check_clicker
from ._clickeval import (
    THRESHOLDS,
    run_image_scope,
    run_object_scope,
    summarize_traces,
    trace_rows,
    uncertainty_quality,
)
from ._clicks import Click, check_clicks, click_settings, clicks_from_rows, network_input
from ._predict import check_zoom, unzoom_probabilities, zoom_planes
from ._refine import Refinement, refine_input
from ._sampling import is_probabilistic, prepare_image, samples_of_input, summarize_samples
from ._suggest import suggest_clicks

__all__ = ["ClicksResult", "RefineResult", "clicks_folder", "refine_image", "sampler"]

log = logging.getLogger(__name__)

SCOPES = ("image", "object")


def _load(run_dir, which: str, device: str):
    import torch

    from ._device import pick_device
    from ._run import load_run

    model, cfg = load_run(run_dir, which=which)
    dev = pick_device(device)
    return model.to(dev).to(memory_format=torch.channels_last).eval(), cfg, dev


# --- predict --samples ------------------------------------------------------------------------


def sampler(run_dir, *, samples: int, which="best", tile_px=256, overlap_px=64, device="auto",
            amp=None, num_threads=None, n_suggestions=3, rng=0) -> Callable:  # fmt: skip
    """``f(image, where, zoom=1.0) -> (Samples, suggestions)`` for a probabilistic run (one-line
    error for a deterministic one): K samples of a 2D image, without clicks. With `zoom` the
    image is resampled by it first (`segtrain.predict_image` does the same) and every sample
    back to the image's shape; mean, std and the suggested clicks are those of the samples
    mapped back, so they are in the input's pixels."""
    import torch

    from ._device import torch_threads

    net, cfg, dev = _load(run_dir, which, device)
    if not is_probabilistic(net):
        raise InputError(
            f"this run is not probabilistic ({cfg.model}); --samples needs a prob_unet run "
            "(mitoshape train --model prob_unet)."
        )
    settings = click_settings(net)
    radius = settings.radius_px if settings else 20
    seeds = np.random.SeedSequence(rng if isinstance(rng, int) else 0)

    def run(image: np.ndarray, where: str, zoom=1.0):
        if np.ndim(image) != 2 and cfg.context_slices == 0:
            raise InputError(f"--samples predicts 2D images; {where} has shape {np.shape(image)}.")
        zoom = check_zoom(zoom)
        shape = np.shape(image)[-2:]
        if zoom != (1.0, 1.0):
            image = zoom_planes(image, zoom)
        x = prepare_image(net, image, normalize=cfg.normalization, where=where)
        if settings is not None:
            x = network_input(x, (), None, radius_px=radius)
        with torch.inference_mode(), torch_threads(num_threads):
            s = samples_of_input(net, x, samples=samples, rng=seeds.spawn(1)[0], tile_px=tile_px,
                                 overlap_px=overlap_px, device=dev,
                                 amp=cfg.amp if amp is None else amp)  # fmt: skip
        if zoom != (1.0, 1.0):
            back = unzoom_probabilities(s.samples, shape)
            s = summarize_samples(back, s.kind)
        return s, suggest_clicks(s.std, n=n_suggestions, radius_px=radius)

    return run


# --- refine -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RefineResult:
    """What `refine_image` wrote (``out``) and the final `Refinement`."""

    out: Path
    refinement: Refinement


def refine_image(
    run_dir: str | Path,
    image: str | Path,
    out: str | Path,
    *,
    clicks: Sequence[Click] = (),
    clicks_csv: str | Path | None = None,
    samples: int = 16,
    window_px: int = 192,
    context_px: int = 32,
    enforce_px: int = 3,
    n_suggestions: int = 3,
    threshold: float = 0.5,
    tile_px: int = 512,
    overlap_px: int = 64,
    which: str = "best",
    device: str = "auto",
    num_threads: int | None = None,
    overwrite: bool = False,
    rng=0,
) -> RefineResult:
    """Refine one image of an interactive run with clicks, as a person clicking them in order.

    The clicks are the rows of `clicks_csv` (columns row, col, sign) followed by `clicks`. Writes
    ``masks/NAME.tif``, ``probabilities/NAME.tif``, ``uncertainty/NAME.tif`` (float32, the std
    of the samples; with the image's pixel size), ``suggestions.csv`` (image, row, col, score:
    the next clicks), ``clicks.csv`` (the clicks used) and ``refine.json`` (settings, time).
    See `segtrain.refine`.
    """
    import torch

    from ._device import torch_threads

    # Everything that can be refused, before anything is written.
    net, cfg, dev = _load(run_dir, which, device)
    settings = click_settings(net)
    if settings is None:
        raise InputError(
            f"refine needs an interactive run, and {run_dir} ({cfg.model}) was trained without "
            "clicks; train one with `mitoshape train --interactive` (or `interactive: true`)."
        )
    image = Path(image)
    img = io.read_scaled_image(image)
    x = prepare_image(net, img.data, normalize=cfg.normalization, where=str(image))
    given = clicks_from_rows(io.read_clicks_csv(clicks_csv), where=str(clicks_csv)) if (
        clicks_csv is not None) else ()  # fmt: skip
    all_clicks = check_clicks((*given, *clicks), x.shape[-2:], where=str(image))
    details = {"run": str(run_dir), "image": str(image), "samples": samples,
               "window_px": window_px, "context_px": context_px, "enforce_px": enforce_px,
               "clicks": [[c.row, c.col, c.sign] for c in all_clicks]}  # fmt: skip
    inputs = [run_dir, image] + ([clicks_csv] if clicks_csv is not None else [])
    folder = open_output_folder(out, command="refine", inputs=inputs, overwrite=overwrite,
                                details=details)  # fmt: skip
    with torch.inference_mode(), torch_threads(num_threads):
        res = refine_input(net, x, all_clicks, samples=samples, window_px=window_px,
                           context_px=context_px, enforce_px=enforce_px,
                           n_suggestions=n_suggestions, threshold=threshold, tile_px=tile_px,
                           overlap_px=overlap_px, device=dev, amp=False, rng=rng)  # fmt: skip
    _write_refinement(folder, image.stem, res, img.pixel_size_nm)
    details |= {"seconds": round(res.seconds, 3), "last_window": res.window,
                "threshold": threshold, "model": cfg.model}  # fmt: skip
    atomic_write(folder.path("refine.json"), json.dumps(details, indent=2) + "\n")
    return RefineResult(Path(out), res)


def _write_refinement(folder, name: str, res: Refinement, pixel) -> None:
    import pandas as pd

    io.write_tiff(folder.path(f"masks/{name}.tif"), res.mask, pixel_size_nm=pixel)
    for sub, arr in (("probabilities", res.probability), ("uncertainty", res.uncertainty)):
        io.write_tiff(folder.path(f"{sub}/{name}.tif"), arr.astype(np.float32), pixel_size_nm=pixel)
    sugg = [{"image": name, "row": s.row, "col": s.col, "score": s.score} for s in res.suggestions]
    io.write_csv(folder.path("suggestions.csv"),
                 pd.DataFrame(sugg, columns=["image", "row", "col", "score"]))  # fmt: skip
    rows = [{"order": i + 1, "row": c.row, "col": c.col, "sign": c.sign}
            for i, c in enumerate(res.clicks)]  # fmt: skip
    io.write_csv(
        folder.path("clicks.csv"), pd.DataFrame(rows, columns=["order", "row", "col", "sign"])
    )


# --- the simulated user -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ClicksResult:
    """Tables of `clicks_folder`: per (scope, clicker) ``summary``, the mIoU ``curves`` and the
    per-image and pooled ``uncertainty`` quality (DataFrames), and the output folder."""

    out: Path
    summary: object
    curves: object
    uncertainty: object


def _check_choices(clickers, scopes, max_clicks) -> tuple[tuple[str, ...], tuple[str, ...]]:
    clickers, scopes = tuple(clickers), tuple(scopes)
    for c in clickers:
        check_clicker(c)
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes or not clickers:
        raise InputError(
            f"choose scopes from {', '.join(SCOPES)} and clickers from {', '.join(CLICKERS)}; "
            f"got scopes {list(scopes)}, clickers {list(clickers)}."
        )
    if max_clicks < 0:
        raise InputError(f"max_clicks must be >= 0; got {max_clicks}.")
    return (("none",) if max_clicks == 0 else clickers), scopes


def clicks_folder(
    run_dir: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    max_clicks: int = 20,
    clickers: Sequence[str] = ("error", "uncertainty"),
    scopes: Sequence[str] = ("image",),
    samples: int = 16,
    stop_iou: float | None = None,
    min_object_px: int = 64,
    min_crop_px: int = 96,
    window_px: int = 192,
    context_px: int = 32,
    enforce_px: int = 3,
    threshold: float = 0.5,
    tile_px: int = 512,
    overlap_px: int = 64,
    which: str = "best",
    device: str = "auto",
    num_threads: int | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    rng=0,
):
    """Evaluate a run with a simulated user on a test folder (conventions: `segtrain._clickeval`).

    Writes ``clicks.csv`` (per scope, clicker, image, object and click count: IoU, pixel
    counts, the click, seconds), ``summary.csv`` / ``summary.md`` (mIoU@k, pooled IoU@k,
    NoC@85/90/95 and how many never reach them), ``miou.csv`` and ``miou.png`` (mIoU against
    clicks, one curve per clicker), ``uncertainty.csv`` (AUROC and wrong pixels in the top 1 % /
    5 % most uncertain, per image and pooled) and ``clicks.json`` (settings and summary).
    ``max_clicks=0`` scores a run without clicks (any run: IoU@0 and uncertainty quality; a
    deterministic run's uncertainty is its flip spread).

    Returns
    -------
    ClicksResult
    """
    import pandas as pd
    import torch

    from ._device import torch_threads
    from ._figures import plot_click_curves

    clickers, scopes = _check_choices(clickers, scopes, max_clicks)
    # Everything that can be refused, before anything is written.
    net, cfg, dev = _load(run_dir, which, device)
    settings = click_settings(net)
    if max_clicks > 0 and settings is None:
        raise InputError(
            f"clicks needs an interactive run, and {run_dir} ({cfg.model}) was trained without "
            "clicks; train one with `mitoshape train --interactive`, or pass --max-clicks 0 to "
            "score it without clicks."
        )
    items = io.read_pairs_folder(data)
    norm = cfg.normalization
    for it in items:
        prepare_image(net, it.image[:2, :2], normalize=None, where=it.name)  # channel check
    details = {"run": str(run_dir), "data": str(data), "model": cfg.model,
               "interactive": settings is not None, "max_clicks": max_clicks,
               "clickers": list(clickers), "scopes": list(scopes), "samples": samples,
               "uncertainty": "latent samples" if is_probabilistic(net) else "4 flips",
               "stop_iou": stop_iou, "min_object_px": min_object_px, "min_crop_px": min_crop_px,
               "window_px": window_px, "context_px": context_px, "enforce_px": enforce_px,
               "threshold": threshold}  # fmt: skip
    folder = open_output_folder(out, command="clicks", inputs=[run_dir, data],
                                overwrite=overwrite, details=details)  # fmt: skip
    kw = dict(samples=samples, window_px=window_px, enforce_px=enforce_px, tile_px=tile_px,
              overlap_px=overlap_px, device=dev, rng=rng)  # fmt: skip
    radius = settings.radius_px if settings else 20
    rows, unc_rows, pooled = [], [], ([], [], [])
    seq = np.random.SeedSequence(rng if isinstance(rng, int) else 0)
    with torch.inference_mode(), torch_threads(num_threads):
        for k, it in enumerate(items):
            # The zero-click prediction and its uncertainty.
            x = prepare_image(net, it.image, normalize=norm, where=it.name)
            x0 = network_input(x, (), None, radius_px=radius) if settings else x
            s = samples_of_input(net, x0, samples=samples, rng=rng, tile_px=tile_px,
                                 overlap_px=overlap_px, device=dev)  # fmt: skip
            first = Refinement((s.mean >= threshold).astype(np.uint8), s.mean, s.std, (), 0.0)
            q = uncertainty_quality(s.std, first.mask, it.mask)
            unc_rows.append({"image": it.name, **q.row()})
            for a, v in zip(pooled, (s.std, first.mask, it.mask), strict=True):
                a.append(np.ravel(v))
            # The simulated users.
            for scope in scopes:
                for clicker in clickers:
                    user = "error" if clicker == "none" else clicker
                    r = seq.spawn(1)[0]
                    if scope == "image":
                        traces = [(0, run_image_scope(
                            net, x, it.mask, first, clicker=user, max_clicks=max_clicks,
                            stop_iou=stop_iou, click_rng=r, context_px=context_px,
                            threshold=threshold,
                            **kw))]  # fmt: skip
                    else:
                        traces = run_object_scope(
                            net, x, it.mask, first, clicker=user, max_clicks=max_clicks,
                            stop_iou=stop_iou, min_object_px=min_object_px,
                            min_crop_px=min_crop_px, context_px=context_px,
                            threshold=threshold, click_rng=r, **kw,
                        )  # fmt: skip
                    for oid, tr in traces:
                        rows += trace_rows(tr, max_clicks, scope=scope, clicker=clicker,
                                           image=it.name, object=oid)  # fmt: skip
            if progress is not None:
                progress(k + 1, len(items))
    # Tables, figure, settings.
    table = pd.DataFrame(rows)
    summary, curves = summarize_traces(table, max_clicks=max_clicks)
    allq = uncertainty_quality(*(np.concatenate(a) for a in pooled))
    unc = pd.DataFrame(unc_rows + [{"image": "pooled", **allq.row()}])
    io.write_csv(folder.path("clicks.csv"), table)
    io.write_csv(folder.path("summary.csv"), summary)
    io.write_csv(folder.path("miou.csv"), curves)
    io.write_csv(folder.path("uncertainty.csv"), unc)
    atomic_write(folder.path("summary.md"), summary_markdown(summary, max_clicks, allq.row()))
    io.write_figure(
        folder.path("miou.png"), plot_click_curves(curves, title=f"{cfg.model}: {Path(data).name}")
    )
    details |= {"summary": summary.to_dict(orient="records"), "uncertainty_pooled": allq.row(),
                "images": [it.name for it in items]}  # fmt: skip
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
