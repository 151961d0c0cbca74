"""Draw docs/figures/data_path.svg: the data path through the packages (run from the repo root).

    .venv/bin/python docs/figures/data_path.py

The picture is generated, not drawn by hand, so it changes with this file only; the same
matplotlib gives the same bytes (no date, fixed ids).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_name("data_path.svg")
LANES = {"shapelib": 7.0, "simulator": 4.5, "segtrain": 2.0}  # lane centres (y)
STEP = {"shapelib": "#d9ead3", "simulator": "#cfe2f3", "segtrain": "#fce5cd"}
COLUMNS = (1.8, 5.2, 8.6, 12.0, 15.4)  # box centres (x)
W, H = 3.1, 1.4


def box(ax, x, y, head, body, colour="#ffffff", *, step=False):
    """A box centred at (x, y): ``head`` on top (bold for a step), ``body`` lines below it."""
    ax.add_patch(
        FancyBboxPatch(
            (x - W / 2, y - H / 2),
            W,
            H,
            boxstyle="round,pad=0.02,rounding_size=0.12",
            facecolor=colour,
            edgecolor="#555555",
            linewidth=1.0,
        )
    )
    ax.text(
        x,
        y + H / 2 - 0.25,
        head,
        ha="center",
        va="center",
        fontsize=9,
        fontweight="bold" if step else "normal",
    )
    ax.text(
        x, y - 0.12, body, ha="center", va="center", fontsize=8, color="#333333", linespacing=1.3
    )
    return {"l": (x - W / 2, y), "r": (x + W / 2, y), "t": (x, y + H / 2), "b": (x, y - H / 2)}


def arrow(ax, a, b, label="", *, rad=0.0, at=(0.0, 0.0)):
    ax.add_patch(
        FancyArrowPatch(
            a,
            b,
            arrowstyle="-|>",
            mutation_scale=12,
            linewidth=1.2,
            color="#333333",
            connectionstyle=f"arc3,rad={rad}",
        )
    )
    if label:
        ax.text(*at, label, ha="center", va="center", fontsize=8, style="italic")


def main() -> None:
    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "mitoshape"})
    fig, ax = plt.subplots(figsize=(13.5, 7.2))
    ax.set_xlim(0, 17.2)
    ax.set_ylim(0.5, 8.3)
    ax.axis("off")
    for name, y in LANES.items():
        ax.add_patch(
            FancyBboxPatch(
                (0.1, y - 1.1),
                17.0,
                2.2,
                boxstyle="round,pad=0,rounding_size=0.2",
                facecolor=STEP[name],
                alpha=0.35,
                edgecolor="none",
            )
        )
        ax.text(0.3, y + 0.92, name, fontsize=10.5, fontweight="bold", va="top")
    c, y = COLUMNS, LANES["shapelib"]
    vol = box(ax, c[0], y, "EM label volume", "TIFF, HDF5, Zarr, .npy\n(Z, Y, X), voxel size in nm")
    split = box(
        ax,
        c[1],
        y,
        "extract_instances",
        "select, downsample, cc3d,\nerode, split contacts",
        STEP["shapelib"],
        step=True,
    )
    inst = box(ax, c[2], y, "Instance (one per object)", "boolean crop, offset,\nvoxel size")
    shape = box(
        ax,
        c[3],
        y,
        "build_shape",
        "mesh, point cloud, occupancy,\nskeleton, class (pure, per instance)",
        STEP["shapelib"],
        step=True,
    )
    lib = box(
        ax,
        c[4],
        y,
        "library folder",
        "raw_mesh.off, pointcloud.ply,\noccupancies.npz, meta.json;\nlibrary.csv, library.json",
    )
    for a, b in ((vol, split), (split, inst), (inst, shape), (shape, lib)):
        arrow(ax, a["r"], b["l"])

    y = LANES["simulator"]
    scope = box(ax, c[1], y, "Microscope", "optics, camera, labelling\n(Conf1, Conf2, Epi1, YAML)")
    render = box(
        ax,
        c[3],
        y,
        "render_view, render_scene",
        "fluorophores, rotation, depth-\naware PSF, pixels, camera noise",
        STEP["simulator"],
        step=True,
    )
    imgs = box(
        ax, c[4], y, "images + exact truth", "TIFF with pixel size: masks,\nlabels, dataset.json"
    )
    arrow(ax, scope["r"], render["l"])
    arrow(ax, render["r"], imgs["l"])
    arrow(ax, lib["b"], render["t"], "read_shapes (meshes in nm)", rad=-0.2, at=(12.9, 6.0))

    y = LANES["segtrain"]
    real = box(ax, c[0], y, "real images + masks", "PNG or TIFF folders,\nEM stacks")
    train = box(
        ax,
        c[1],
        y,
        "train",
        "the recipe, held-out\nvalidation, checkpoints",
        STEP["segtrain"],
        step=True,
    )
    run = box(ax, c[2], y, "run folder", "model, config, split,\npost-processing sizes")
    use = box(
        ax,
        c[3],
        y,
        "predict, refine, explain",
        "tiles, TTA, samples,\nclicks, Grad-CAM",
        STEP["segtrain"],
        step=True,
    )
    score = box(
        ax,
        c[4],
        y,
        "evaluate, quantify, bench",
        "metrics, morphology,\ntables over seeds",
        STEP["segtrain"],
        step=True,
    )
    arrow(ax, imgs["b"], train["t"], "synthetic training and test data", rad=0.0, at=(10.9, 3.55))
    for a, b in ((real, train), (train, run), (run, use), (use, score)):
        arrow(ax, a["r"], b["l"])
    ax.text(
        8.6,
        0.65,
        "cli (mitoshape ...) and webapp (mitoshape serve) parse, call these "
        "functions and write. Imports flow one way: cli -> webapp -> segtrain -> simulator "
        "-> shapelib.",
        ha="center",
        fontsize=8.5,
        color="#444444",
    )
    fig.savefig(OUT, format="svg", bbox_inches="tight", metadata={"Date": None})


if __name__ == "__main__":
    main()
