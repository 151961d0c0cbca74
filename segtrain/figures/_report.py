"""The XM-DL report: one figure per image (input, true and predicted mask, heatmap, objects by
class with their numbers beside a table of their measurements) and one summary page per folder."""

from __future__ import annotations

import numpy as np

from ._explain import METHOD_NAMES, show_heatmap
from ._style import CLASS_COLORS, show_image

__all__ = ["TABLE_COLUMNS", "plot_image_report", "plot_report_summary"]

# quantify column -> (table header, format)
TABLE_COLUMNS = {
    "label": ("#", "{:d}"),
    "class": ("class", "{}"),
    "area_um2": ("area\n(µm²)", "{:.4f}"),
    "perimeter_um": ("perimeter\n(µm)", "{:.3f}"),
    "width_um": ("width\n(µm)", "{:.3f}"),
    "height_um": ("length\n(µm)", "{:.3f}"),
    "major_axis_um": ("major axis\n(µm)", "{:.3f}"),
    "minor_axis_um": ("minor axis\n(µm)", "{:.3f}"),
    "eccentricity": ("eccen-\ntricity", "{:.2f}"),
    "solidity": ("solidity", "{:.2f}"),
    "aspect_ratio": ("aspect\nratio", "{:.2f}"),
}


def _show_objects(ax, image, labels, objects, *, pixel_size_nm, title):
    """Objects filled and outlined in their class colour, each with its number."""
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Patch
    from matplotlib.patheffects import withStroke

    from ._style import show_mask_outline

    show_image(ax, image, pixel_size_nm=pixel_size_nm, title=title, alpha=0.6)
    px = pixel_size_nm / 1000.0 if pixel_size_nm else 1.0
    h, w = labels.shape
    fill = np.zeros((h, w, 4))
    for _, r in objects.iterrows():
        color = CLASS_COLORS.get(r["class"], "w")
        inside = labels == r["label"]
        fill[inside] = (*to_rgb(color), 0.35)
        show_mask_outline(ax, inside, pixel_size_nm=pixel_size_nm, color=color)
        ax.text(
            (r["centroid_x_px"] + 0.5) * px,
            (r["centroid_y_px"] + 0.5) * px,
            str(int(r["label"])),
            ha="center",
            va="center",
            fontsize=9,
            fontweight="bold",
            color="white",
            path_effects=[withStroke(linewidth=2.5, foreground="black")],
        )
    ax.imshow(fill, extent=(0, w * px, h * px, 0), interpolation="nearest")
    counts = objects["class"].value_counts() if len(objects) else {}
    handles = [
        Patch(color=c, label=f"{k} ({counts.get(k, 0)})")
        for k, c in CLASS_COLORS.items()
        if counts.get(k, 0)
    ]
    if handles:
        ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _show_table(ax, objects, *, max_rows: int, title: str):
    ax.axis("off")
    ax.set_title(title)
    if not len(objects):
        ax.text(0.5, 0.5, "no objects", ha="center", va="center", transform=ax.transAxes)
        return
    cols = [c for c in TABLE_COLUMNS if c in objects.columns]
    shown = objects.head(max_rows)
    cells = [[TABLE_COLUMNS[c][1].format(r[c]) for c in cols] for _, r in shown.iterrows()]
    colours = [
        ["w" if c != "class" else CLASS_COLORS.get(r["class"], "w") for c in cols]
        for _, r in shown.iterrows()
    ]
    table = ax.table(
        cellText=cells,
        cellColours=colours,
        colLabels=[TABLE_COLUMNS[c][0] for c in cols],
        loc="upper center",
        cellLoc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1.0, 1.25)
    for (row, _), cell in table.get_celld().items():
        if row == 0:
            cell.set_height(cell.get_height() * 2.0)
            cell.set_text_props(fontweight="bold")
    if len(objects) > max_rows:
        ax.text(
            0.5,
            0.0,
            f"first {max_rows} of {len(objects)} objects; all of them in objects.csv",
            ha="center",
            transform=ax.transAxes,
            fontsize=8,
        )


def plot_image_report(
    image: np.ndarray,
    pred_mask: np.ndarray,
    heatmap: np.ndarray,
    objects,
    *,
    pixel_size_nm: float | None,
    gt_mask: np.ndarray | None = None,
    method: str = "gradcam",
    layer: str = "",
    title: str = "",
    max_rows: int = 30,
):
    """One image's report: input, true mask (when given), predicted mask, heatmap overlay, and
    the objects coloured by class with their numbers beside a table of their measurements.

    Parameters
    ----------
    image : (Y, X) array
    pred_mask : (Y, X) array, the predicted mask (objects = 4-connected components)
    heatmap : (Y, X) array >= 0
    objects : DataFrame of `quantify_mask` of `pred_mask` (label, class, ..._um columns)
    pixel_size_nm : float or None; axes and table in um
    gt_mask : (Y, X) array or None
    max_rows : int, table rows shown (the rest are in the CSV)

    Returns
    -------
    matplotlib.figure.Figure; panel titles: "input", "true mask", "predicted mask", the
    heatmap's method and layer, "objects by class", "measurements"
    """
    from matplotlib.figure import Figure
    from skimage.measure import label as label_components

    h, w = np.shape(image)[:2]
    top = ["input", *(["true mask"] if gt_mask is not None else []), "predicted mask", "heat"]
    panel_w = 4.0
    panel_h = 0.9 + panel_w * h / w
    rows = min(len(objects), max_rows) + 2
    low_h = max(panel_h * 1.15, 0.5 + 0.27 * rows)
    fig = Figure(figsize=(panel_w * len(top) + 1.2, panel_h + low_h + 0.4), layout="constrained")
    fig.suptitle(title, fontweight="bold")
    up, down = fig.subfigures(2, 1, height_ratios=[panel_h, low_h])
    axes = up.subplots(1, len(top))
    kw = {"pixel_size_nm": pixel_size_nm}
    for ax, name in zip(axes, top, strict=True):
        if name == "input":
            show_image(ax, image, title="input", **kw)
        elif name == "true mask":
            show_image(ax, np.asarray(gt_mask) > 0, title="true mask", vmin=0, vmax=1, **kw)
        elif name == "predicted mask":
            show_image(ax, np.asarray(pred_mask) > 0, title="predicted mask", vmin=0, vmax=1, **kw)
        else:
            label = f"{METHOD_NAMES.get(method, method)} ({layer})"
            show_heatmap(ax, image, heatmap, pred_mask, title=label, **kw)
    left, right = down.subfigures(1, 2, width_ratios=[1.0, 1.7])
    # Numbered as `quantify_mask` numbers a binary mask: 4-connected components, raster order.
    labels = label_components(np.asarray(pred_mask) > 0, connectivity=1)
    title_objects = f"objects by class (n = {len(objects)})"
    _show_objects(left.subplots(), image, labels, objects, title=title_objects, **kw)
    _show_table(right.subplots(), objects, max_rows=max_rows, title="measurements (µm)")
    return fig


def _grouped_bars(ax, names, pred, gt, ylabel):
    x = np.arange(len(names))
    width = 0.4 if gt is not None else 0.8
    ax.bar(x - (width / 2 if gt is not None else 0), pred, width, label="predicted")
    if gt is not None:
        ax.bar(x + width / 2, gt, width, label="true", color="0.55")
        ax.legend(fontsize=8)
    ax.set_xticks(x, names, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("image")


def _hist(ax, column, label, objects, gt_objects):
    vals = [objects[column].to_numpy(float)] if len(objects) else [np.array([])]
    if gt_objects is not None and len(gt_objects):
        vals.append(gt_objects[column].to_numpy(float))
    finite = np.concatenate([v[np.isfinite(v)] for v in vals])
    bins = np.histogram_bin_edges(finite, bins=20) if finite.size else 10
    ax.hist(vals[0], bins=bins, histtype="stepfilled", alpha=0.6, label="predicted")
    if len(vals) > 1:
        ax.hist(vals[1], bins=bins, histtype="step", lw=1.5, color="k", label="true")
        ax.legend(fontsize=8)
    ax.set_xlabel(label)
    ax.set_ylabel("objects")


def plot_report_summary(objects, per_image, *, gt_objects=None, gt_per_image=None, comparison=None):
    """The folder's summary page: count and density per image, class shares, size
    distributions, and (with truth) the relative error of each parameter.

    Parameters
    ----------
    objects, per_image : DataFrames of `quantify_masks` of the predicted masks
    gt_objects, gt_per_image : the same for the true masks, or None
    comparison : DataFrame of `compare_morphology`, or None

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 9), layout="constrained")
    axes = fig.subplots(2, 3)
    names = list(per_image["image"])
    gt_per = gt_per_image.set_index("image").reindex(names) if gt_per_image is not None else None
    _grouped_bars(
        axes[0, 0],
        names,
        per_image["count"],
        None if gt_per is None else gt_per["count"],
        "objects per image",
    )
    axes[0, 0].set_title(f"count (total {int(per_image['count'].sum())})")
    _grouped_bars(
        axes[0, 1],
        names,
        per_image["density_per_um2"],
        None if gt_per is None else gt_per["density_per_um2"],
        "density (objects / µm²)",
    )
    axes[0, 1].set_title(f"density (mean {per_image['density_per_um2'].mean():.3g} / µm²)")
    # Class shares: one stacked bar for the predicted objects, one for the true ones.
    ax = axes[0, 2]
    sets = [("predicted", objects)] + ([("true", gt_objects)] if gt_objects is not None else [])
    for i, (_, t) in enumerate(sets):
        counts = t["class"].value_counts() if len(t) else {}
        total = max(len(t), 1)
        left = 0.0
        for k, c in CLASS_COLORS.items():
            share = counts.get(k, 0) / total
            ax.barh(i, share, left=left, color=c, label=k if i == 0 else None)
            if share >= 0.06:
                ax.text(left + share / 2, i, f"{share:.0%}", ha="center", va="center", fontsize=8)
            left += share
    ax.set_yticks(range(len(sets)), [f"{s} (n = {len(t)})" for s, t in sets])
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.6, len(sets) + 0.2)  # room for the legend above the bars
    ax.set_xlabel("share of objects")
    ax.set_title("classes")
    ax.legend(fontsize=8, ncols=5, loc="upper center", handlelength=1.0, columnspacing=0.8)
    _hist(axes[1, 0], "area_um2", "area (µm²)", objects, gt_objects)
    axes[1, 0].set_title("size: area")
    _hist(axes[1, 1], "major_axis_um", "major axis (µm)", objects, gt_objects)
    axes[1, 1].set_title("size: length (major axis)")
    ax = axes[1, 2]
    if comparison is not None:
        params = list(comparison["parameter"])
        y = np.arange(len(params))
        rel = comparison["relative_error"].to_numpy(float)
        ax.barh(y, rel, color="tab:blue", height=0.6)
        for yi, r, a in zip(y, rel, comparison["mean_abs_relative_error"], strict=True):
            ax.annotate(
                f"{r:+.1%}  (|per image| {a:.1%})",
                (0, yi),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(y, params, fontsize=8)
        ax.invert_yaxis()
        reach = float(np.nanmax(np.abs(rel))) if np.isfinite(rel).any() else 0.1
        ax.set_xlim(-max(reach, 0.1) * 1.3, max(reach, 0.1) * 2.2)
        ax.set_xlabel("(predicted - true) / true of the means; per image in brackets")
        ax.set_title("morphology vs truth")
    else:
        _hist(ax, "minor_axis_um", "minor axis (µm)", objects, None)
        ax.set_title("size: width (minor axis)")
    return fig
