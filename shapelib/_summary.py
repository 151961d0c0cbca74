"""Browsing a library: counts per class, size statistics, and a gallery of rendered shapes.

A workflow: :func:`library_summary` and :func:`library_gallery` read a library folder through
``shapelib.io``; :func:`summarize_table` and :func:`gallery_figure` are their in-memory parts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import InputError
from .io import (
    check_output_files,
    claim_output_file,
    read_library_table,
    read_mesh,
    save_figure,
)

__all__ = ["LibrarySummary", "summarize_table", "library_summary", "library_gallery"]

log = logging.getLogger(__name__)

_STAT_COLUMNS = ["voxel_count", "mesh_volume_um3", "surface_area_um2", "skeleton_length_um"]
_STATS = ("median", "mean", "min", "max")


@dataclass(frozen=True)
class LibrarySummary:
    """What a library holds.

    Attributes
    ----------
    path : Path or None
        The library folder.
    n_instances : int
    counts : dict of str to int
        Instances per class (classes in alphabetical order).
    n_touching_border : int
        Instances touching the border of the source volume (possibly cut).
    stats : pandas.DataFrame
        Per class (and ``all``): count, then median, mean, min and max of voxel_count,
        mesh_volume_um3, surface_area_um2 and skeleton_length_um.
    """

    path: Path | None
    n_instances: int
    counts: dict
    n_touching_border: int
    stats: Any  # a pandas.DataFrame (pandas loads on first use)

    def to_text(self) -> str:
        """A plain-text report: counts per class and the size table."""
        lines = [f"library {self.path}: {self.n_instances} instances"]
        if self.n_instances:
            lines.append(
                "classes: " + ", ".join(f"{k} {v}" for k, v in self.counts.items())
                + f"; touching the volume border: {self.n_touching_border}"
            )  # fmt: skip
            # One narrow table per measurement (classes x median/mean/min/max), not one wide one.
            with _pd_options():
                for col in _STAT_COLUMNS:
                    part = self.stats[[f"{col}_{s}" for s in _STATS]]
                    part.columns = list(_STATS)
                    lines += ["", col, part.to_string(float_format=lambda v: f"{v:.4g}")]
        return "\n".join(lines)


def _pd_options():
    import pandas as pd

    return pd.option_context("display.width", 160, "display.max_columns", 40)


def _classes(table):
    """The class of each row as text; ``unclassified`` where the table has none."""
    import pandas as pd

    if "class" not in table.columns:
        return pd.Series(["unclassified"] * len(table), index=table.index, dtype=str)
    return table["class"].fillna("unclassified").astype(str)


def summarize_table(table, *, path: str | Path | None = None) -> LibrarySummary:
    """Summary of a library table (the rows of ``library.csv`` as a pandas DataFrame)."""
    import pandas as pd

    n = len(table)
    classes = _classes(table)
    counts = {str(k): int(v) for k, v in sorted(classes.value_counts().items())}
    rows = {}
    groups = [("all", table)] + [(c, table[classes == c]) for c in counts]
    for name, part in groups if n else []:
        entry: dict[str, float] = {"count": len(part)}
        for col in _STAT_COLUMNS:
            vals = pd.to_numeric(part[col], errors="coerce").dropna() if col in part else []
            for stat in _STATS:
                entry[f"{col}_{stat}"] = float(getattr(vals, stat)()) if len(vals) else np.nan
        rows[name] = entry
    stats = pd.DataFrame.from_dict(rows, orient="index")
    border = table["touches_border"] if "touches_border" in table.columns else []
    n_border = int(sum(str(v).lower() in ("true", "1") for v in border))
    return LibrarySummary(
        path=Path(path) if path is not None else None,
        n_instances=n,
        counts=counts,
        n_touching_border=n_border,
        stats=stats,
    )


def library_summary(library_dir: str | Path) -> LibrarySummary:
    """Counts per class and size statistics of a library folder (from its ``library.csv``).

    Examples
    --------
    >>> print(library_summary("lib").to_text())  # doctest: +SKIP
    """
    return summarize_table(read_library_table(library_dir), path=library_dir)


def _pick(table, shape_class: str | None, n_per_class: int):
    """Up to ``n_per_class`` instances per class, spread over the size range (by voxel count).

    Returns ``[(class, [(id, folder, touches_border), ...]), ...]``.
    """
    import pandas as pd

    classes = _classes(table)
    wanted = sorted(classes.unique()) if shape_class is None else [shape_class]
    border = (
        table["touches_border"].astype(str).str.lower().isin(["true", "1"])
        if "touches_border" in table.columns
        else pd.Series(False, index=table.index)
    )
    picks = []
    for c in wanted:
        part = table[classes == c]
        key = pd.to_numeric(part["voxel_count"], errors="coerce").fillna(0).to_numpy()
        order = part.iloc[np.argsort(key, kind="stable")]
        if len(order) > n_per_class:
            idx = np.unique(np.linspace(0, len(order) - 1, n_per_class).round().astype(int))
            order = order.iloc[idx]
        rows = [(int(i), str(f), bool(border[k])) for k, i, f in
                zip(order.index, order["id"], order["folder"], strict=True)]  # fmt: skip
        picks.append((c, rows))
    return picks


def _decimate(vertices: np.ndarray, faces: np.ndarray, n_faces: int):
    """About ``n_faces`` triangles of a mesh by quadric decimation (open3d)."""
    try:
        import open3d as o3d
    except ImportError:  # pragma: no cover - fallback: a subset of the faces (shows holes)
        return vertices, faces[np.linspace(0, len(faces) - 1, n_faces).astype(int)]
    mesh = o3d.geometry.TriangleMesh(
        o3d.utility.Vector3dVector(np.asarray(vertices, dtype=np.float64)),
        o3d.utility.Vector3iVector(np.asarray(faces, dtype=np.int32)),
    )
    small = mesh.simplify_quadric_decimation(target_number_of_triangles=int(n_faces))
    return np.asarray(small.vertices), np.asarray(small.triangles, dtype=np.int64)


def _draw_mesh(ax, vertices: np.ndarray, faces: np.ndarray, max_faces: int, half_nm=None):
    """Flat-shaded triangles on a 3D axis, equal aspect, no ticks; ``half_nm`` fixes the half
    width of the view (one scale for every panel), else the mesh fills it."""
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    if len(faces) > max_faces:
        # Fewer triangles draw faster and look the same at thumbnail size; quadric decimation
        # keeps the surface closed (dropping every k-th face left see-through holes).
        vertices, faces = _decimate(vertices, faces, max_faces)
    tri = vertices[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    light = np.array([0.4, 0.3, 0.85]) / np.linalg.norm([0.4, 0.3, 0.85])
    shade = 0.35 + 0.65 * np.clip(normals @ light, 0, 1)
    colors = np.outer(shade, [0.85, 0.35, 0.25])
    ax.add_collection3d(Poly3DCollection(tri, facecolors=colors, edgecolors="none"))
    lo, hi = vertices.min(0), vertices.max(0)
    c = (lo + hi) / 2
    half = half_nm if half_nm is not None else ((hi - lo).max() / 2 or 1.0)
    ax.set_xlim(c[0] - half, c[0] + half)
    ax.set_ylim(c[1] - half, c[1] + half)
    ax.set_zlim(c[2] - half, c[2] + half)
    ax.set_box_aspect((1, 1, 1))
    ax.set_axis_off()


def _extent_um(verts: np.ndarray) -> float:
    return float((verts.max(0) - verts.min(0)).max()) / 1e3


def gallery_figure(items, *, max_faces: int = 6000, common_scale: bool = False):
    """A grid figure: one row per class, one rendered mesh per cell.

    Each cell is titled with the id, the class and the shape's largest extent (the longest
    side of its bounding box, um); shapes touching the volume border (cut by it) are titled
    in red with "cut". With ``common_scale`` every cell shows the same width of space (that of
    the largest shape), so sizes compare across cells; the footer says which.

    Parameters
    ----------
    items : list of (class, list of (id, vertices (V, 3) nm, faces (F, 3) int, touches_border))
    common_scale : bool

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure
    from mpl_toolkits.mplot3d import Axes3D  # noqa: F401 - registers the "3d" projection

    n_rows = max(1, len(items))
    n_cols = max([1] + [len(row) for _, row in items])
    # A bare Figure, not pyplot: the caller's matplotlib backend is left alone.
    fig = Figure(figsize=(2.4 * n_cols, 2.6 * n_rows + 0.6))
    extents = [_extent_um(v) for _, row in items for _, v, _, _ in row]
    half_nm = 500 * max(extents) if (common_scale and extents) else None
    for r, (cls, row) in enumerate(items):
        for c, (iid, verts, faces, cut) in enumerate(row):
            ax = fig.add_subplot(n_rows, n_cols, r * n_cols + c + 1, projection="3d")
            _draw_mesh(ax, verts, faces, max_faces, half_nm)
            title = f"{iid} · {cls}\nlargest extent {_extent_um(verts):.2f} um"
            ax.set_title(title + (" · cut" if cut else ""), fontsize=8,
                         color="tab:red" if cut else "black")  # fmt: skip
    if not items:
        fig.text(0.5, 0.5, "empty library", ha="center", va="center")
    scale = (
        f"one scale: every cell is {2 * half_nm / 1e3:.2f} um wide"
        if half_nm is not None
        else "each shape fills its cell (sizes differ; --common-scale for one scale)"
    )
    import textwrap

    footer = (
        f'largest extent = longest side of the bounding box; red "cut" = touches the volume '
        f"border; {scale}."
    )
    lines = textwrap.wrap(footer, width=max(40, int(30 * n_cols)))
    fig.text(0.5, 0.005, "\n".join(lines), ha="center", va="bottom", fontsize=7)
    bottom = 0.12 * len(lines) / (2.6 * n_rows + 0.6)  # inches of footer over the height
    fig.tight_layout(rect=(0, bottom, 1, 1 - 0.15 / (2.6 * n_rows + 0.6)))
    return fig


def library_gallery(
    library_dir: str | Path,
    out_png: str | Path,
    *,
    shape_class: str | None = None,
    n_per_class: int = 4,
    common_scale: bool = False,
    overwrite: bool = False,
) -> Path:
    """Save a picture of a few shapes per class (rendered meshes labelled with id, class and
    largest extent; shapes cut by the volume border marked).

    Parameters
    ----------
    library_dir : str or Path
    out_png : str or Path
        Image to write (format from the suffix); never inside the library, never over an
        existing file unless ``overwrite``.
    shape_class : str, optional
        Only this class.
    n_per_class : int
        Shapes per class, spread from the smallest to the largest.
    common_scale : bool
        Draw every shape at one scale (that of the largest), so sizes compare.
    overwrite : bool

    Returns
    -------
    path : Path
    """
    if n_per_class < 1:
        raise InputError(f"n_per_class must be >= 1; got {n_per_class}.")
    check_output_files([out_png], inputs=[library_dir], overwrite=overwrite)
    table = read_library_table(library_dir)
    known = sorted(_classes(table).unique())
    if shape_class is not None and shape_class not in known:
        raise InputError(
            f"class {shape_class!r} is not in {library_dir}; it holds: "
            f"{', '.join(known) or 'no instances'}."
        )
    items = []
    for cls, picks in _pick(table, shape_class, n_per_class):
        row = []
        for iid, folder, cut in picks:
            mesh = read_mesh(Path(library_dir) / folder)
            row.append((iid, np.asarray(mesh.vertices), np.asarray(mesh.faces), cut))
        items.append((cls, row))
    fig = gallery_figure(items, common_scale=common_scale)
    path = claim_output_file(out_png, inputs=[library_dir], overwrite=overwrite)
    return save_figure(fig, path)
