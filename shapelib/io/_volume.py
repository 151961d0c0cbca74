"""Read 3D label volumes (TIFF, HDF5, Zarr, NumPy) with their voxel size in nm."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InputError
from .._labels import check_label_volume
from .._units import as_spacing_nm, float3, length_unit_nm
from ._tiff import read_tiff

__all__ = ["Volume", "read_volume", "check_label_volume"]

log = logging.getLogger(__name__)

_H5_RE = re.compile(r"^(?P<file>.+?\.(?:h5|hdf5|hdf|he5))(?::(?P<key>.*))?$", re.IGNORECASE)
_ZARR_RE = re.compile(r"^(?P<file>.+?\.zarr)(?::(?P<key>.*))?$", re.IGNORECASE)


@dataclass(frozen=True)
class Volume:
    """A 3D label volume and where it came from.

    Parameters
    ----------
    data : (Z, Y, X) ndarray of bool or int, or a lazy array
        Labels (0 = background) or a binary mask; :func:`read_volume` reads it into memory,
        :func:`~shapelib.io.open_volume` gives a :class:`~shapelib.io.LazyVolume` that reads
        only the chunks a slice needs.
    voxel_size_nm : tuple of 3 float
        ``(z, y, x)`` voxel size in nm.
    source : str
        The path (and dataset) the volume was read from.
    """

    data: Any  # an ndarray, or a lazy array read on demand (LazyVolume, zarr, h5py, dask)
    voxel_size_nm: tuple[float, float, float]
    source: str = ""


def _read_tiff(path: Path):
    img = read_tiff(path)
    data = img.data
    if data.ndim == 4 and 1 in data.shape:
        log.info("squeezing singleton axis of TIFF shape %s", data.shape)
        data = data.squeeze()
    return data, img.voxel_size_nm


def _size_from_attrs(attrs) -> tuple[float, float, float] | None:
    """Voxel size from HDF5/Zarr attributes (voxel_size_nm, element_size_um, resolution)."""
    keys = {k.lower(): k for k in attrs.keys()}
    for key, scale in (
        ("voxel_size_nm", 1.0),
        ("element_size_um", 1e3),
        ("resolution", 1.0),  # CREMI convention: nm, (z, y, x)
        ("voxel_size", None),
        ("spacing", None),
    ):
        if key not in keys:
            continue
        val = np.asarray(attrs[keys[key]], dtype=float).ravel()
        if scale is None:
            unit = attrs.get("unit", attrs.get("units"))
            if isinstance(unit, bytes):
                unit = unit.decode()
            scale = length_unit_nm(unit)
            if scale is None:
                log.warning("attribute %r has no unit; ignoring it", keys[key])
                continue
        if val.size == 1:
            val = np.repeat(val, 3)
        if val.size == 3:
            return float3(float(v) * scale for v in val)
    return None


def _open_hdf5(file: Path):
    import h5py

    try:
        return h5py.File(file, "r")
    except OSError as err:
        raise InputError(f"could not open HDF5 file {file}: {err}. Is the file complete?") from None


def _hdf5_dataset(f, file: Path, key: str | None):
    """``(dataset, its voxel size or None, source)`` named by ``key`` in an open HDF5 file."""
    import h5py

    names: list[str] = []

    def _collect(name, obj):
        if isinstance(obj, h5py.Dataset):
            names.append("/" + name)

    f.visititems(_collect)
    if not key:
        if len(names) != 1:
            raise InputError(
                f"{file} holds {len(names)} datasets ({', '.join(names) or 'none'}); "
                f"say which one as {file}:/path/to/dataset."
            )
        key = names[0]
    if key not in f or not isinstance(f[key], h5py.Dataset):
        raise InputError(
            f"dataset {key!r} is not in {file}; it holds: {', '.join(names) or 'no datasets'}. "
            f"Pass {file}:/one/of/these."
        )
    dset = f[key]
    size = _size_from_attrs(dset.attrs) or _size_from_attrs(f.attrs)
    return dset, size, f"{file}:{key if key.startswith('/') else '/' + key}"


def _read_hdf5(file: Path, key: str | None):
    with _open_hdf5(file) as f:
        dset, size, source = _hdf5_dataset(f, file, key)
        data = dset[...]  # h5py reads chunk by chunk into one array
    return data, size, source


def _ngff_size(attrs: dict) -> tuple[tuple[float, float, float] | None, str | None]:
    """Scale of the first multiscale level of OME-NGFF attributes, and its dataset path."""
    ms = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
    if not ms:
        return None, None
    ms0 = ms[0]
    ds0 = ms0["datasets"][0]
    axes = ms0.get("axes") or []
    names = [a["name"] if isinstance(a, dict) else str(a) for a in axes]
    scale = None
    for tr in ds0.get("coordinateTransformations", []):
        if tr.get("type") == "scale":
            scale = [float(s) for s in tr["scale"]]
    if scale is None or len(scale) < 3:
        return None, ds0["path"]
    sizes: list[float | None] = []
    for ax_name in ("z", "y", "x"):
        if ax_name in names:
            i = names.index(ax_name)
            ax = axes[i] if isinstance(axes[i], dict) else {}
            sizes.append(scale[i] * (length_unit_nm(ax.get("unit")) or 1e3))
        else:
            sizes.append(None)
    if None in sizes:
        sizes = [s * 1e3 for s in scale[-3:]]  # no axes: NGFF default unit is not fixed; um
    return float3(sizes), ds0["path"]


def _zarr_array(path: Path, key: str | None):
    """``(zarr array, voxel size or None, source)`` of a store (an array, or a group's array)."""
    import zarr

    try:
        node = zarr.open(str(path), mode="r")
    except Exception as err:  # zarr raises several types for a bad store
        raise InputError(f"could not open Zarr store {path}: {err}") from None
    size = None
    if isinstance(node, zarr.Group):
        group = node
        group_attrs = dict(node.attrs)
        size, ngff_path = _ngff_size(group_attrs)
        key = key or ngff_path
        if not key:
            arrays = sorted(name for name, _ in node.arrays())
            if len(arrays) != 1:
                raise InputError(
                    f"Zarr group {path} holds arrays {arrays}; say which one as {path}:NAME."
                )
            key = arrays[0]
        try:
            node = node[key.strip("/")]
        except KeyError:
            arrays = sorted(name for name, _ in group.arrays())
            raise InputError(
                f"array {key!r} is not in Zarr group {path}; it holds: {arrays}."
            ) from None
        size = size or _size_from_attrs(group_attrs)
    size = _size_from_attrs(dict(node.attrs)) or size
    return node, size, str(path) + (f":{key}" if key else "")


def _read_zarr(path: Path, key: str | None):
    node, size, source = _zarr_array(path, key)
    data = node[...]  # zarr reads chunk by chunk
    if data.ndim > 3 and all(s == 1 for s in data.shape[:-3]):
        data = data.reshape(data.shape[-3:])
    return data, size, source


def _parse_spec(spec: str) -> tuple[str, Path, str | None]:
    """``(format, file, key)`` of a volume path spec; the file must exist."""
    m_h5, m_zarr = _H5_RE.match(spec), _ZARR_RE.match(spec)
    if m_h5:
        file = Path(m_h5["file"])
        if not file.is_file():
            raise FileNotFoundError(f"HDF5 file {file} does not exist.")
        return "hdf5", file, m_h5["key"]
    if m_zarr or Path(spec).is_dir():
        file = Path(m_zarr["file"]) if m_zarr else Path(spec)
        if not file.exists():
            raise FileNotFoundError(f"Zarr store {file} does not exist.")
        return "zarr", file, m_zarr["key"] if m_zarr else None
    file = Path(spec)
    if not file.exists():
        raise FileNotFoundError(f"label volume {file} does not exist.")
    suffix = file.suffix.lower()
    if suffix in (".tif", ".tiff"):
        return "tiff", file, None
    if suffix == ".npy":
        return "npy", file, None
    raise InputError(
        f"unknown volume format {file.suffix!r} for {file}; expected .tif/.tiff, "
        ".h5/.hdf5 (file.h5:/dataset), a .zarr directory, or .npy."
    )


def _final_size(size, user_size, source: str) -> tuple[float, float, float]:
    """The voxel size to use: the user's over the file's (warning when they disagree)."""
    if size is not None:
        try:
            size = as_spacing_nm(size, name=f"voxel size in the metadata of {source}")
        except ValueError as err:
            log.warning("%s; ignoring it", err)
            size = None
    if user_size is not None:
        if size is not None and not all(
            math.isclose(a, b, rel_tol=1e-3) for a, b in zip(size, user_size, strict=True)
        ):
            log.warning(
                "voxel size %s nm given overrides %s nm from the metadata of %s",
                user_size,
                size,
                source,
            )
        size = user_size
    if size is None:
        as_spacing_nm(None)  # raises the standard "voxel size is required" message
    return size


def read_volume(
    path_spec: str | Path,
    *,
    voxel_size_nm: float | tuple[float, float, float] | str | None = None,
) -> Volume:
    """Read a 3D label volume and its voxel size.

    Parameters
    ----------
    path_spec : str or Path
        ``file.tif``/``.tiff`` (ImageJ or OME metadata), ``file.h5:/path/to/dataset`` (attributes
        ``element_size_um``, ``voxel_size_nm`` or ``resolution``), a Zarr directory (OME-NGFF
        ``multiscales`` scale, or the same attributes; ``store.zarr:array`` picks an array), or
        ``file.npy``.
    voxel_size_nm : float or (z, y, x) floats or "z,y,x", optional
        Voxel size in nm. Required when the file does not say; overrides the file (with a
        warning when they disagree).

    Returns
    -------
    volume : Volume
        ``data`` (Z, Y, X) bool or unsigned int, ``voxel_size_nm`` (z, y, x) nm, ``source``.

    Examples
    --------
    >>> vol = read_volume("labels.tif", voxel_size_nm=8)  # doctest: +SKIP
    """
    spec = str(path_spec)
    source = spec
    user_size = None if voxel_size_nm is None else as_spacing_nm(voxel_size_nm)
    kind, file, key = _parse_spec(spec)
    if kind == "hdf5":
        data, size, source = _read_hdf5(file, key)
    elif kind == "zarr":
        data, size, source = _read_zarr(file, key)
    elif kind == "tiff":
        data, size = _read_tiff(file)
    else:
        try:
            data = np.load(file, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            why = "not a .npy array (pickled objects are never loaded)" if "pickle" in str(
                err
            ) else str(err)  # fmt: skip
            raise InputError(f"could not read NumPy file {file}: {why}.") from None
        size = None
    data = check_label_volume(data, what=f"the volume in {source}")
    size = _final_size(size, user_size, source)
    log.info("read %s: shape %s, %s, voxel %s nm", source, data.shape, data.dtype, size)
    return Volume(data=data, voxel_size_nm=size, source=source)
