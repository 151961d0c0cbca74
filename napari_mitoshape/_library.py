"""A library's class table as the Library widget shows it: the columns worth reading and the
rows that pass its filters (class, least mesh volume, border). No viewer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LibraryFilter", "library_rows"]

# The table's columns the widget shows, in this order (those the library has).
COLUMNS = (
    "folder",
    "class",
    "mesh_volume_um3",
    "surface_area_um2",
    "skeleton_length_um",
    "n_branches",
    "touches_border",
)


@dataclass(frozen=True)
class LibraryFilter:
    """Which rows to show: `classes` (empty: all), at least `min_volume_um3` of mesh volume,
    and shapes touching the volume's border (possibly cut) only with `border`."""

    classes: Sequence[str] = ()
    min_volume_um3: float = 0.0
    border: bool = True


def library_rows(table, keep: LibraryFilter = LibraryFilter()):
    """The rows of a library table (`shapelib.io.read_library_table`) that pass `keep`, with
    the columns of `COLUMNS` it has; volumes rounded for reading."""
    rows = table
    if keep.classes and "class" in rows.columns:
        wanted = {c.lower() for c in keep.classes}
        rows = rows[rows["class"].fillna("").astype(str).str.lower().isin(wanted)]
    if keep.min_volume_um3 > 0 and "mesh_volume_um3" in rows.columns:
        rows = rows[rows["mesh_volume_um3"].fillna(0) >= keep.min_volume_um3]
    if not keep.border and "touches_border" in rows.columns:
        rows = rows[~rows["touches_border"].fillna(False).astype(bool)]
    cols = [c for c in COLUMNS if c in rows.columns]
    out = rows[cols].reset_index(drop=True).copy()
    out["folder"] = out["folder"].astype(str)
    return out.round(4)
