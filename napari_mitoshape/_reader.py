"""Readers: a folder or store -> napari layer data ``(data, kwargs, layer type)``, in nm.

- a library folder (``library.csv``): one Surface layer per shape, vertices (z, y, x) in nm,
  its class in the layer's metadata and name;
- a dataset folder (``images/`` with ``instances/`` or ``masks/``; also a predict output with
  ``probabilities/``): the images as one Image layer (a stack when they share a shape), the
  instance ids (else the masks) as a Labels layer, scaled by the TIFFs' pixel size;
- an OME-Zarr store mitoshape wrote: the image, its ``labels/`` and extra images, at the
  store's scale (micrometer -> nm).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

LayerData = tuple  # (data, kwargs, layer type)

_COLOURMAPS = ("green", "magenta", "cyan", "yellow", "red", "blue", "orange", "bop purple")


def class_colourmap(shape_class: str) -> str:
    """A napari colormap per shape class, the same in every session."""
    import zlib

    return _COLOURMAPS[zlib.crc32(shape_class.encode("utf-8")) % len(_COLOURMAPS)]


_IMAGE_DIRS = ("images", "probabilities")
_LABEL_DIRS = ("instances", "masks")
_SUFFIXES = (".tif", ".tiff", ".png")


def _is_dataset(path: Path) -> bool:
    return any((path / d).is_dir() for d in _IMAGE_DIRS) and any(
        (path / d).is_dir() for d in _LABEL_DIRS
    )


def _is_ome_zarr(path: Path) -> bool:
    import json

    for meta in (path / ".zattrs", path / "zarr.json"):
        if meta.is_file():
            attrs = json.loads(meta.read_text(encoding="utf-8"))
            attrs = attrs.get("attributes", attrs)
            return "multiscales" in attrs or "multiscales" in attrs.get("ome", {})
    return False


def get_reader(path: str | list[str]):
    """The reader of `path` (a library, dataset or OME-Zarr folder), or None: napari then
    asks its other readers."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    p = Path(path)
    if not p.is_dir():
        return None
    if (p / "library.csv").is_file():
        return read_library
    if _is_ome_zarr(p):
        return read_ome_zarr
    if _is_dataset(p):
        return read_dataset
    return None


def read_library(path: str | Path, *, folders: Sequence[str] | None = None) -> list[LayerData]:
    """One Surface layer per shape of a library (or of its `folders` only), vertices (z, y, x)
    in nm."""
    from shapelib.io import read_library_table, read_mesh

    path = Path(path)
    rows = read_library_table(path).to_dict("records")
    if folders is not None:
        wanted = {str(f) for f in folders}
        rows = [r for r in rows if str(r["folder"]) in wanted]
    return [
        surface_layer(read_mesh(path / str(r["folder"])), str(r["folder"]), str(r.get("class", "")))
        for r in rows
    ]


def surface_layer(mesh, folder: str, cls: str) -> LayerData:
    """A shape's mesh ((x, y, z) nm) as a Surface layer in napari's (z, y, x), coloured by its
    class, named by its folder and class."""
    vertices = np.asarray(mesh.vertices)[:, ::-1]  # (x, y, z) nm -> napari's (z, y, x)
    kwargs = {
        "name": f"{folder} {cls}".strip(),
        "metadata": {"class": cls, "folder": folder, "unit": "nm"},
        "units": "nm",
        "colormap": class_colourmap(cls),
    }
    return (vertices, np.asarray(mesh.faces)), kwargs, "surface"


def _read_folder(folder: Path):
    """(array or None, pixel size (y, x) nm or None) of the images in `folder`."""
    from shapelib.io import read_scaled_image

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _SUFFIXES)
    if not files:
        return None, None
    read = [read_scaled_image(f) for f in files]
    pixel = read[0].pixel_size_nm
    arrays = [np.asarray(r.data) for r in read]
    if len({a.shape for a in arrays}) == 1:
        return (arrays[0] if len(arrays) == 1 else np.stack(arrays)), pixel
    return arrays[0], pixel


def read_dataset(path: str | Path) -> list[LayerData]:
    """The images and their instance labels (else masks) of a dataset or predict folder."""
    path = Path(path)
    layers = []
    for sub in (*_IMAGE_DIRS, next(d for d in _LABEL_DIRS if (path / d).is_dir())):
        if not (path / sub).is_dir():
            continue
        data, pixel = _read_folder(path / sub)
        if data is None:
            continue
        scale = (1.0,) * (data.ndim - 2) + tuple(pixel or (1.0, 1.0))
        kwargs = {"name": sub, "scale": scale}
        if pixel is not None:
            kwargs["units"] = "nm"
        layers.append((data, kwargs, "labels" if sub in _LABEL_DIRS else "image"))
    return layers


def _ngff_group(group) -> tuple[np.ndarray, tuple[float, ...]]:
    """Level 0 of an NGFF image group and its scale in nm (unitless scales kept)."""
    attrs = dict(group.attrs)
    ms = (attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales"))[0]
    ds0 = ms["datasets"][0]
    scale = next(t["scale"] for t in ds0["coordinateTransformations"] if t["type"] == "scale")
    units = [a.get("unit") for a in ms.get("axes", [])]
    nm = [1000.0 if u == "micrometer" else 1.0 for u in units] or [1.0] * len(scale)
    return np.asarray(group[ds0["path"]]), tuple(
        float(s) * f for s, f in zip(scale, nm, strict=True)
    )


def read_ome_zarr(path: str | Path) -> list[LayerData]:
    """The image, its extra images and its labels of an OME-Zarr store, scaled in nm."""
    import zarr

    root = zarr.open_group(str(path), mode="r")
    data, scale = _ngff_group(root)
    layers = [(data, {"name": Path(path).name, "scale": scale}, "image")]
    for name, group in sorted(root.groups()):
        if name == "labels":
            continue
        arr, sc = _ngff_group(group)
        layers.append((arr, {"name": name, "scale": sc, "visible": False}, "image"))
    if "labels" in root:
        for name, group in sorted(root["labels"].groups()):
            arr, sc = _ngff_group(group)
            layers.append((arr, {"name": name, "scale": sc}, "labels"))
    return layers
